"""``edge-runtime``'s error contract: a problem the user can act on is one line and exit 2;
anything else is a bug, shown with its traceback."""

from __future__ import annotations

import argparse

import pytest

from edge_runtime.cli import doctor
from edge_runtime.cli.main import main
from edge_runtime.errors import EdgeRuntimeError, SettingsError, SourceError, UsageError


@pytest.mark.parametrize("error", [UsageError, SettingsError, SourceError])
def test_a_user_error_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], error: type[Exception]
) -> None:
    def fail(args: argparse.Namespace) -> int:
        raise error("the camera cable is loose")

    monkeypatch.setattr(doctor, "run", fail)
    assert main(["doctor"]) == 2
    assert capsys.readouterr().err == "edge-runtime: error: the camera cable is loose\n"


def test_a_bug_is_not_dressed_as_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(args: argparse.Namespace) -> int:
        return int({"present": 1}["missing"])

    monkeypatch.setattr(doctor, "run", bug)
    with pytest.raises(KeyError):  # Python prints the traceback and exits 1
        main(["doctor"])

    def value_bug(args: argparse.Namespace) -> int:
        raise ValueError("an internal invariant broke")

    monkeypatch.setattr(doctor, "run", value_bug)
    with pytest.raises(ValueError, match="invariant"):
        main(["doctor"])


def test_every_user_facing_error_shares_one_root() -> None:
    from edge_runtime.api.problems import ApiError
    from edge_runtime.settings import SettingsError as FromSettings
    from edge_runtime.sources import SourceError as FromSources

    assert FromSettings is SettingsError and FromSources is SourceError
    for cls in (ApiError, SettingsError, SourceError, UsageError):
        assert issubclass(cls, EdgeRuntimeError)
