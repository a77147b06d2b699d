"""The settings reference table of ``docs/configuration.md``, generated from the settings
models themselves: the YAML key, the flag, the environment variable, the default and the
description are each declared once, in ``Settings`` (and ``ModelOptions``, ``ZoneSpec``,
``MqttSettings``), and a test keeps the page equal to this output.

``python -m edge_runtime.settings_reference docs/configuration.md`` rewrites the table in
place (between its markers).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def _serve_flags() -> dict[str, str]:
    from edge_runtime.cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    serve = sub.choices["serve"]
    return {a.dest: a.option_strings[-1] for a in serve._actions if a.option_strings}


def _default(field: Any) -> str:
    if field.default is PydanticUndefined:
        if field.default_factory is not None:
            value = field.default_factory()
            return "none" if value in ([], {}, None) else f"`{value}`"
        return "required"
    value = field.default
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int) and value >= 1 << 20 and value % (1 << 20) == 0:
        return f"{value >> 20} MiB"
    if isinstance(value, int) and value >= 1_000_000 and value % 1_000_000 == 0:
        return f"{value // 1_000_000} M"
    return f"`{value}`"


def _rows(model: type[BaseModel], prefix: str, flags: dict[str, str]) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        flag = f"`{flags[name]}`" if not prefix and name in flags else ""
        env = f"`EDGE_RUNTIME_{name.upper()}`" if not prefix else ""
        text = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{key}` | {flag} | {env} | {_default(field)} | {text} |")
    return rows


def reference() -> str:
    """The Markdown table: every setting of ``edge-runtime serve``."""
    from edge_runtime.settings import MqttSettings, Settings
    from edge_runtime.zones import ZoneSpec

    flags = _serve_flags()
    lines = [
        "| YAML key | flag | environment | default | meaning |",
        "|---|---|---|---|---|",
        *_rows(Settings, "", flags),
        *_rows(ZoneSpec, "zones[].", flags),
        *_rows(MqttSettings, "mqtt.", flags),
    ]
    return "\n".join(lines)


def rewrite(page: Path) -> bool:
    """Put the table between the page's markers; True if the page changed."""
    text = page.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{reference()}\n{END}{tail}"
    if new == text:
        return False
    page.write_text(new)
    return True


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    page = Path(args[0] if args else "docs/configuration.md")
    print(f"{page}: {'rewritten' if rewrite(page) else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
