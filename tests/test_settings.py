from __future__ import annotations

from pathlib import Path

import pytest

from edge_runtime.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parent.parent


def test_defaults() -> None:
    s = Settings.load()
    assert (s.host, s.port, s.source, s.model) == ("127.0.0.1", 8080, None, None)


def test_file_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("port: 9001\nthreads: 2\nsource: synthetic\nmean: [1, 2, 3]\n")
    assert Settings.load(config).port == 9001
    monkeypatch.setenv("EDGE_RUNTIME_PORT", "9002")
    s = Settings.load(config)
    assert (s.port, s.threads, s.source, s.mean) == (9002, 2, "synthetic", (1.0, 2.0, 3.0))
    assert Settings.load(config, port=9003, threads=None).port == 9003  # flags win
    assert Settings.load(config, port=9003, threads=None).threads == 2  # unset flag: file


def test_errors_name_the_setting_and_its_origin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("overlay_alpha: 2\nbogus: 1\n")
    with pytest.raises(SettingsError) as info:
        Settings.load(config)
    assert "overlay_alpha (config file)" in str(info.value)
    assert "bogus (config file)" in str(info.value)
    config.write_text("treads: 2\nmqtt: {host: h, prot: 1883}\n")
    with pytest.raises(SettingsError) as info:
        Settings.load(config)
    assert "treads (config file): Extra inputs are not permitted (did you mean 'threads'?)" in str(
        info.value
    )
    assert "mqtt.prot (config file): Extra inputs are not permitted (did you mean 'port'?)" in str(
        info.value
    )
    monkeypatch.setenv("EDGE_RUNTIME_PORT", "eighty")
    with pytest.raises(SettingsError, match=r"port \(EDGE_RUNTIME_PORT\)"):
        Settings.load()
    with pytest.raises(SettingsError, match=r"threads \(flag\)"):
        Settings.load(threads=0)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read config"):
        Settings.load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("port: [1, 2\n")
    with pytest.raises(SettingsError, match="not valid YAML"):
        Settings.load(bad)
    bad.write_text("- a list\n")
    with pytest.raises(SettingsError, match="must be a mapping"):
        Settings.load(bad)


def test_the_shipped_example_config_is_valid() -> None:
    s = Settings.load(ROOT / "systemd" / "edge-runtime.yaml")
    assert s.source == "picamera2" and s.delegate == "auto" and s.port == 8080


def test_nested_value_errors_name_where_the_setting_came_from(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("mean: [127.5, 127.5]\n")  # one channel short
    with pytest.raises(SettingsError, match=r"mean\.2 \(config file\)"):
        Settings.load(config)
    with pytest.raises(SettingsError, match=r"std\.2 \(flag\)"):
        Settings.load(std=[1.0, 2.0])


def test_delegate_from_yaml_and_environment_is_not_overridden_by_the_flag_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edge_runtime.cli.main import build_parser

    args = build_parser().parse_args(["serve"])  # no --delegate typed
    flags = {name: getattr(args, name) for name in Settings.model_fields if hasattr(args, name)}
    config = tmp_path / "c.yaml"
    config.write_text("delegate: cpu\n")
    assert Settings.load(config, **flags).delegate == "cpu"
    monkeypatch.setenv("EDGE_RUNTIME_DELEGATE", "edgetpu")
    assert Settings.load(None, **flags).delegate == "edgetpu"


def test_a_blank_or_spaced_token_is_refused() -> None:
    with pytest.raises(SettingsError, match="at least 16 characters, with no spaces"):
        Settings.load(token=" " * 16)
    with pytest.raises(SettingsError, match="with no spaces"):
        Settings.load(token="abcdefgh ijklmnop")
    assert Settings.load(token="  " + "k" * 16 + "\n").token.get_secret_value() == "k" * 16  # type: ignore[union-attr]


# Per model option: (YAML value, EDGE_RUNTIME_* value, flag argv, what each gives).
OPTION_SOURCES = {
    "model": (
        "a.tflite",
        "b.tflite",
        ["--model", "c.tflite"],
        (Path("a.tflite"), Path("b.tflite"), Path("c.tflite")),
    ),
    "threads": (1, "2", ["--threads", "3"], (1, 2, 3)),
    "delegate": ("cpu", "edgetpu", ["--delegate", "auto"], ("cpu", "edgetpu", "auto")),
    "edgetpu_device": ("usb", "pci", ["--edgetpu-device", "usb:1"], ("usb", "pci", "usb:1")),
    "cpu_fallback": (
        "a.tflite",
        "b.tflite",
        ["--cpu-fallback", "c.tflite"],
        (Path("a.tflite"), Path("b.tflite"), Path("c.tflite")),
    ),
    "labels": (
        "a.txt",
        "b.txt",
        ["--labels", "c.txt"],
        (Path("a.txt"), Path("b.txt"), Path("c.txt")),
    ),
    "mean": ([1, 1, 1], "[2, 2, 2]", ["--mean", "3"], ((1.0,) * 3, (2.0,) * 3, (3.0,) * 3)),
    "std": ([1, 2, 3], "4", ["--std", "5,6,7"], ((1.0, 2.0, 3.0), (4.0,) * 3, (5.0, 6.0, 7.0))),
    "resize": (
        "stretch",
        "letterbox",
        ["--resize", "stretch"],
        ("stretch", "letterbox", "stretch"),
    ),
}


def test_every_model_option_has_its_sources() -> None:
    from edge_runtime.options import ModelOptions

    assert set(OPTION_SOURCES) == set(ModelOptions.model_fields)


@pytest.mark.parametrize("command", ["segment", "serve"])
@pytest.mark.parametrize("option", sorted(OPTION_SOURCES))
def test_flags_beat_environment_beats_yaml_for_every_model_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, option: str
) -> None:
    import yaml

    from edge_runtime.cli.common import model_options
    from edge_runtime.cli.main import build_parser
    from edge_runtime.cli.serve import load_settings

    from_yaml, from_env, flag, (want_yaml, want_env, want_flag) = OPTION_SOURCES[option]
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({option: from_yaml}))
    argv = ["segment", "x.jpg"] if command == "segment" else ["serve", "--config", str(config)]

    def resolved(*extra: str) -> object:
        args = build_parser().parse_args([*argv, *extra])
        if command == "segment":
            return getattr(model_options(args, config), option)
        return getattr(load_settings(args).only_model_options(), option)

    assert resolved() == want_yaml
    monkeypatch.setenv(f"EDGE_RUNTIME_{option.upper()}", from_env)
    assert resolved() == want_env
    assert resolved(*flag) == want_flag


def test_options_reach_the_engine_and_the_spec(
    zoo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edge_runtime.cli.common import open_pipeline
    from edge_runtime.cli.main import build_parser

    monkeypatch.setenv("EDGE_RUNTIME_MODEL", str(zoo_dir / "unet_float_logits.tflite"))
    monkeypatch.setenv("EDGE_RUNTIME_THREADS", "1")
    monkeypatch.setenv("EDGE_RUNTIME_MEAN", "10")
    args = build_parser().parse_args(["segment", "x.jpg", "--std", "20", "--resize", "letterbox"])
    pipe = open_pipeline(args)
    assert pipe.engine.delegate.num_threads == 1
    assert pipe.spec.input.mean == (10.0,) * 3 and pipe.spec.input.std == (20.0,) * 3
    assert pipe.spec.input.resize == "letterbox"
