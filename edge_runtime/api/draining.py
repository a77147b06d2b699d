"""What SIGTERM does to uploads still in the daemon.

uvicorn stops accepting at the signal, waits ``timeout_graceful_shutdown`` for the
requests in flight, then cancels them, which sends each a plain-text 500 (and a slow
client could hold the stop past systemd's ``TimeoutStopSec``). Instead: an upload still
sending its body or waiting for a slot ends at once with a JSON 503 ``shutting_down``;
one being segmented gets until ``grace_s`` after the signal, then the same 503 (its
invoke finishes unseen in its thread). So every request gets an answer a client can
retry on, and the stop time is bounded whatever the clients do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from edge_runtime.api.problems import ApiError

T = TypeVar("T")
# uvicorn's graceful period is longer, so requests end here, with a JSON answer.
GRACE_S = 8.0
GRACEFUL_SHUTDOWN_S = 10.0


class Draining:
    def __init__(self, grace_s: float = GRACE_S):
        self.grace_s = grace_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._signalled: asyncio.Event | None = None
        self._deadline: float | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._signalled = asyncio.Event()

    @property
    def active(self) -> bool:
        return self._deadline is not None

    def begin(self) -> None:
        """From the signal handler (any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._begin)

    def _begin(self) -> None:
        assert self._loop is not None and self._signalled is not None
        if self._deadline is None:
            self._deadline = self._loop.time() + self.grace_s
            self._signalled.set()

    def refuse_if_active(self) -> None:
        if self.active:
            raise _shutting_down("the daemon is stopping")

    async def until_signal(self, aw: Awaitable[T]) -> T:
        """``aw``'s result, or a 503 as soon as SIGTERM arrives."""
        self.refuse_if_active()
        return await self._race(aw, self._wait_signal(), "the daemon is stopping")

    async def until_deadline(self, aw: Awaitable[T]) -> T:
        """``aw``'s result, or a 503 when the grace period after SIGTERM ends."""
        return await self._race(
            aw,
            self._wait_deadline(),
            f"the daemon is stopping and this request did not finish within {self.grace_s:g} s",
        )

    async def _wait_signal(self) -> None:
        if self._signalled is not None:
            await self._signalled.wait()
        else:  # not bound (no lifespan): never
            await asyncio.Event().wait()

    async def _wait_deadline(self) -> None:
        await self._wait_signal()
        assert self._loop is not None and self._deadline is not None
        await asyncio.sleep(max(0.0, self._deadline - self._loop.time()))

    @staticmethod
    async def _race(aw: Awaitable[T], stop: Awaitable[None], message: str) -> T:
        work = asyncio.ensure_future(aw)
        stopper = asyncio.ensure_future(stop)
        try:
            done, _ = await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            work.cancel()
            raise
        finally:
            stopper.cancel()
        if work in done:
            return work.result()
        work.cancel()
        raise _shutting_down(message)


def _shutting_down(message: str) -> ApiError:
    return ApiError(503, "shutting_down", message, {"Retry-After": "5", "Connection": "close"})
