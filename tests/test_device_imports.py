"""The device side must never import TensorFlow (a Pi has LiteRT only)."""

from __future__ import annotations

import subprocess
import sys

DEVICE_MODULES = [
    "edge_runtime.cli.main",
    "edge_runtime.cli.bench",
    "edge_runtime.api.app",
    "edge_runtime.pipeline",
    "edge_runtime.evaluate",
    "edge_runtime.edgetpu_compat",
    "edge_runtime.bench.model_bench",
    "edge_runtime.bench.http_bench",
    "edge_runtime.sources.loop",
    "edge_runtime.sources",
]


def test_device_modules_do_not_import_tensorflow() -> None:
    code = (
        "import sys, importlib\n"
        f"for m in {DEVICE_MODULES!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'tf_keras', 'keras', 'tensorflow_model_optimization', 'cv2', "
        "'picamera2', 'matplotlib'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout.strip()
    assert out == "", f"device modules pulled in: {out}"
