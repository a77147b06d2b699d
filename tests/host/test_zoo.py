"""The committed zoo (tests/fixtures/zoo) is what tests/zoo.py builds with this TensorFlow:
same tensors, same answers. If this fails after a TensorFlow upgrade, run
``python tests/zoo.py`` and commit the result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zoo

from edge_runtime.engine import Engine


def _answers(path: Path) -> tuple[list[tuple[object, ...]], list[np.ndarray]]:
    engine = Engine(path, delegate="cpu")
    tensors = [
        (t.shape, t.dtype.name, round(t.scale, 6), t.zero_point)
        for t in (engine.input, engine.output)
    ]
    h, w = engine.input.shape[1:3]
    rng = np.random.default_rng(1)
    inputs = [zoo.colour_bars(h, w), rng.integers(0, 256, (h, w, 3))]
    outputs = []
    for image in inputs:
        if engine.input.quantized or np.issubdtype(engine.input.dtype, np.integer):
            x = (
                image.astype(engine.input.dtype)
                if engine.input.dtype == np.uint8
                else (image.astype(np.int16) - 128).astype(engine.input.dtype)
            )
        else:
            x = (image / 255.0).astype(engine.input.dtype)
        run = engine.run(lambda view, x=x: view.__setitem__(..., x[None]), lambda out: out.copy())
        outputs.append(run.result)
    engine.close()
    return tensors, outputs


@pytest.mark.parametrize("name", zoo.ZOO)
def test_the_committed_fixture_matches_a_fresh_build(name: str, tmp_path: Path):
    fresh = zoo.build(name, tmp_path)
    committed = zoo.FIXTURES / f"{name}.tflite"
    (t_fresh, out_fresh), (t_committed, out_committed) = _answers(fresh), _answers(committed)
    assert t_fresh == t_committed
    for a, b in zip(out_fresh, out_committed, strict=True):
        np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), atol=1.0)
