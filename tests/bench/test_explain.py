"""The system report explains a missed figure from what the run measured and from this
CPU's own features, not from prose written on another machine."""

from __future__ import annotations

import pytest

from edge_runtime.bench import explain

ROWS = [
    {"model": "m_f32", "kernels": "xnnpack", "threads": 2, "p50_ms": 10.0},
    {"model": "m_i8", "kernels": "xnnpack", "threads": 2, "p50_ms": 9.0},
    {"model": "m_f32", "kernels": "builtin", "threads": 2, "p50_ms": 30.0},
    {"model": "m_i8", "kernels": "builtin", "threads": 2, "p50_ms": 21.0},
]


@pytest.mark.parametrize(
    ("features", "says"),
    [
        (["avx2"], "Without an int8 dot-product instruction"),
        (
            ["avx512_vnni", "avx512f", "avx2"],
            "It has an int8 dot-product instruction (avx512_vnni)",
        ),
        (["asimddp"], "It has an int8 dot-product instruction (asimddp)"),
    ],
)
def test_the_int8_explanation_follows_the_cpu(
    monkeypatch: pytest.MonkeyPatch, features: list[str], says: str
) -> None:
    monkeypatch.setattr(explain, "int8_features", lambda: features)
    text = explain.explain_int8(0.9, ROWS, ("m_f32", "m_i8"))
    assert text.startswith("INT8 ÷ float32 is 0.90 here with XNNPACK")
    assert ", ".join(features) in text and says in text
    assert "built-in kernels give 0.70 in the same run" in text


def test_the_gzip_explanation_is_the_models_own_figures() -> None:
    model = {
        "name": "m_i8",
        "gzip_bytes": 1_000_000,
        "params": 2_000_000,
        "zero_weight_fraction": 0.6,
    }
    text = explain.explain_gzip(model)
    assert text.startswith("m_i8: 60% zero weights, gzip leaves 4.0 bits per parameter")
