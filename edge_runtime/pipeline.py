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
import typing
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from edge_runtime.bundle import (
    locate_model,
)
from edge_runtime.encode import (
    JPEG_QUALITY,
    OVERLAY_ALPHA,
    OVERLAY_MAX_PIXELS,
    encode_jpeg,
    encode_png,
    overlay,
)
from edge_runtime.engine import Engine
from edge_runtime.errors import ModelError
from edge_runtime.imaging import DEFAULT_MAX_PIXELS, decode_image, image_from_array
from edge_runtime.model_spec import ModelSpec, resolve_spec
from edge_runtime.options import ModelOptions
from edge_runtime.postprocess import (
    OutputReader,
    to_image_size,
)
from edge_runtime.preprocess import InputWriter, place, resize_to
from edge_runtime.results import Encoded, Segmentation, StageTimings

log = logging.getLogger("edge_runtime")

ImageInput = bytes | Image.Image | np.ndarray


Format = Literal["json", "mask", "overlay"]
FORMATS: tuple[Format, ...] = typing.get_args(Format)  # every list of choices uses this


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
        alpha: float = OVERLAY_ALPHA,
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
