"""YAML settings files: a mapping or one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_runtime.errors import SettingsError
from edge_runtime.yaml_files import MAX_CONFIG_BYTES, read_yaml_mapping


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_keys_with_dashes_become_field_names(tmp_path: Path) -> None:
    got = read_yaml_mapping(write(tmp_path, "max-upload-bytes: 5\nthreads: 2\n"))
    assert got == {"max_upload_bytes": 5, "threads": 2}
    assert read_yaml_mapping(write(tmp_path, "# nothing\n")) == {}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("- a\n- b\n", "must be a mapping of settings"),
        ("threads: [1, 2\n", "is not valid YAML"),
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply|not valid YAML"),
    ],
)
def test_bad_files_are_one_line(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(SettingsError, match=says) as exc:
        read_yaml_mapping(write(tmp_path, text))
    assert "\n" not in str(exc.value)


def test_too_big_or_missing(tmp_path: Path) -> None:
    big = write(tmp_path, "a: " + "x" * MAX_CONFIG_BYTES + "\n")
    with pytest.raises(SettingsError, match="a settings file is at most 1,048,576"):
        read_yaml_mapping(big)
    with pytest.raises(SettingsError, match=r"cannot read config .*missing\.yaml"):
        read_yaml_mapping(tmp_path / "missing.yaml")
