"""Fixtures for daemon tests (the helpers live in tests/daemon.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import zoo
from daemon import Daemon, start_daemon


@pytest.fixture(scope="module")
def bars_model(zoo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return zoo.bundle(zoo_dir, tmp_path_factory.mktemp("bundle"), "unet_uint8_logits")


@pytest.fixture(scope="module")
def daemon(bars_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """Uploads only, small limits so the 413 paths are cheap to reach."""
    d = start_daemon(
        tmp_path_factory.mktemp("daemon"),
        "--model",
        str(bars_model),
        env={"EDGE_RUNTIME_MAX_UPLOAD_BYTES": "300000"},
    )
    d.wait("/readyz")
    yield d
    assert d.stop() == 0


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[Path, socket.socket]]:
    """A datagram socket standing in for systemd's $NOTIFY_SOCKET."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    yield path, sock
    sock.close()
