"""Image/mask folder pairing (CamVid layout: ``images/NAME.png`` ↔ ``masks/NAME.png``)."""

from __future__ import annotations

from pathlib import Path

from edge_runtime.errors import UsageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def list_images(folder: Path) -> list[Path]:
    """The images of one folder (by suffix, case-insensitive), sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def image_mask_pairs(images: Path, masks: Path) -> list[tuple[Path, Path]]:
    """Every image with a same-stem ``.png`` mask, sorted by name.

    Raises ``UsageError`` for a missing folder or when nothing pairs.
    """
    if not images.is_dir():
        raise UsageError(f"image folder not found: {images}")
    if not masks.is_dir():
        raise UsageError(f"mask folder not found: {masks}")
    found = []
    for image in list_images(images):
        mask = masks / f"{image.stem}.png"
        if mask.is_file():
            found.append((image, mask))
    if not found:
        raise UsageError(f"no image/mask pairs in {images} and {masks}")
    return found


def sibling_mask_folder(images: Path) -> Path | None:
    """CamVid's convention: ``val/`` ↔ ``valannot/``; also ``images/`` ↔ ``masks/``."""
    for candidate in (images.parent / f"{images.name}annot", images.parent / "masks"):
        if candidate.is_dir() and candidate != images:
            return candidate
    return None
