"""Drive a running daemon over HTTP: client latency, throughput, statuses, and how much of
the latency is the server's pipeline (from ``Server-Timing``) versus HTTP overhead."""

from __future__ import annotations

import asyncio
import mimetypes
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from edge_runtime.bench.model_bench import latency_stats
from edge_runtime.errors import UsageError


def parse_server_timing(header: str) -> dict[str, float]:
    out = {}
    for item in header.split(","):
        name, _, dur = item.strip().partition(";dur=")
        if dur:
            try:
                out[name] = float(dur)
            except ValueError:
                continue
    return out


async def _drive(
    url: str,
    bodies: list[tuple[bytes, str]],
    *,
    concurrency: int,
    duration_s: float,
    token: str | None,
    query: str,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    latencies: list[float] = []
    server: dict[str, list[float]] = {}
    overhead: list[float] = []
    statuses: Counter[str] = Counter()
    deadline = time.monotonic() + duration_s
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def worker(k: int) -> None:
            i = k
            while time.monotonic() < deadline:
                body, ctype = bodies[i % len(bodies)]
                i += concurrency
                t0 = time.perf_counter()
                try:
                    r = await client.post(
                        f"/v1/segment?{query}",
                        content=body,
                        headers={**headers, "Content-Type": ctype},
                    )
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1
                    continue
                ms = (time.perf_counter() - t0) * 1e3
                statuses[str(r.status_code)] += 1
                if r.status_code != 200:
                    continue
                latencies.append(ms)
                timing = parse_server_timing(r.headers.get("server-timing", ""))
                for stage, v in timing.items():
                    server.setdefault(stage, []).append(v)
                if "total" in timing:
                    overhead.append(ms - timing["total"])

        t_start = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
        elapsed = time.perf_counter() - t_start
    result: dict[str, Any] = {
        "concurrency": concurrency,
        "duration_s": elapsed,
        "requests": sum(statuses.values()),
        "statuses": dict(statuses),
        "throughput_rps": len(latencies) / elapsed if elapsed else 0.0,
        "latency_ms": latency_stats(latencies) if latencies else None,
        "server_ms": {s: statistics.median(v) for s, v in server.items()},
        "http_overhead_ms": statistics.median(overhead) if overhead else None,
    }
    if latencies and overhead:
        result["http_overhead_share"] = statistics.median(overhead) / statistics.median(latencies)
    return result


def probe(url: str, body: tuple[bytes, str], *, token: str | None, query: str) -> None:
    """One request before the timed ones: a daemon that refuses it (no token, a wrong
    one, an image it rejects) is an error to report, not a benchmark of 4xx replies.

    Raises ``UsageError`` with the daemon's own reason."""
    headers = {"Content-Type": body[1], **({"Authorization": f"Bearer {token}"} if token else {})}
    r = httpx.post(f"{url}/v1/segment?{query}", content=body[0], headers=headers, timeout=60)
    if r.status_code == 200:
        return
    try:
        detail = r.json().get("detail") or r.text
    except ValueError:
        detail = r.text
    hint = ""
    if r.status_code in (401, 403):
        hint = " (pass --token with the daemon's token)" if not token else " (check --token)"
    raise UsageError(f"{url} refused the first upload: {r.status_code} {detail}{hint}")


def bench_http(
    url: str,
    images: list[Path],
    *,
    concurrency: list[int],
    duration_s: float,
    token: str | None = None,
    fmt: str = "mask",
) -> list[dict[str, Any]]:
    """One result per concurrency level. ``images`` are sent as they are (their own type)."""
    if not images:
        raise UsageError("HTTP mode needs --images with at least one image")
    bodies = [
        (p.read_bytes(), mimetypes.guess_type(p.name)[0] or "application/octet-stream")
        for p in images
    ]
    probe(url.rstrip("/"), bodies[0], token=token, query=f"format={fmt}")
    return [
        asyncio.run(
            _drive(
                url.rstrip("/"),
                bodies,
                concurrency=c,
                duration_s=duration_s,
                token=token,
                query=f"format={fmt}",
            )
        )
        for c in concurrency
    ]
