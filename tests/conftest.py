"""Shared fixtures: the shared data folder, the model zoo, the shipped default model."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `import zoo`

import zoo  # noqa: E402
from zoo import colour_bars  # noqa: E402, F401  (re-exported for the tests)

# The stage names every timing report must carry (JSON, Server-Timing, edge-bench).
STAGES = {"decode", "preprocess", "invoke", "postprocess", "encode", "total"}


def data_root() -> Path:
    """``EDGE_RUNTIME_DATA`` or ``../shared/data`` beside the project root."""
    return Path(os.environ.get("EDGE_RUNTIME_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data() -> Path:
    root = data_root()
    if not (root / "camvid" / "val").is_dir():
        pytest.fail(f"shared data not found at {root}: set EDGE_RUNTIME_DATA to its folder")
    return root


@pytest.fixture(scope="session")
def camvid_val(data: Path) -> list[Path]:
    return sorted((data / "camvid" / "val").glob("*.png"))


@pytest.fixture(scope="session")
def zoo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The zoo, built once per test session (needs the host extra: TensorFlow)."""
    out = tmp_path_factory.mktemp("zoo")
    for name in zoo.ZOO:
        zoo.build(name, out)
    return out


@pytest.fixture(scope="session")
def default_model() -> Path:
    from edge_runtime.defaults import DEFAULT_MODEL_FILE

    path = ROOT / "models" / DEFAULT_MODEL_FILE
    if not path.exists():
        pytest.fail(f"the shipped default model is missing: {path}")
    return path


def expected_bars(height: int, width: int) -> np.ndarray:
    ids = np.zeros((height, width), np.uint8)
    for k in range(4):
        ids[:, k * width // 4 : (k + 1) * width // 4] = k
    return ids


def most_values_per_channel(model: Path) -> dict[str, int]:
    """For each conv kernel of a .tflite: the most distinct integers any output channel holds
    (a clustered model keeps <= clusters + 1 per channel through per-channel INT8 scales)."""
    from edge_runtime.tflite_graph import read_graph

    return {
        tensor.name: max(len(np.unique(c)) for c in values.reshape(values.shape[0], -1))
        for tensor, values in read_graph(model).kernel_tensors()
    }
