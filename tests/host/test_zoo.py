"""The committed zoo (tests/fixtures/zoo) is what tests/zoo.py builds with this TensorFlow:
same tensors, same answers. If this fails after a TensorFlow upgrade, run
``python tests/zoo.py`` and commit the result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zoo

from edge_runtime.engine import Engine

Tensors = list[tuple[tuple[int, ...], str, float, int]]


def _as_input(image: np.ndarray, engine: Engine) -> np.ndarray:
    """An HxWx3 0..255 image as the model's bare input convention takes it."""
    dtype = engine.input.dtype
    if dtype == np.uint8:
        return image.astype(np.uint8)[None]
    if dtype == np.int8:
        return (image.astype(np.int16) - 128).astype(np.int8)[None]
    return (image / 255.0).astype(dtype)[None]


def _answers(path: Path) -> tuple[Tensors, list[np.ndarray]]:
    engine = Engine(path, delegate="cpu")
    tensors = [
        (t.shape, t.dtype.name, round(t.scale, 6), t.zero_point)
        for t in (engine.input, engine.output)
    ]
    h, w = engine.input.shape[1:3]
    images = [zoo.colour_bars(h, w), np.random.default_rng(1).integers(0, 256, (h, w, 3))]
    outputs = []
    for image in images:
        x = _as_input(image, engine)

        def write(view: np.ndarray, x: np.ndarray = x) -> None:
            view[...] = x

        outputs.append(engine.run(write, np.copy).result)
    engine.close()
    return tensors, outputs


@pytest.mark.parametrize("name", zoo.ZOO)
def test_the_committed_fixture_matches_a_fresh_build(name: str, tmp_path: Path) -> None:
    fresh = zoo.build(name, tmp_path)
    committed = zoo.FIXTURES / f"{name}.tflite"
    (t_fresh, out_fresh), (t_committed, out_committed) = _answers(fresh), _answers(committed)
    assert t_fresh == t_committed
    for a, b in zip(out_fresh, out_committed, strict=True):
        np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), atol=1.0)
