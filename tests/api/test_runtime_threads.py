"""Default interpreter threads: every usable core for uploads alone, one fewer with a
camera source (the capture thread needs one; measured in the model_options docstring)."""

from __future__ import annotations

import pytest

from edge_runtime.api import runtime
from edge_runtime.settings import Settings


@pytest.mark.parametrize(
    ("cores", "source", "threads", "expected"),
    [
        (4, None, None, None),  # the engine's own default: all 4 usable cores
        (4, "synthetic", None, 3),
        (2, "synthetic", None, 1),
        (1, "synthetic", None, 1),
        (4, "synthetic", 4, 4),  # what the user set wins
    ],
)
def test_a_camera_leaves_a_core_for_capture(
    monkeypatch: pytest.MonkeyPatch,
    cores: int,
    source: str | None,
    threads: int | None,
    expected: int | None,
) -> None:
    monkeypatch.setattr(runtime, "usable_cores", lambda: cores)
    settings = Settings.load(source=source, threads=threads)
    assert runtime.model_options(settings).threads == expected
