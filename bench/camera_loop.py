"""How close the camera loop comes to the interpreter's own rate: the daemon's FrameLoop on
a synthetic source far faster than the model, with nobody watching and then with one
viewer that takes every frame's overlay, against 1000 / invoke p50 measured in the same
run (the ceiling: a loop that did nothing but invoke).

    python bench/camera_loop.py [--model M] [--seconds 20] [--threads N] [--source-fps 200]

Writes bench/results/<machine>/camera-loop.md. Run it with nothing else on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path

from edge_runtime.bench.system import ROOT, machine_slug
from edge_runtime.engine import usable_cores
from edge_runtime.options import ModelOptions
from edge_runtime.pipeline import Pipeline
from edge_runtime.sources.loop import FrameLoop, StreamHub
from edge_runtime.sources.synthetic import SyntheticSource
from edge_runtime.system_info import machine_info


def run(pipe: Pipeline, seconds: float, *, viewer: bool, source_fps: float) -> dict[str, float]:
    """Frames per second the loop segments (and, with a viewer, encodes) for ``seconds``."""
    hub = StreamHub()
    loop = FrameLoop(SyntheticSource(480, 360, fps=source_fps), pipe, hub)
    stop = threading.Event()
    encoded = 0

    def watch() -> None:  # a viewer: every new frame's JPEG, as /stream.mjpg takes it
        nonlocal encoded
        seen = 0
        while not stop.is_set():
            frame = hub.latest
            if frame is not None and frame.seq != seen:
                seen = frame.seq
                frame.jpeg()
                encoded += 1
            else:
                time.sleep(0.001)

    viewer_thread = threading.Thread(target=watch, daemon=True) if viewer else None
    loop.start()
    if viewer_thread:
        viewer_thread.start()
    time.sleep(2.0)  # warm: the first invokes and the JIT-free caches
    start_frames, start = loop.stats.processed, time.monotonic()
    time.sleep(seconds)
    frames, elapsed = loop.stats.processed - start_frames, time.monotonic() - start
    stop.set()
    loop.stop()
    invoke = list(loop.stats.invoke_ms)
    return {
        "fps": frames / elapsed,
        "invoke_p50_ms": statistics.median(invoke),
        "encoded": float(encoded),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", type=Path, help="default: the shipped default model")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument(
        "--source-fps",
        type=float,
        default=200.0,
        help="the synthetic camera's rate: far above the model's, as a camera is not "
        "unthrottled (0: unthrottled, a producer that takes a whole core)",
    )
    p.add_argument("--threads", type=int, help="default: the daemon's (one fewer than the cores)")
    args = p.parse_args()
    # As the daemon runs a camera: one interpreter thread fewer than the cores.
    threads = args.threads or max(1, usable_cores() - 1)
    pipe = Pipeline.open(args.model, ModelOptions(threads=threads))
    pipe.warm_up(5)
    alone = run(pipe, args.seconds, viewer=False, source_fps=args.source_fps)
    watched = run(pipe, args.seconds, viewer=True, source_fps=args.source_fps)
    ceiling = 1000.0 / alone["invoke_p50_ms"]
    m = machine_info()
    features = m.get("int8_features") or []
    assert isinstance(features, list)
    lines = [
        f"# Camera loop rate — {pipe.spec.name}",
        "",
        f"- machine: {m['cpu']}, {m['cores']} cores; int8 features: "
        f"{', '.join(features) or 'none'}; {threads} interpreter "
        f"thread{'s' if threads > 1 else ''} (the daemon's choice with a camera)",
        f"- source: synthetic 480x360 frames at "
        f"{f'{args.source_fps:g} frames/s' if args.source_fps else 'an unthrottled rate'}; "
        f"{args.seconds:g} s per row after "
        "2 s of warm-up. Command: `python bench/camera_loop.py`",
        "",
        "| row | frames/s | invoke p50 ms | ÷ (1000 / invoke p50) |",
        "|---|---|---|---|",
    ]
    for name, r in (("nobody watching", alone), ("one viewer, every overlay", watched)):
        lines.append(
            f"| {name} | {r['fps']:.1f} | {r['invoke_p50_ms']:.2f} | "
            f"{r['fps'] / (1000.0 / r['invoke_p50_ms']):.2f} |"
        )
    lines += [
        "",
        f"Nobody watching, the loop reaches {alone['fps'] / ceiling:.0%} of the rate the "
        f"interpreter alone allows ({ceiling:.1f} frames/s at its measured p50); with a viewer "
        f"taking every overlay, {watched['fps']:.1f} frames/s "
        f"({watched['fps'] / alone['fps']:.0%} of the unwatched rate; "
        f"{watched['encoded']:.0f} JPEGs encoded in {args.seconds:g} s).",
    ]
    out = ROOT / "bench/results" / machine_slug() / "camera-loop.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
