"""edge-bench --url against a real daemon on loopback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import zoo
from daemon import start_daemon

from edge_runtime.bench.http_bench import parse_server_timing
from edge_runtime.cli.bench import main


def test_server_timing_parsing() -> None:
    assert parse_server_timing("decode;dur=1.5, invoke;dur=20, bad, x;dur=y") == {
        "decode": 1.5,
        "invoke": 20.0,
    }


def test_http_mode_reports_latency_statuses_and_overhead(
    zoo_dir: Path, camvid_val: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images = tmp_path / "images"
    images.mkdir()
    for p in camvid_val[:3]:
        shutil.copy(p, images / p.name)
    (images / "notes.png").write_text("not an image")  # one bad upload: counted as a 415
    model = zoo.bundle(zoo_dir, tmp_path, "unet_uint8_logits")
    d = start_daemon(tmp_path, "--model", str(model))
    try:
        d.wait("/readyz")
        out = tmp_path / "out"
        code = main(
            [
                "--url",
                d.url,
                "--images",
                str(images),
                "--concurrency",
                "1,3",
                "--duration",
                "1.5",
                "--format",
                "json",
                "--out",
                str(out),
            ]
        )
        assert code == 0
        report = json.loads(capsys.readouterr().out)
    finally:
        assert d.stop() == 0
    assert report["schema"] == "edge-bench-http/1"
    assert [lv["concurrency"] for lv in report["levels"]] == [1, 3]
    for lv in report["levels"]:
        assert lv["statuses"]["200"] > 0 and lv["statuses"]["415"] > 0
        lat = lv["latency_ms"]
        assert lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
        assert set(lv["server_ms"]) >= {"decode", "invoke", "encode", "total"}
        assert 0 < lv["server_ms"]["total"] <= lat["p99"]
        assert lv["http_overhead_ms"] is not None and 0 <= lv["http_overhead_share"] < 1
        assert lv["throughput_rps"] > 0
    assert "| concurrency |" in (out / "http.md").read_text()


def test_http_mode_needs_images(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--url", "http://127.0.0.1:9"]) == 2
    assert "needs --images" in capsys.readouterr().err


def test_http_mode_names_a_missing_image_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--url", "http://127.0.0.1:9", "--images", str(tmp_path / "photos")]) == 2
    err = capsys.readouterr().err
    assert "photos: no such folder" in err and "needs --images" not in err


def test_a_daemon_that_refuses_the_uploads_is_an_error_not_a_report(
    zoo_dir: Path, camvid_val: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(camvid_val[0], images / camvid_val[0].name)
    token_file = tmp_path / "token"
    token_file.write_text("a-token-of-thirty-two-characters-x\n")
    model = zoo.bundle(zoo_dir, tmp_path, "unet_uint8_logits")
    d = start_daemon(tmp_path, "--model", str(model), "--token-file", str(token_file))
    try:
        d.wait("/readyz")
        args = ["--url", d.url, "--images", str(images), "--concurrency", "1", "--duration", "1"]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "refused the first upload: 401" in err and "pass --token" in err
        # With the token: a report, printed for a terminal as blocks within 80 columns.
        assert main([*args, "--token", "a-token-of-thirty-two-characters-x"]) == 0
        out = capsys.readouterr().out
    finally:
        assert d.stop() == 0
    assert "concurrency 1" in out and "200×" in out
    assert max(len(line) for line in out.splitlines()) <= 80, out
