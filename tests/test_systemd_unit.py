"""The shipped unit: the directives the daemon relies on, and its security exposure."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "edge-runtime.service"


def directives() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_unit_has_what_the_daemon_needs() -> None:
    d = directives()
    assert d["Type"] == ["notify"] and d["NotifyAccess"] == ["main"]
    assert d["Restart"] == ["on-failure"] and int(d["WatchdogSec"][0]) > 0
    assert d["DynamicUser"] == ["yes"] and d["NoNewPrivileges"] == ["yes"]
    assert d["ProtectSystem"] == ["strict"] and d["MemoryMax"]
    allowed = " ".join(d["DeviceAllow"])
    for device in ("video4linux", "dma_heap", "apex", "usb"):
        assert device in allowed
    assert "serve --config /etc/edge-runtime/edge-runtime.yaml" in d["ExecStart"][0]


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze missing (scripts/test.sh installs Debian's systemd)",
)
def test_security_exposure_is_at_most_2_5() -> None:
    out = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    match = re.search(r"Overall exposure level for edge-runtime.service: ([0-9.]+)", out)
    assert match, out[-500:]
    assert float(match.group(1)) <= 2.5
