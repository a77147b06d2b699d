"""COCO → 13-class super-category label PNGs (the seed's one-time encoding job).

Class ids: 0 background, then the 12 COCO super-categories in ``SUPERCATEGORIES`` order.
Crowd regions are 255 (ignore). Overlaps are resolved deterministically: crowd regions are
painted first, then instances from the largest area to the smallest (ties: lower
annotation id first), so a small object in front of a large one (a cup on a table) stays
visible, and any real instance wins over a crowd region.

The job is parallel (one task per image; the annotation file is read once, by the parent),
shows a progress bar, skips images whose PNG already exists (resumable), and writes each
PNG to a temporary name then renames it (an interrupted run leaves no half-written file).
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

SUPERCATEGORIES = (
    "person", "vehicle", "outdoor", "animal", "accessory", "sports",
    "kitchen", "food", "furniture", "electronic", "appliance", "indoor",
)  # fmt: skip
LABELS = ("background", *SUPERCATEGORIES)
IGNORE = 255


@dataclass(frozen=True)
class ImageTask:
    file_name: str
    height: int
    width: int
    annotations: tuple[dict[str, Any], ...]  # each with "class_id" added


@dataclass(frozen=True)
class EncodeReport:
    written: int
    skipped: int
    images: int


def load_tasks(annotations: Path) -> tuple[list[ImageTask], dict[int, int]]:
    """Read ``instances_*.json``; returns one task per image and category → class id."""
    try:
        doc = json.loads(annotations.read_text())
    except OSError as exc:
        raise FileNotFoundError(f"cannot read {annotations}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{annotations} is not valid JSON: {exc}") from exc
    if not {"images", "annotations", "categories"} <= doc.keys():
        raise ValueError(f"{annotations} is not a COCO instances file")
    class_of = {}
    for cat in doc["categories"]:
        if cat["supercategory"] not in SUPERCATEGORIES:
            raise ValueError(f"unknown COCO super-category {cat['supercategory']!r}")
        class_of[int(cat["id"])] = SUPERCATEGORIES.index(cat["supercategory"]) + 1
    per_image: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for ann in doc["annotations"]:
        per_image[int(ann["image_id"])].append(
            {**ann, "class_id": class_of[int(ann["category_id"])]}
        )
    tasks = [
        ImageTask(
            img["file_name"],
            int(img["height"]),
            int(img["width"]),
            tuple(per_image.get(int(img["id"]), ())),
        )
        for img in sorted(doc["images"], key=lambda i: i["file_name"])
    ]
    return tasks, class_of


def paint_order(annotations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Crowd first, then by area (largest first), ties by annotation id."""
    return sorted(annotations, key=lambda a: (not a.get("iscrowd", 0), -float(a["area"]), a["id"]))


def encode_labels(task: ImageTask) -> np.ndarray:
    """The HxW uint8 label map of one image."""
    from pycocotools import mask as mask_utils

    labels = np.zeros((task.height, task.width), np.uint8)
    for ann in paint_order(task.annotations):
        segm = ann["segmentation"]
        if isinstance(segm, list):  # polygons
            if not segm:
                continue
            rle = mask_utils.merge(mask_utils.frPyObjects(segm, task.height, task.width))
        elif isinstance(segm["counts"], list):  # uncompressed RLE (crowd)
            rle = mask_utils.frPyObjects(segm, task.height, task.width)
        else:
            rle = segm
        region = mask_utils.decode(rle).astype(bool)
        labels[region] = IGNORE if ann.get("iscrowd", 0) else ann["class_id"]
    return labels


def _write(args: tuple[ImageTask, Path]) -> bool:
    task, out_dir = args
    target = out_dir / (Path(task.file_name).stem + ".png")
    if target.exists():
        return False
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    Image.fromarray(encode_labels(task), "L").save(tmp, "PNG", compress_level=1)
    tmp.replace(target)
    return True


def encode_coco(
    annotations: Path, out_dir: Path, *, workers: int | None = None, progress: bool = True
) -> EncodeReport:
    """Write ``out_dir/<image stem>.png`` for every image of ``annotations``."""
    tasks, _ = load_tasks(annotations)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(".*.tmp"):  # from an interrupted run
        stale.unlink()
    todo = [t for t in tasks if not (out_dir / (Path(t.file_name).stem + ".png")).exists()]
    written = 0
    bar = _progress(len(todo), progress)
    with multiprocessing.get_context("spawn").Pool(workers or os.cpu_count() or 1) as pool:
        for done in pool.imap_unordered(_write, ((t, out_dir) for t in todo), chunksize=4):
            written += int(done)
            bar.update(1)
    bar.close()
    return EncodeReport(written, len(tasks) - len(todo), len(tasks))


class _NoBar:
    def update(self, n: int) -> None: ...

    def close(self) -> None: ...


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    # disable=None: no bar when stderr is not a terminal (a training log, a CI job)
    return tqdm(total=total, unit="img", desc="encoding", disable=None)
