"""What zones and events add to the camera loop's per-frame time, on real frames: the
loop's own work for a frame (segment + overlay JPEG) against zone shares + the event
tracker for the same frames, medians, in one process.

    python -m edge_runtime.bench.zone_cost FRAMES_DIR [--model M] [--zones 3] [--classes 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from edge_runtime.encode import encode_jpeg, overlay
from edge_runtime.events import EventTracker
from edge_runtime.folders import list_images
from edge_runtime.pipeline import Pipeline
from edge_runtime.zones import ZoneCounter, ZoneSpec


def measure(
    frames_dir: Path, model: Path | None = None, zones: int = 3, classes: int = 3, rounds: int = 3
) -> dict[str, Any]:
    pipe = Pipeline.open(model)
    labels = list(pipe.spec.labels)
    watched = labels[1 : 1 + classes] or labels[:1]
    specs = [
        ZoneSpec(
            name=f"z{i}",
            polygon=[
                (i / zones, 0.4),
                ((i + 1) / zones, 0.4),
                ((i + 1) / zones, 1.0),
                (i / zones, 1.0),
            ],
            classes=watched,
        )
        for i in range(zones)
    ]
    counter, tracker = ZoneCounter(specs, labels), EventTracker(specs)
    frames = [np.asarray(Image.open(p).convert("RGB")) for p in list_images(frames_dir)[:20]]
    frame_ms, zone_ms = [], []
    for _ in range(rounds):
        for pixels in frames:
            t0 = time.perf_counter()
            seg = pipe.segment(pixels)
            encode_jpeg(overlay(seg.image, seg.label_image, 0.5))
            t1 = time.perf_counter()
            tracker.update(counter.shares(seg.label_map), time.time())
            t2 = time.perf_counter()
            frame_ms.append((t1 - t0) * 1e3)
            zone_ms.append((t2 - t1) * 1e3)
    frame, zone = statistics.median(frame_ms), statistics.median(zone_ms)
    return {
        "zones": zones,
        "classes_per_zone": len(watched),
        "frames": len(frames) * rounds,
        "frame_ms": frame,
        "zones_and_events_ms": zone,
        "ratio": zone / frame,
    }


def markdown(r: dict[str, Any]) -> str:
    return (
        f"- zones and events: {r['zones']} zones x {r['classes_per_zone']} classes add "
        f"{r['zones_and_events_ms']:.3f} ms to a camera-loop frame of {r['frame_ms']:.2f} ms "
        f"(segment + overlay JPEG; medians of {r['frames']} real frames) = "
        f"{100 * r['ratio']:.2f} % [target ≤ 3 %]"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("frames", type=Path)
    p.add_argument("--model", type=Path)
    p.add_argument("--zones", type=int, default=3)
    p.add_argument("--classes", type=int, default=3)
    p.add_argument("--out", type=Path, help="write zone_cost.json here")
    args = p.parse_args()
    r = measure(args.frames, args.model, args.zones, args.classes)
    if args.out:
        (args.out / "zone_cost.json").write_text(json.dumps(r, indent=2) + "\n")
    print(markdown(r))


if __name__ == "__main__":
    main()
