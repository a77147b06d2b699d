"""Secret files: stripped, and a missing or empty one named in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_runtime.errors import SettingsError
from edge_runtime.secrets import read_secret


def test_surrounding_whitespace_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("  abc def\n\n")
    assert read_secret(tmp_path / "token", "token_file") == "abc def"


def test_missing_and_empty_files_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"cannot read token_file .*nope: No such file"):
        read_secret(tmp_path / "nope", "token_file")
    (tmp_path / "empty").write_text(" \n")
    with pytest.raises(SettingsError, match=r"mqtt.password_file .*empty is empty"):
        read_secret(tmp_path / "empty", "mqtt.password_file")
