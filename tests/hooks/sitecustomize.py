"""Loaded by a daemon subprocess whose PYTHONPATH includes this folder (tests only).

``EDGE_TEST_INVOKE_GATE=FIFO``: every invoke first reads the named pipe, so it blocks until
the test writes to it: a stuck inference that lasts exactly as long as the test wants,
whatever the CPU's speed. Writing ``once`` releases one invoke, ``all`` every later one.

``EDGE_TEST_LOAD_GATE=FIFO``: building the first interpreter (loading the model, before the
server starts) waits until the test writes to that pipe: the daemon's start-up, held.

``EDGE_TEST_CONTOUR_GATE=FIFO``: every polygon tracing (``contours=true``) waits on that
pipe: an upload held in its contour step.
"""

from __future__ import annotations

import os

_GATE = os.environ.get("EDGE_TEST_INVOKE_GATE")
_LOAD_GATE = os.environ.get("EDGE_TEST_LOAD_GATE")

if _LOAD_GATE:
    from pathlib import Path as _Path
    from typing import Any as _Any

    from edge_runtime import litert as _litert

    _make_first = _litert.make_interpreter

    def _held(*args: _Any, **kwargs: _Any) -> _Any:
        assert _LOAD_GATE is not None
        with _Path(_LOAD_GATE).open("rb") as pipe:
            pipe.read()
        _litert.make_interpreter = _make_first  # only the first load waits
        return _make_first(*args, **kwargs)

    _litert.make_interpreter = _held

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

    litert.make_interpreter = _gated

_CONTOUR_GATE = os.environ.get("EDGE_TEST_CONTOUR_GATE")

if _CONTOUR_GATE:
    from pathlib import Path as _CPath
    from typing import Any as _CAny

    from edge_runtime import contours as _contours

    _trace = _contours.class_polygons

    def _held_trace(*args: _CAny, **kwargs: _CAny) -> _CAny:
        assert _CONTOUR_GATE is not None
        with _CPath(_CONTOUR_GATE).open("rb") as pipe:  # blocks until the test writes
            pipe.read()
        return _trace(*args, **kwargs)

    _contours.class_polygons = _held_trace
