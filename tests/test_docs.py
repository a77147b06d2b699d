"""The README and docs/ stay true: no dead links, and every documented command line names a
command and flags that exist (each checked against that command's own ``--help``)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", ROOT / "models/README.md", *(ROOT / "docs").glob("*.md")])
PROGRAMS = {
    "edge-runtime": "edge_runtime.cli.main",
    "edge-bench": "edge_runtime.cli.bench",
    "edge-host": "edge_runtime.host.cli",
}
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def test_the_readme_is_a_front_door() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250
    assert len(list((ROOT / "docs").glob("*.md"))) >= 8


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_relative_links_resolve(page: Path) -> None:
    for target in LINK.findall(page.read_text()):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{_id(page)} links to {target}, which does not exist"


def command_lines(text: str) -> list[list[str]]:
    """The ``edge-runtime`` / ``edge-bench`` / ``edge-host`` invocations in the page's
    code blocks (continuations joined, comments dropped), as argument lists."""
    found = []
    for block in _shell_blocks(text):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            for part in re.split(r"&&|\|\||;|\|", line.split(" #")[0]):
                words = part.strip().split()
                while words and ("=" in words[0] or words[0] in ("sudo", "exec")):
                    words = words[1:]  # VAR=value prefixes
                if not words:
                    continue
                program = words[0].removeprefix(".venv/bin/").rsplit("/", 1)[-1]
                if program in PROGRAMS:
                    try:
                        found.append([program, *shlex.split(" ".join(words[1:]))])
                    except ValueError:
                        found.append([program, *words[1:]])
    return found


def _shell_blocks(text: str) -> list[str]:
    """The bodies of the fenced blocks tagged bash/sh/console or untagged."""
    blocks: list[str] = []
    current: list[str] = []
    lang: str | None = None
    for line in text.splitlines():
        if line.startswith("```"):
            if lang is None:
                lang = line[3:].strip() or "sh"
                current = []
            else:
                if lang in ("bash", "sh", "console"):
                    blocks.append("\n".join(current))
                lang = None
        elif lang is not None:
            current.append(line)
    return blocks


@cache
def help_text(program: str, sub: str | None) -> str:
    args = [sys.executable, "-m", PROGRAMS[program], *([sub] if sub else []), "--help"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"{' '.join(args[2:])}: {proc.stderr}"
    return proc.stdout


def _subcommands(program: str) -> set[str]:
    top = help_text(program, None)
    return set(re.findall(r"^    ([a-z][a-z0-9-]+)\s", top, re.M)) | set(
        re.findall(r"\{([a-z0-9,-]+)\}", top)[0].split(",") if "{" in top else []
    )


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_documented_commands_and_flags_exist(page: Path) -> None:
    for words in command_lines(page.read_text()):
        program, rest = words[0], words[1:]
        sub = None
        if program != "edge-bench" and rest and not rest[0].startswith("-"):
            sub = rest[0]
            assert sub in _subcommands(program), f"{_id(page)}: {program} has no command {sub}"
        text = help_text(program, sub)
        for flag in (w.split("=")[0] for w in rest if w.startswith("--")):
            assert re.search(rf"(^|[\s,\[]){re.escape(flag)}\b", text), (
                f"{_id(page)}: `{' '.join(words)}` uses {flag}, which "
                f"`{program} {sub or ''} --help` does not list"
            )


def test_the_settings_table_is_generated_from_the_settings() -> None:
    from edge_runtime.settings import Settings
    from edge_runtime.settings_reference import END, START, reference

    page = (ROOT / "docs/configuration.md").read_text()
    table = page.split(START, 1)[1].split(END, 1)[0].strip()
    assert table == reference(), "run: python -m edge_runtime.settings_reference"
    for name in Settings.model_fields:
        assert f"| `{name}` |" in table
