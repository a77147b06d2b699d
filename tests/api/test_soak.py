"""Soak: many requests, good and bad, against one daemon; memory must not keep growing.
(The bench report measures RSS growth over 10k requests on the shipped model.)"""

from __future__ import annotations

import io

import httpx
from daemon import Daemon
from PIL import Image
from zoo import colour_bars

from edge_runtime.bench.daemon import metric


def rss(c: httpx.Client) -> float:
    value = metric(c.get("/metrics").text, "edge_process_resident_memory_bytes")
    assert value is not None
    return value / 2**20


def test_memory_stays_flat_over_many_requests(daemon: Daemon) -> None:
    buf = io.BytesIO()
    Image.fromarray(colour_bars(240, 320)).save(buf, "JPEG")
    good = buf.getvalue()
    bodies = [(good, "image/jpeg"), (good[:500], "image/jpeg"), (b"junk", "image/png")]
    with daemon.client() as c:
        for i in range(300):  # warm every path and allocator pool first
            body, ctype = bodies[i % 3]
            c.post("/v1/segment?format=mask", content=body, headers={"Content-Type": ctype})
        before = rss(c)
        codes: dict[int, int] = {}
        for i in range(1500):
            body, ctype = bodies[i % 3]
            fmt = ("mask", "overlay", "json")[i // 3 % 3]  # every body in every format
            r = c.post(f"/v1/segment?format={fmt}", content=body, headers={"Content-Type": ctype})
            codes[r.status_code] = codes.get(r.status_code, 0) + 1
        after = rss(c)
    assert set(codes) == {200, 400, 415} and all(code < 500 for code in codes)
    assert after - before < 15, f"RSS grew {after - before:.1f} MB over 1,500 requests"
