"""Staged rebuilds of the shipped configs, run on the committed samples as a new user would."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edge_runtime.host.config import configs_root

pytestmark = pytest.mark.host
SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _leaves() -> list[str]:
    """The configs no other config reads: rebuilding each of them trains every config."""
    from edge_runtime.host.config import ExperimentConfig
    from edge_runtime.host.rebuild import needs

    names = {p.stem for p in configs_root().glob("*.yaml")}
    needed = {
        n for name in names for n in needs(ExperimentConfig.load(configs_root() / f"{name}.yaml"))
    }
    return sorted(names - needed)


LEAVES = _leaves()


def _chosen_by() -> dict[str, str]:
    """Each train + val refit and the train-only run that chose its recipe."""
    from edge_runtime.host.config import ExperimentConfig

    found = {
        p.stem: ExperimentConfig.load(p).train.selected_by for p in configs_root().glob("*.yaml")
    }
    return {name: run for name, run in found.items() if run is not None}


CHOSEN_BY = _chosen_by()


def test_the_trials_cover_every_config() -> None:
    from edge_runtime.host.rebuild import stages

    covered = {s.name for leaf in LEAVES for s in stages(leaf)}
    assert covered == {p.stem for p in configs_root().glob("*.yaml")}
    # The shipped models are among them (models/README.md, the package default).
    shipped = {
        p.stem.removesuffix("_int8") for p in (SAMPLES.parent / "models").glob("*_int8.tflite")
    }
    assert shipped and shipped | {"unet_mnv2_camvid"} <= set(LEAVES), shipped - set(LEAVES)


def test_stages_come_dependencies_first() -> None:
    from edge_runtime.host.rebuild import stages

    # v0.7: the long dense stage and the teacher, then the model. The train-only runs that
    # chose the recipes and the shipped train + val refits read the same two (extends:
    # keeps their references).
    names = [s.name for s in stages("unet_mnv2_camvid_kd")]
    assert names[-1] == "unet_mnv2_camvid_kd"
    assert set(names) == {"unet_mnv2_camvid_s1_long", "unet_mnv2_camvid_teacher", names[-1]}
    for model in ("unet_mnv2_camvid", "unet_mnv2_camvid_fast", "unet_mnv2_camvid_fast_kd"):
        assert [s.name for s in stages(model)] == [*names[:-1], model]
    assert [s.name for s in stages("unet_camvid")] == ["unet_camvid_s60", "unet_camvid"]
    # Under another runs folder, every reference between stages moves with it.
    moved = stages("unet_camvid", Path("elsewhere"))
    assert moved[1].config.train.init_from == Path("elsewhere/unet_camvid_s60/best.keras")
    assert moved[1].run == Path("elsewhere/unet_camvid")


def test_an_unknown_name_lists_the_configs_and_a_cycle_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edge_runtime.host.rebuild import stages

    with pytest.raises(FileNotFoundError, match=r"no config nope\.yaml .*unet_mnv2_camvid"):
        stages("nope")
    base = (configs_root() / "unet_camvid.yaml").read_text()
    for a, b in (("a", "b"), ("b", "a")):
        text = re.sub(r"(?m)^name: .*$", f"name: {a}", base)
        text = re.sub(r"init_from: .*", f"init_from: runs/{b}/best.keras", text)
        (tmp_path / f"{a}.yaml").write_text(text)
    monkeypatch.setenv("EDGE_RUNTIME_CONFIGS", str(tmp_path))
    with pytest.raises(ValueError, match="stages read each other: a -> b -> a"):
        stages("a")


@pytest.fixture
def on_samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder, the committed samples as the data (as in a bare clone)."""
    monkeypatch.setenv("EDGE_RUNTIME_DATA", str(SAMPLES))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def trial_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One working folder for every shipped model's trial: stages two models share (the
    teacher, the dense stage) are trained once, as a user's rebuilds would."""
    return tmp_path_factory.mktemp("trials")


@pytest.mark.slow
@pytest.mark.parametrize("name", LEAVES)
def test_every_config_rebuilds_for_one_epoch_on_the_samples(
    name: str,
    trial_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from edge_runtime.bundle import locate_model
    from edge_runtime.host.cli import main
    from edge_runtime.host.rebuild import stages
    from edge_runtime.pipeline import Pipeline

    monkeypatch.setenv("EDGE_RUNTIME_DATA", str(SAMPLES))
    monkeypatch.chdir(trial_folder)
    assert main(["rebuild", name, "--epochs", "1", "--quiet", "--variants", "int8"]) == 0
    out = capsys.readouterr().out
    runs = Path("runs/trial-1-epochs")
    plan = stages(name, runs)
    for i, stage in enumerate(plan, 1):
        head = f"== stage {i}/{len(plan)} {stage.name}: "
        assert head + "training" in out or head + "finished earlier" in out, out
        assert (stage.run / "final.keras").exists()
    # The model itself is new in every trial, but a refit's trial trains the run that chose
    # it first (its val figures are the refit's honest ones).
    assert f"{plan[-1].name}: training" in out or name in CHOSEN_BY.values()
    bundle = runs / "export" / f"{name}_int8.tflite"
    pipe = Pipeline.open(bundle)
    if name in CHOSEN_BY:
        chosen = locate_model(runs / "export" / f"{CHOSEN_BY[name]}_int8.tflite").manifest
        refit = locate_model(bundle).manifest
        assert chosen is not None and chosen.metrics and refit is not None and refit.metrics
        assert refit.metrics["val"]["seen_in_training"] is True
        assert refit.metrics["train_only"]["mean_iou"] == chosen.metrics["val"]["mean_iou"]
    kind = "coco/val2017" if "coco" in name else "camvid/val"
    image = sorted((SAMPLES / kind).iterdir())[0]
    seg = pipe.segment(image.read_bytes())
    assert seg.label_map.max() < len(pipe.spec.labels)
    assert not Path("models").exists()  # a trial never touches the shipped models
    # Run again: every stage is finished, none is trained twice.
    assert main(["rebuild", name, "--epochs", "1", "--quiet", "--variants", "int8"]) == 0
    again = capsys.readouterr().out
    assert again.count("finished earlier") == len(plan) and "training" not in again


def test_a_missing_stage_input_names_the_command_that_makes_it(
    on_samples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from edge_runtime.host.cli import main

    config = configs_root() / "unet_mnv2_camvid.yaml"
    assert main(["train", str(config), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "runs/unet_mnv2_camvid_s1_long/best.keras" in err
    assert "edge-host rebuild unet_mnv2_camvid_s1_long" in err
    assert not Path("runs/unet_mnv2_camvid").exists()  # nothing half-written left behind


def test_export_refuses_an_unfinished_run(
    on_samples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from edge_runtime.host.cli import main

    run = Path("runs/unet_camvid_s60")
    run.mkdir(parents=True)
    (run / "best.keras").write_bytes(b"")  # an interrupted run's best so far
    assert main(["export", str(configs_root() / "unet_camvid_s60.yaml")]) == 2
    assert "unfinished run: resume it with `edge-host train" in capsys.readouterr().err


def test_a_finished_stage_stays_finished_when_a_setting_is_added_later(tmp_path: Path) -> None:
    """A run recorded before a config setting existed is the same run when the new setting
    keeps its default; any recorded value that differs makes it another config's run."""
    import yaml

    from edge_runtime.host.rebuild import finished, stages

    stage = stages("unet_mnv2_camvid_s1_long", tmp_path)[-1]
    stage.run.mkdir(parents=True)
    (stage.run / "final.keras").touch()
    recorded = stage.config.model_dump(mode="json")
    del recorded["train"]["selected_by"]  # a setting this run's code did not have yet
    (stage.run / "config.yaml").write_text(yaml.safe_dump(recorded))
    assert finished(stage)
    recorded["train"]["epochs"] += 1
    (stage.run / "config.yaml").write_text(yaml.safe_dump(recorded))
    assert not finished(stage)
    (stage.run / "config.yaml").write_text("train: {epochz: 3}\n")  # not a config at all
    assert not finished(stage)
