"""Image/mask folder pairing, CamVid's layout and its conventions."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_runtime.errors import UsageError
from edge_runtime.folders import image_mask_pairs, list_images, sibling_mask_folder


def touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(b"")


def test_pairs_by_stem_sorted_and_images_by_suffix(tmp_path: Path) -> None:
    touch(tmp_path / "val", "b.png", "a.JPG", "notes.txt", "c.webp")
    touch(tmp_path / "valannot", "a.png", "b.png", "z.png")
    assert [p.name for p in list_images(tmp_path / "val")] == ["a.JPG", "b.png", "c.webp"]
    pairs = image_mask_pairs(tmp_path / "val", tmp_path / "valannot")
    assert [(i.name, m.name) for i, m in pairs] == [("a.JPG", "a.png"), ("b.png", "b.png")]


def test_missing_folders_and_no_pairs_are_usage_errors(tmp_path: Path) -> None:
    touch(tmp_path / "images", "a.png")
    touch(tmp_path / "masks", "other.png")
    with pytest.raises(UsageError, match="image folder not found"):
        image_mask_pairs(tmp_path / "nope", tmp_path / "masks")
    with pytest.raises(UsageError, match="mask folder not found"):
        image_mask_pairs(tmp_path / "images", tmp_path / "nope")
    with pytest.raises(UsageError, match="no image/mask pairs"):
        image_mask_pairs(tmp_path / "images", tmp_path / "masks")


def test_the_mask_folder_beside_the_images(tmp_path: Path) -> None:
    touch(tmp_path / "val", "a.png")
    assert sibling_mask_folder(tmp_path / "val") is None
    touch(tmp_path / "masks", "a.png")
    assert sibling_mask_folder(tmp_path / "val") == tmp_path / "masks"
    touch(tmp_path / "valannot", "a.png")  # CamVid's own name wins
    assert sibling_mask_folder(tmp_path / "val") == tmp_path / "valannot"
    assert sibling_mask_folder(tmp_path / "masks") is None  # never itself
