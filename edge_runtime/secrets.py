"""Secrets kept in files (tokens, broker passwords): read once, never logged."""

from __future__ import annotations

from pathlib import Path

from edge_runtime.errors import SettingsError


def read_secret(path: Path, setting: str) -> str:
    """The file's text without surrounding whitespace; ``SettingsError`` naming the
    setting when the file cannot be read or is empty."""
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise SettingsError(f"cannot read {setting} {path}: {exc.strerror}") from exc
    if not text:
        raise SettingsError(f"{setting} {path} is empty")
    return text
