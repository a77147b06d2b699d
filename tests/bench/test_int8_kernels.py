"""bench/int8_kernels.py: every (model, kernel set, threads) case is measured and tabled."""

from __future__ import annotations

from pathlib import Path

from edge_runtime.bench.int8_kernels import KERNELS, measure, ratio_table


def test_every_case_is_measured_and_the_ratio_is_int8_over_float(zoo_dir: Path) -> None:
    f32 = zoo_dir / "unet_float_logits.tflite"
    i8 = zoo_dir / "unet_uint8_logits.tflite"
    rows = measure([f32, i8], threads=[1, 2], runs=3, warmup=1)
    cases = {(r["model"], r["kernels"], r["threads"]) for r in rows}
    assert cases == {(m.stem, k, t) for m in (f32, i8) for k in KERNELS for t in (1, 2)}
    assert all(r["runs"] == 3 and r["p50_ms"] > 0 for r in rows)

    table = ratio_table(rows, [(f32.stem, i8.stem), ("absent_float", "absent_int8")])
    assert len(table) == 2 + len(KERNELS) * 2  # header + one row per kernels x threads
    p50 = {(r["model"], r["kernels"], r["threads"]): r["p50_ms"] for r in rows}
    row = next(line for line in table if "| builtin | 2 |" in line)
    ratio = p50[(i8.stem, "builtin", 2)] / p50[(f32.stem, "builtin", 2)]
    assert row.endswith(f"| {ratio:.2f} |")
