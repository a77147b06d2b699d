"""Overload shedding for uploads: a bounded number in flight and waiting; the rest get
503 with Retry-After at once, and a queued request that waits past its deadline too.
No unbounded queue, so latency and memory stay bounded however many clients come.

Large images (over ``LARGE_PIXELS``) also take the one large-image token: decoding a
40 MP image costs up to ~180 MB, so two at once would pass the unit's ``MemoryMax``;
small uploads are not held up by them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from edge_runtime.api.draining import Draining
from edge_runtime.api.problems import ApiError

# A 12 MP phone photo and larger: about 50 MB decoded and more.
LARGE_PIXELS = 12_000_000


class Admission:
    def __init__(self, max_inflight: int, max_waiting: int, timeout_s: float, draining: Draining):
        self.max_inflight, self.max_waiting, self.timeout_s = max_inflight, max_waiting, timeout_s
        self.draining = draining
        self.inflight = 0
        self.waiting = 0
        self._slots: asyncio.Semaphore | None = None
        self._large: asyncio.Lock | None = None

    @contextlib.asynccontextmanager
    async def slot(self, pixels: int | None = None) -> AsyncIterator[None]:
        """An inference slot; ``pixels`` over ``LARGE_PIXELS`` also waits for the large-
        image token (within the same deadline)."""
        if self._slots is None or self._large is None:  # created in the server's loop
            self._slots = asyncio.Semaphore(self.max_inflight)
            self._large = asyncio.Lock()
        if self.inflight >= self.max_inflight and self.waiting >= self.max_waiting:
            raise ApiError(
                503,
                "overloaded",
                f"{self.inflight} requests in flight and {self.waiting} waiting",
                {"Retry-After": "1"},
            )
        large = pixels is not None and pixels > LARGE_PIXELS
        self.waiting += 1
        try:
            # Queued uploads get their 503 at SIGTERM, not after the whole wait.
            await self.draining.until_signal(asyncio.wait_for(self._acquire(large), self.timeout_s))
        except asyncio.TimeoutError as exc:
            raise ApiError(
                503, "timeout", f"no slot within {self.timeout_s:g} s", {"Retry-After": "1"}
            ) from exc
        finally:
            self.waiting -= 1
        self.inflight += 1
        try:
            yield
        finally:
            self.inflight -= 1
            self._slots.release()
            if large:
                self._large.release()

    async def _acquire(self, large: bool) -> None:
        """Both tokens or neither (a cancelled wait gives back what it took)."""
        assert self._slots is not None and self._large is not None
        if large:
            await self._large.acquire()
        try:
            await self._slots.acquire()
        except BaseException:
            if large:
                self._large.release()
            raise
