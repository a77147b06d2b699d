"""Admission: bounded slots and waiters, 503s that say why, the large-image token."""

from __future__ import annotations

import asyncio

import pytest

from edge_runtime.api.admission import LARGE_PIXELS, Admission
from edge_runtime.api.draining import Draining
from edge_runtime.api.problems import ApiError


def admission(inflight: int = 1, waiting: int = 1, timeout_s: float = 60.0) -> Admission:
    draining = Draining()
    draining.bind(asyncio.get_running_loop())
    return Admission(inflight, waiting, timeout_s, draining)


async def hold(adm: Admission, entered: asyncio.Event, release: asyncio.Event, **kw: int) -> None:
    async with adm.slot(**kw):
        entered.set()
        await release.wait()


def test_one_in_flight_one_waiting_the_next_is_shed_at_once() -> None:
    async def main() -> None:
        adm = admission()
        first_in, second_in, release = asyncio.Event(), asyncio.Event(), asyncio.Event()
        first = asyncio.create_task(hold(adm, first_in, release))
        await first_in.wait()
        second = asyncio.create_task(hold(adm, second_in, release))
        while adm.waiting == 0:  # the second is queued behind the first
            await asyncio.sleep(0)
        with pytest.raises(ApiError) as shed:
            async with adm.slot():
                pass
        assert shed.value.status == 503 and shed.value.code == "overloaded"
        assert shed.value.headers == {"Retry-After": "1"}
        assert "1 requests in flight and 1 waiting" in str(shed.value.detail)
        release.set()
        await asyncio.gather(first, second)
        assert second_in.is_set() and adm.inflight == 0 and adm.waiting == 0

    asyncio.run(main())


def test_a_waiter_past_its_deadline_gets_a_timeout_and_gives_its_place_back() -> None:
    async def main() -> None:
        adm = admission(timeout_s=0.01)
        first_in, release = asyncio.Event(), asyncio.Event()
        first = asyncio.create_task(hold(adm, first_in, release))
        await first_in.wait()
        with pytest.raises(ApiError) as late:  # the slot is never released meanwhile
            async with adm.slot():
                pass
        assert late.value.code == "timeout" and "no slot within 0.01 s" in str(late.value.detail)
        assert adm.waiting == 0 and adm.inflight == 1
        release.set()
        await first
        async with adm.slot():  # nothing was leaked by the timed-out wait
            assert adm.inflight == 1

    asyncio.run(main())


def test_large_images_go_one_at_a_time_and_small_ones_pass_them() -> None:
    async def main() -> None:
        adm = admission(inflight=3, waiting=3)
        big1_in, big2_in, small_in = asyncio.Event(), asyncio.Event(), asyncio.Event()
        release_big1, release_rest = asyncio.Event(), asyncio.Event()
        large = LARGE_PIXELS + 1
        big1 = asyncio.create_task(hold(adm, big1_in, release_big1, pixels=large))
        await big1_in.wait()
        big2 = asyncio.create_task(hold(adm, big2_in, release_rest, pixels=large))
        small = asyncio.create_task(hold(adm, small_in, release_rest, pixels=LARGE_PIXELS))
        await small_in.wait()  # a free slot: the small upload is not held up
        assert not big2_in.is_set() and adm.waiting == 1  # the second large one waits
        release_big1.set()
        await big2_in.wait()  # ... until the first large one is done
        release_rest.set()
        await asyncio.gather(big1, big2, small)
        assert adm.inflight == 0

    asyncio.run(main())


def test_sigterm_answers_queued_requests_at_once() -> None:
    async def main() -> None:
        adm = admission()
        first_in, release = asyncio.Event(), asyncio.Event()
        first = asyncio.create_task(hold(adm, first_in, release))
        await first_in.wait()

        async def queued() -> None:
            async with adm.slot():
                pass

        waiter = asyncio.create_task(queued())
        while adm.waiting == 0:
            await asyncio.sleep(0)
        adm.draining.begin()
        with pytest.raises(ApiError) as stopping:
            await waiter
        assert stopping.value.status == 503 and stopping.value.code == "shutting_down"
        release.set()
        await first
        assert adm.waiting == 0 and adm.inflight == 0

    asyncio.run(main())
