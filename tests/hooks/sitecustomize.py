"""Loaded by a daemon subprocess whose PYTHONPATH includes this folder (tests only).

``EDGE_TEST_INVOKE_GATE=FIFO``: every invoke first reads the named pipe, so it blocks until
the test writes to it: a stuck inference that lasts exactly as long as the test wants,
whatever the CPU's speed. Writing ``once`` releases one invoke, ``all`` every later one.
"""

from __future__ import annotations

import os

_GATE = os.environ.get("EDGE_TEST_INVOKE_GATE")

if _GATE:
    from pathlib import Path
    from typing import Any

    from edge_runtime import litert

    _make = litert.make_interpreter
    _state = {"released": False}

    class _Gated:
        def __init__(self, interpreter: Any, gate: str):
            self._interpreter, self._gate = interpreter, gate

        def invoke(self) -> None:
            if not _state["released"]:
                with Path(self._gate).open("rb") as pipe:  # blocks until a writer opens it
                    _state["released"] = pipe.read() == b"all"
            self._interpreter.invoke()

        def __getattr__(self, name: str) -> Any:
            return getattr(self._interpreter, name)

    def _gated(*args: Any, **kwargs: Any) -> Any:
        assert _GATE is not None
        return _Gated(_make(*args, **kwargs), _GATE)

    litert.make_interpreter = _gated  # type: ignore[assignment]
