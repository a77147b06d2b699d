"""Reading a YAML settings or training-config file: bounded, and every problem in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from edge_runtime.errors import SettingsError

MAX_CONFIG_BYTES = 1 << 20


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """A YAML file that must hold a mapping (or nothing); ``SettingsError`` otherwise,
    in one line, whatever is wrong with it (too big, too deeply nested, not YAML)."""
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise SettingsError(
                f"config {path} is {size:,} bytes; a settings file is at most {MAX_CONFIG_BYTES:,}"
            )
        loaded = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise SettingsError(f"cannot read config {path}: {exc.strerror}") from exc
    except RecursionError as exc:
        raise SettingsError(f"config {path} is nested too deeply") from exc
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()
        raise SettingsError(f"config {path} is not valid YAML: {' '.join(first[:4])}") from exc
    if loaded is not None and not isinstance(loaded, dict):
        raise SettingsError(f"config {path} must be a mapping of settings")
    return {str(k).replace("-", "_"): v for k, v in (loaded or {}).items()}
