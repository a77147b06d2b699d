"""Overload shedding for uploads: a bounded number in flight and waiting; the rest get
503 with Retry-After at once, and a queued request that waits past its deadline too.
No unbounded queue, so latency and memory stay bounded however many clients come."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from edge_runtime.api.errors import ApiError


class Admission:
    def __init__(self, max_inflight: int, max_waiting: int, timeout_s: float):
        self.max_inflight, self.max_waiting, self.timeout_s = max_inflight, max_waiting, timeout_s
        self.inflight = 0
        self.waiting = 0
        self._slots: asyncio.Semaphore | None = None

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._slots is None:  # created in the server's event loop
            self._slots = asyncio.Semaphore(self.max_inflight)
        if self.inflight >= self.max_inflight and self.waiting >= self.max_waiting:
            raise ApiError(
                503,
                "overloaded",
                f"{self.inflight} requests in flight and {self.waiting} waiting",
                {"Retry-After": "1"},
            )
        self.waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), self.timeout_s)
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
