"""The one inference pipeline: decode → preprocess → invoke → postprocess → encode.

Used by the CLI, the daemon, ``edge-bench`` and host-side evaluation alike, so that a
number measured anywhere is what the device does.

>>> pipe = Pipeline.open("models/unet_camvid_int8.tflite")  # doctest: +SKIP
>>> seg = pipe.segment(open("street.jpg", "rb").read())  # doctest: +SKIP
>>> seg.classes()[0].name, pipe.encode(seg, "mask").content_type  # doctest: +SKIP
('Road', 'image/png')
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from edge_runtime.bundle import (
    RGB,
    InputSpec,
    Manifest,
    default_palette,
    locate_model,
    read_labels,
)
from edge_runtime.encode import (
    JPEG_QUALITY,
    OVERLAY_MAX_PIXELS,
    encode_jpeg,
    encode_png,
    overlay,
    palette_bytes,
)
from edge_runtime.engine import Engine, TensorInfo
from edge_runtime.errors import ManifestError, ModelError
from edge_runtime.imaging import DEFAULT_MAX_PIXELS, decode_image, image_from_array
from edge_runtime.options import ModelOptions
from edge_runtime.postprocess import (
    OutputKind,
    OutputReader,
    as_palette_image,
    check_kind,
    infer_kind,
    spatial_shape,
    to_image_size,
)
from edge_runtime.preprocess import InputWriter, place, resize_to

log = logging.getLogger("edge_runtime")

ImageInput = bytes | Image.Image | np.ndarray


Format = Literal["json", "mask", "overlay"]


@dataclass(frozen=True)
class ModelSpec:
    """Everything the pipeline needs to know about a model, from its manifest or, for a
    bare .tflite, from its tensors and the caller's options."""

    name: str
    labels: tuple[str, ...]
    palette: tuple[RGB, ...]
    input: InputSpec
    output_kind: OutputKind
    ignore_index: int | None
    manifest: Manifest | None

    @cached_property
    def palette_bytes(self) -> bytes:
        return palette_bytes(self.palette)


def default_normalization(tensor: TensorInfo) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """mean/std that reproduce each input type's convention for bare models:
    uint8 → the raw pixel bytes (as pycoral does), int8 → pixel − 128, float → pixel / 255.
    For quantized tensors the mean/std undo the tensor's own quantization."""
    if np.issubdtype(tensor.dtype, np.floating):
        return (0.0,) * 3, (255.0,) * 3
    offset = 128.0 if tensor.dtype == np.int8 else 0.0
    if tensor.quantized:
        # q = (p - mean) / std / scale + zp  ==  p - offset  when std = 1/scale, mean = offset + zp
        return (offset + tensor.zero_point,) * 3, (1.0 / tensor.scale,) * 3
    return (offset,) * 3, (1.0,) * 3


def resolve_spec(
    engine: Engine,
    manifest: Manifest | None,
    *,
    name: str,
    labels_file: Path | None = None,
    mean: tuple[float, float, float] | None = None,
    std: tuple[float, float, float] | None = None,
    resize: Literal["stretch", "letterbox"] | None = None,
) -> ModelSpec:
    """Check the model's tensors against its manifest (or derive one). ``ModelError``s
    name the tensor and what was expected."""
    tin = engine.input
    if len(tin.shape) != 4 or tin.shape[0] != 1 or tin.shape[3] != 3:
        raise ModelError(
            f"not an image model: input {tin.name!r} is {tin.describe()}, expected [1,H,W,3]"
        )
    height, width = tin.shape[1], tin.shape[2]
    _, _, channels = spatial_shape(engine.output)
    if manifest is not None:
        if (manifest.input.width, manifest.input.height) != (width, height):
            raise ManifestError(
                f"manifest input is {manifest.input.width}x{manifest.input.height} but the "
                f"model's input tensor is {width}x{height}"
            )
        spec_in = manifest.input
        labels, palette = list(manifest.labels), list(manifest.palette)
        if labels_file is not None:
            log.warning(
                "--labels %s ignored: the manifest of %s names its %d classes "
                "(labels apply to bare .tflite files only)",
                labels_file,
                manifest.name,
                len(labels),
            )
        for what, value, recorded in (("mean", mean, spec_in.mean), ("std", std, spec_in.std)):
            if value is not None and tuple(value) != tuple(recorded):
                log.warning(
                    "--%s %s overrides the manifest's %s (the model was trained with it)",
                    what,
                    ",".join(f"{v:g}" for v in value),
                    ",".join(f"{v:g}" for v in recorded),
                )
        kind: OutputKind = manifest.output.kind
        ignore, name = manifest.ignore_index, manifest.name
    else:
        kind = infer_kind(engine.output)
        if labels_file is not None:
            labels = read_labels(labels_file)
        elif kind == "probability":
            labels = ["background", "foreground"]
        elif kind == "logits":
            labels = [f"class_{i}" for i in range(channels)]
        else:
            labels = [f"class_{i}" for i in range(256)]  # ids come from the graph
        palette = default_palette(len(labels))
        d_mean, d_std = default_normalization(tin)
        spec_in = InputSpec(width=width, height=height, mean=d_mean, std=d_std)
        ignore = None
    check_kind(engine.output, kind, len(labels))
    updates: dict[str, object] = {}
    if mean is not None:
        updates["mean"] = mean
    if std is not None:
        updates["std"] = std
    if resize is not None:
        updates["resize"] = resize
    if updates:
        spec_in = InputSpec.model_validate({**spec_in.model_dump(), **updates})
    return ModelSpec(name, tuple(labels), tuple(palette), spec_in, kind, ignore, manifest)


@dataclass(frozen=True)
class StageTimings:
    decode_ms: float = 0.0
    preprocess_ms: float = 0.0
    invoke_ms: float = 0.0
    postprocess_ms: float = 0.0
    encode_ms: float = 0.0
    total_ms: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {k.removesuffix("_ms"): round(v, 3) for k, v in dataclasses.asdict(self).items()}


@dataclass(frozen=True)
class ClassShare:
    id: int
    name: str
    fraction: float


@dataclass(frozen=True)
class Segmentation:
    """One result. ``label_map``: HxW uint8 class ids at the original resolution;
    ``label_image``: the same pixels as a palette ('P') image (shared memory);
    ``image``: the decoded upright RGB image (smaller than the original when draft
    decoding was allowed)."""

    model: str
    image: Image.Image
    label_map: np.ndarray
    labels: tuple[str, ...]
    palette: bytes
    timings: StageTimings

    @property
    def width(self) -> int:
        return int(self.label_map.shape[1])

    @property
    def height(self) -> int:
        return int(self.label_map.shape[0])

    @cached_property
    def label_image(self) -> Image.Image:
        return as_palette_image(self.label_map, self.palette)

    @cached_property
    def pixel_counts(self) -> np.ndarray:
        return np.asarray(self.label_image.histogram()[:256], dtype=np.int64)

    def classes(self) -> list[ClassShare]:
        """Present classes with their share of the image's pixels, largest first."""
        counts = self.pixel_counts
        total = max(int(counts.sum()), 1)
        shares = [
            ClassShare(int(i), self._name(int(i)), float(counts[i]) / total)
            for i in np.flatnonzero(counts)
        ]
        return sorted(shares, key=lambda s: -s.fraction)

    def _name(self, class_id: int) -> str:
        return self.labels[class_id] if class_id < len(self.labels) else f"class_{class_id}"

    def summary(self) -> dict[str, object]:
        """The JSON document the daemon and the CLI return."""
        return {
            "model": self.model,
            "width": self.width,
            "height": self.height,
            "classes": [
                {"id": c.id, "name": c.name, "fraction": round(c.fraction, 6)}
                for c in self.classes()
            ],
            "timings_ms": self.timings.as_dict(),
        }


@dataclass(frozen=True)
class Encoded:
    data: bytes
    content_type: str
    segmentation: Segmentation  # with encode_ms and total_ms updated
    # An overlay's (width, height): smaller than the image's when it was reduced.
    picture_size: tuple[int, int] | None = None

    @property
    def reduced(self) -> bool:
        seg = self.segmentation
        return self.picture_size is not None and self.picture_size != (seg.width, seg.height)


KEEP_ALL: int | None = None
SEGMENT_ONLY = 0


class Pipeline:
    """Thread-safe when the engine is (it is: one lock around invoke)."""

    def __init__(self, engine: Engine, spec: ModelSpec, *, max_pixels: int = DEFAULT_MAX_PIXELS):
        self.engine = engine
        self.spec = spec
        self.max_pixels = max_pixels
        try:
            self._writer = InputWriter(spec.input, engine.input)
        except ValueError as exc:
            raise ModelError(str(exc)) from exc
        self._reader = OutputReader(engine.output, spec.output_kind)

    @classmethod
    def open(
        cls,
        model: Path | str | None = None,
        options: ModelOptions | None = None,
        *,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> Pipeline:
        """Load a bundle (or a bare .tflite) and allocate its interpreter once.

        ``model`` wins over ``options.model``; neither means the shipped default. Options
        left unset come from the manifest, then the defaults.
        """
        from edge_runtime.defaults import default_model

        opts = options or ModelOptions()
        found = locate_model(model or opts.model or default_model())
        manifest = found.manifest
        cpu_fallback = opts.cpu_fallback
        if cpu_fallback is None and manifest is not None and manifest.cpu_model:
            cpu_fallback = found.path.parent / manifest.cpu_model
        engine = Engine(
            found.path,
            num_threads=opts.threads,
            delegate=opts.delegate,
            edgetpu_device=opts.edgetpu_device,
            cpu_fallback=cpu_fallback,
        )
        if engine.delegate.fell_back and cpu_fallback is not None:
            # The CPU model may come with its own manifest.
            manifest = locate_model(cpu_fallback).manifest or manifest
        spec = resolve_spec(
            engine,
            manifest,
            name=found.path.stem,
            labels_file=opts.labels,
            mean=opts.mean,
            std=opts.std,
            resize=opts.resize,
        )
        return cls(engine, spec, max_pixels=max_pixels)

    @property
    def input_size(self) -> tuple[int, int]:
        return self.spec.input.width, self.spec.input.height

    def warm_up(self, runs: int = 1) -> list[float]:
        """Invoke on blank input (first invokes pay one-off costs); latencies in ms."""
        return [self.engine.invoke_blank() for _ in range(runs)]

    def segment(self, image: ImageInput, *, keep_pixels: int | None = KEEP_ALL) -> Segmentation:
        """Segment encoded bytes, a Pillow image or an HxWx3 RGB uint8 array.

        ``keep_pixels`` says how much of an encoded image ``Segmentation.image`` must hold,
        which bounds decode memory and time: ``KEEP_ALL`` (the default) the full
        resolution; ``SEGMENT_ONLY`` as little as segmentation needs (big images decode
        or shrink to about the model's input size); a number, about that many pixels
        (an overlay). The label map is always at the original resolution.
        Raises ``ImageError`` subclasses for bad images.
        """
        t0 = time.perf_counter()
        if isinstance(image, bytes):
            decoded = decode_image(
                image,
                min_size=self.input_size if keep_pixels == SEGMENT_ONLY else None,
                keep_pixels=keep_pixels or None,
                max_pixels=self.max_pixels,
            )
            picture, original = decoded.image, decoded.original_size
        elif isinstance(image, np.ndarray):
            picture = image_from_array(image)
            original = picture.size
        else:
            picture = image if image.mode == "RGB" else image.convert("RGB")
            original = picture.size
        t1 = time.perf_counter()
        placement = place(picture.size, self.spec.input)
        pixels = np.asarray(resize_to(picture, placement))
        t2 = time.perf_counter()
        run = self.engine.run(
            lambda view: self._writer.write(view, pixels, placement), self._reader
        )
        t3 = time.perf_counter()
        label_map = to_image_size(run.result, placement, original)
        t4 = time.perf_counter()
        timings = StageTimings(
            decode_ms=(t1 - t0) * 1e3,
            preprocess_ms=(t2 - t1) * 1e3 + run.write_ms,
            invoke_ms=run.invoke_ms,
            postprocess_ms=run.read_ms + (t4 - t3) * 1e3,
            total_ms=(t4 - t0) * 1e3,
        )
        return Segmentation(
            self.spec.name, picture, label_map, self.spec.labels, self.spec.palette_bytes, timings
        )

    def encode(
        self,
        seg: Segmentation,
        fmt: Format,
        *,
        alpha: float = 0.5,
        max_overlay_pixels: int = OVERLAY_MAX_PIXELS,
        jpeg_quality: int = JPEG_QUALITY,
        picture: Image.Image | None = None,
    ) -> Encoded:
        """``mask``: 8-bit palette PNG (pixel = class id), always at the image's size;
        ``overlay``: JPEG, reduced to ``max_overlay_pixels`` when larger, drawn on
        ``picture`` when given (a camera's larger display frame) else on the segmented
        image; ``json``: the summary as UTF-8 JSON. The encode time is added to the
        timings. Uploads and the camera loop both encode here."""
        import json

        t0 = time.perf_counter()
        size = None
        if fmt == "mask":
            data, ctype = encode_png(seg.label_image), "image/png"
        elif fmt == "overlay":
            shown = overlay(picture or seg.image, seg.label_image, alpha, max_overlay_pixels)
            data, ctype, size = encode_jpeg(shown, jpeg_quality), "image/jpeg", shown.size
        elif fmt == "json":
            data, ctype = b"", "application/json"
        else:
            raise ValueError(f"unknown format {fmt!r}: expected json, mask or overlay")
        encode_ms = (time.perf_counter() - t0) * 1e3
        timings = dataclasses.replace(
            seg.timings, encode_ms=encode_ms, total_ms=seg.timings.total_ms + encode_ms
        )
        seg = dataclasses.replace(seg, timings=timings)
        if fmt == "json":
            data = json.dumps(seg.summary()).encode()
        return Encoded(data, ctype, seg, size)

    def close(self, timeout: float | None = None) -> bool:
        return self.engine.close(timeout)
