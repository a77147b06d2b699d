"""Streaming tf.data pipelines over image/mask folders (CamVid, encoded COCO).

Images are read from disk every epoch, never held in memory as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from PIL import Image

from edge_runtime.folders import image_mask_pairs
from edge_runtime.host.config import DataConfig
from edge_runtime.host.tf_compat import tf


def split_pairs(data: DataConfig, split: Literal["train", "val"]) -> list[tuple[Path, Path]]:
    """Image/mask pairs of one split; for COCO, encodes the masks first (resumable, so
    this is a quick check once they exist)."""
    images = data.resolve(data.train_images if split == "train" else data.val_images)
    if data.kind == "coco":
        from edge_runtime.host.coco import encode_coco

        ann = data.train_annotations if split == "train" else data.val_annotations
        assert ann is not None  # checked by DataConfig
        masks = data.cache_dir / split
        encode_coco(data.resolve(ann), masks)
    else:
        folder = data.train_masks if split == "train" else data.val_masks
        assert folder is not None
        masks = data.resolve(folder)
    return image_mask_pairs(images, masks)


def class_pixel_counts(
    masks: Sequence[Path], num_classes: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per class: pixels in total, and pixels of the images in which it appears."""
    pixels = np.zeros(num_classes, np.int64)
    image_pixels = np.zeros(num_classes, np.int64)
    for path in masks:
        with Image.open(path) as im:
            counts = np.bincount(np.asarray(im).reshape(-1), minlength=256)[:num_classes]
        pixels += counts
        image_pixels += np.where(counts > 0, counts.sum(), 0)
    return pixels, image_pixels


def median_frequency_weights(masks: Sequence[Path], num_classes: int) -> npt.NDArray[np.float32]:
    """Median-frequency balancing (Eigen & Fergus 2015), as SegNet uses on CamVid."""
    pixels, image_pixels = class_pixel_counts(masks, num_classes)
    freq = np.where(image_pixels > 0, pixels / np.maximum(image_pixels, 1), 0.0)
    median = np.median(freq[freq > 0])
    return np.where(freq > 0, median / np.maximum(freq, 1e-12), 0.0).astype(np.float32)


@dataclass(frozen=True)
class Augment:
    scale_min: float = 0.75
    scale_max: float = 1.5
    flip: bool = True
    photometric: bool = True


def _read(image_path: tf.Tensor, mask_path: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    image = tf.io.decode_image(tf.io.read_file(image_path), channels=3, expand_animations=False)
    mask = tf.io.decode_png(tf.io.read_file(mask_path), channels=1)
    return tf.cast(image, tf.float32), mask


def make_dataset(
    pairs: Sequence[tuple[Path, Path]],
    *,
    height: int,
    width: int,
    mean: Sequence[float],
    std: Sequence[float],
    ignore_index: int | None,
    class_weights: npt.NDArray[np.float32] | None = None,
    batch_size: int = 8,
    augment: Augment | None = None,
    shuffle: bool = False,
    seed: int = 0,
    teacher: Sequence[Path] | None = None,
    teacher_shape: tuple[int, int, int] | None = None,
) -> tf.data.Dataset:
    """``(image, label, weight)`` batches: image normalized as ``(pixel - mean) / std``,
    label with ignored pixels set to 0 and weight 0 there (class weight elsewhere).

    With ``teacher`` (one raw float16 logits file of ``teacher_shape`` per pair, see
    ``host.distill``), batches are ``(image, target)``: ``target`` stacks label, weight,
    a 1/0 "inside the image" mask and the teacher's logits, resized, cropped and flipped
    with the image, so the student is taught what the teacher said of the same pixels.
    """
    images = [str(p[0]) for p in pairs]
    masks = [str(p[1]) for p in pairs]
    if teacher is not None:
        if teacher_shape is None or len(teacher) != len(pairs):
            raise ValueError("teacher needs one logits file per pair and teacher_shape")
        ds = tf.data.Dataset.from_tensor_slices((images, masks, [str(t) for t in teacher]))
    else:
        ds = tf.data.Dataset.from_tensor_slices((images, masks))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    fill = 255 if ignore_index is None else ignore_index
    soft = teacher_shape[2] if teacher is not None and teacher_shape else 0

    def read(image_path: tf.Tensor, mask_path: tf.Tensor, *extra: tf.Tensor) -> tf.Tensor:
        image, mask = _read(image_path, mask_path)
        size = tf.shape(image)[:2]
        parts = [image, tf.cast(mask, tf.float32), tf.ones_like(image[..., :1])]
        if extra:
            logits = tf.io.decode_raw(tf.io.read_file(extra[0]), tf.float16)
            logits = tf.reshape(tf.cast(logits, tf.float32), teacher_shape)
            parts.append(tf.image.resize(logits, size, method="bilinear"))
        return tf.concat(parts, axis=-1)

    def resize(stacked: tf.Tensor) -> tf.Tensor:
        # Channels: RGB, mask, inside-the-image, teacher logits. Pixels and logits are
        # resized bilinearly, the mask and the inside flag by nearest neighbour.
        def scaled(h: tf.Tensor, w: tf.Tensor) -> tf.Tensor:
            smooth = tf.image.resize(
                tf.concat([stacked[..., :3], stacked[..., 5:]], -1), (h, w), antialias=True
            )
            hard = tf.image.resize(stacked[..., 3:5], (h, w), method="nearest")
            return tf.concat([smooth[..., :3], hard, smooth[..., 3:]], -1)

        if augment is None:
            return scaled(height, width)
        scale = tf.random.uniform((), augment.scale_min, augment.scale_max)
        h = tf.cast(tf.round(height * scale), tf.int32)
        w = tf.cast(tf.round(width * scale), tf.int32)
        x = scaled(h, w)
        # Pad up to the crop size (image with the mean, mask with ignore, the rest with
        # 0: outside the image, where the teacher says nothing), then crop.
        ph, pw = tf.maximum(height - h, 0), tf.maximum(width - w, 0)
        pad = [[ph // 2, ph - ph // 2], [pw // 2, pw - pw // 2], [0, 0]]
        offset = tf.concat([tf.constant(mean, tf.float32), [float(fill)], tf.zeros(1 + soft)], 0)
        x = tf.pad(x - offset, pad) + offset
        x = tf.image.random_crop(x, (height, width, 5 + soft))
        if augment.flip:
            x = tf.image.random_flip_left_right(x)
        if augment.photometric:
            image = tf.image.random_brightness(x[..., :3], 25.0)
            image = tf.image.random_contrast(image, 0.8, 1.2)
            image = tf.image.random_saturation(image, 0.8, 1.2)
            x = tf.concat([tf.clip_by_value(image, 0.0, 255.0), x[..., 3:]], -1)
        return x

    weights = tf.constant(
        class_weights if class_weights is not None else np.ones(256, np.float32), tf.float32
    )

    def finish(x: tf.Tensor) -> tuple[tf.Tensor, ...]:
        label = tf.cast(tf.round(x[..., 3]), tf.int32)
        valid = label != ignore_index if ignore_index is not None else tf.ones_like(label, bool)
        label = tf.where(valid, label, 0)
        weight = tf.where(valid, tf.gather(weights, tf.minimum(label, tf.size(weights) - 1)), 0.0)
        image = (x[..., :3] - tf.constant(mean, tf.float32)) / tf.constant(std, tf.float32)
        image = tf.ensure_shape(image, (height, width, 3))
        if not soft:
            return image, label, weight
        target = tf.concat(
            [tf.cast(label, tf.float32)[..., None], weight[..., None], x[..., 4:]], -1
        )
        return image, tf.ensure_shape(target, (height, width, 3 + soft))

    ds = ds.map(read, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(resize, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(finish, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size, drop_remainder=augment is not None).prefetch(tf.data.AUTOTUNE)
