"""Shared fixtures: the shared data folder, the model zoo, the shipped default model."""

from __future__ import annotations

from pathlib import Path

import pytest
import zoo

from edge_runtime.defaults import data_root, describe_data

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"  # the tests run from a checkout


def pytest_report_header() -> str:
    return describe_data(data_root())


@pytest.fixture(scope="session")
def data() -> Path:
    """The full data when it is there, else the repository's samples (never a skip)."""
    root = data_root()
    if not (root / "camvid" / "val").is_dir():
        pytest.fail(f"no CamVid frames under {root}: EDGE_RUNTIME_DATA must name a data folder")
    return root


@pytest.fixture(scope="session")
def full_data(data: Path) -> bool:
    """Whether the tests run on the whole data sets (what CI has) or on the samples."""
    return data.resolve() != SAMPLES


@pytest.fixture(scope="session")
def camvid_val(data: Path) -> list[Path]:
    return sorted((data / "camvid" / "val").glob("*.png"))


@pytest.fixture(scope="session")
def zoo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the committed zoo (tests/fixtures/zoo; no TensorFlow needed), in a
    temporary folder so that no test writes beside the committed files."""
    import shutil

    out = tmp_path_factory.mktemp("zoo")
    for name in zoo.ZOO:
        source = zoo.FIXTURES / f"{name}.tflite"
        if not source.is_file():
            pytest.fail(f"missing zoo fixture {source}: python tests/zoo.py rebuilds them")
        shutil.copy(source, out / source.name)
    return out


@pytest.fixture(scope="session")
def default_model() -> Path:
    from edge_runtime.defaults import DEFAULT_MODEL_FILE, PACKAGE_MODELS

    path = PACKAGE_MODELS / DEFAULT_MODEL_FILE
    if not path.exists():
        pytest.fail(f"the shipped default model is missing: {path}")
    return path
