from __future__ import annotations

from pathlib import Path

import pytest

from edge_runtime.errors import SettingsError
from edge_runtime.host.config import ExperimentConfig, PruningConfig
from edge_runtime.host.datasets import split_pairs

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "models" / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_shipped_configs_are_valid(path: Path) -> None:
    cfg = ExperimentConfig.load(path)
    assert cfg.name == path.stem
    assert len(cfg.data.palette) == len(cfg.data.labels)
    if cfg.pruning.enabled and cfg.pruning.layers:  # per-layer: the size-weighted mean
        from edge_runtime.host.builders import build_model
        from edge_runtime.host.weight_pruning import planned_sparsity

        assert planned_sparsity(build_model(cfg), cfg) >= 0.6
    elif cfg.pruning.enabled:
        assert cfg.pruning.final_sparsity >= 0.6
    elif cfg.clustering.enabled:  # a clustering stage starts from a shipped pruned run
        assert cfg.train.init_from is not None
        stage1 = cfg.train.init_from.parent.name
        assert ExperimentConfig.load(path.with_name(f"{stage1}.yaml")).pruning.enabled
    elif cfg.channel_pruning.enabled:  # structured: fewer channels instead of zeros
        assert cfg.train.init_from is not None
        assert cfg.channel_pruning.target_gmacs is not None or cfg.channel_pruning.keep < 1
    else:  # a dense stage: a teacher some stage learns from, or a stage that prunes it
        assert cfg.train.init_from is None
        used = [ExperimentConfig.load(c) for c in CONFIGS]
        run = Path("runs", cfg.name, "best.keras")
        teaches = [c for c in used if c.distillation.teacher == run]
        pruned_by = [
            c
            for c in used
            if c.train.init_from == run and (c.pruning.enabled or c.channel_pruning.enabled)
        ]
        assert teaches or pruned_by, f"{cfg.name}: no stage prunes or learns from it"


def test_coco_config_encodes_its_masks_on_first_use(data: Path, tmp_path: Path) -> None:
    cfg = ExperimentConfig.load(ROOT / "models/configs/unet_coco.yaml")
    d = cfg.data.model_copy(
        update={
            "cache_dir": tmp_path / "masks",
            "val_images": data / "coco/val2017",
            "val_annotations": data / "coco/annotations/instances_val2017.json",
        }
    )
    pairs = split_pairs(d, "val")
    assert len(pairs) == len(list((data / "coco/val2017").glob("*.jpg")))
    assert all(m.parent == tmp_path / "masks" / "val" for _, m in pairs)


REFITS = [c for c in CONFIGS if ExperimentConfig.load(c).train.include_val]


@pytest.mark.parametrize("path", REFITS, ids=[c.stem for c in REFITS])
def test_a_refit_is_its_train_only_runs_recipe_on_more_data(path: Path) -> None:
    """A shipped train + val fit changes nothing of the recipe val chose but the data."""
    cfg = ExperimentConfig.load(path)
    assert cfg.train.selected_by is not None
    chosen = ExperimentConfig.load(path.with_name(f"{cfg.train.selected_by}.yaml"))
    assert not chosen.train.include_val

    def recipe(c: ExperimentConfig) -> dict:
        d = c.model_dump(mode="json", exclude={"name", "description"})
        for key in ("include_val", "selected_by"):
            d["train"].pop(key)
        return d

    assert recipe(cfg) == recipe(chosen)


CAMVID = (
    "name: x\ndata: {name: d, train_images: a, train_masks: b, val_images: c,"
    " val_masks: d, labels: [a], palette: [[0, 0, 0]]}\n"
)
# (config text, the message it must be refused with)
BAD_CONFIGS = [
    (
        "name: x\ndata: {name: d, kind: coco, train_images: a, val_images: b,"
        " labels: [a], palette: [[0, 0, 0]]}\n",
        "needs train_annotations, val_annotations",
    ),
    (
        CAMVID + "clustering: {enabled: true}\ntrain: {init_from: r/best.keras}\n",
        r"set pruning\.enabled: false",
    ),
    (
        CAMVID + "clustering: {enabled: true}\npruning: {enabled: false}\n",
        r"clustering needs train\.init_from",
    ),
    (CAMVID + "clustering: {enabled: true, clusters: 1}\n", "clusters"),
    (CAMVID + "model: {pretrained: w.tflite}\n", "pretrained needs backbone: mobilenet_v2"),
    (CAMVID + "train: {freeze_encoder_epochs: 2}\n", "needs a pretrained backbone"),
    (
        CAMVID + "model: {backbone: mobilenet_v2}\ntrain: {epochs: 2, freeze_encoder_epochs: 2}\n",
        r"fewer than train\.epochs",
    ),
    (
        CAMVID + "model: {backbone: mobilenet_v2}\n"
        "train: {epochs: 9, freeze_encoder_epochs: 2, stop_after: 2}\n",
        r"train\.stop_after must be after the frozen-encoder epochs .*\(2 < stop_after <= 9\)",
    ),
    (CAMVID + "train: {epochs: 3, stop_after: 4}\n", r"\(0 < stop_after <= 3\)"),
    (
        CAMVID + "model: {decoder_filters: [64, 32, 16]}\n",
        "upsampling transpose needs 4 decoder_filters",
    ),
    (
        CAMVID + "model: {upsampling: bilinear, output_stride: 4}\n",
        r"model: output_stride must be 1, 2 or 4 and at most the last level's stride \(2\)",
    ),
    (CAMVID + "model: {upsampling: bilinear, output_stride: 3}\n", "output_stride"),
    (
        CAMVID + "pruning: {layers: [{match: 'conv_(1', final_sparsity: 0.9}]}\n",
        r"(?s)pruning\.layers\.0\.match.*not a regular expression",
    ),
    (CAMVID + "pruning: {layers: [{match: up, final_sparsity: 1.0}]}\n", "final_sparsity"),
    (CAMVID + "train: {epoch: 3}\n", r"train\.epoch: unknown key \(did you mean 'epochs'\?\)"),
    (CAMVID + "channel_pruning: {enabled: true}\n", r"channel_pruning .* set train\.init_from"),
    (CAMVID + "channel_pruning: {keep: 0}\n", r"channel_pruning\.keep"),
    (
        CAMVID + "channel_pruning: {layers: [{match: '(', keep: 0.5}]}\n",
        r"channel_pruning\.layers\.0\.match: not a regular expression",
    ),
    (CAMVID + "distillation: {teacher: t.keras, weight: 1.5}\n", r"distillation\.weight"),
    (
        CAMVID + "train: {selected_by: x_kd}\n",
        r"train\.selected_by names the train-only run .* set train\.include_val: true",
    ),
    (CAMVID + "extends: nowhere.yaml\n", "extends nowhere.yaml, which does not exist"),
    (CAMVID + "extends: bad.yaml\n", "extends bad.yaml makes a cycle"),
]


@pytest.mark.parametrize(("text", "message"), BAD_CONFIGS)
def test_config_errors_are_specific(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(ValueError, match=message):
        ExperimentConfig.load(bad)


def test_invalid_yaml_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(SettingsError, match="not valid YAML"):
        ExperimentConfig.load(bad)


@pytest.mark.parametrize(
    ("total", "frequency", "power"), [(728, 100, 3), (1800, 100, 3), (260, 50, 1), (90, 7, 2)]
)
def test_fractional_pruning_steps_reach_the_final_sparsity(
    total: int, frequency: int, power: float
) -> None:
    from edge_runtime.host.tf_compat import tfmot

    pruning = PruningConfig(final_sparsity=0.6, frequency=frequency, power=power)
    begin, end = pruning.steps(total)
    assert 0 < begin < end <= int(total * pruning.end_fraction)
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.0,
        final_sparsity=0.6,
        begin_step=begin,
        end_step=end,
        frequency=frequency,
        power=pruning.power,
    )
    pruned_at = [float(schedule(step)[1]) for step in range(total) if bool(schedule(step)[0])]
    assert pruned_at[-1] == pytest.approx(0.6)
    assert pruned_at == sorted(pruned_at)


def test_extends_merges_mappings_and_replaces_the_rest(tmp_path: Path) -> None:
    base = ROOT / "models/configs/unet_mnv2_camvid.yaml"
    child = tmp_path / "child.yaml"
    child.write_text(
        f"extends: {base}\nname: child\ntrain: {{include_val: true, epochs: 3}}\n"
        "pruning: {layers: []}\n"
    )
    parent, cfg = ExperimentConfig.load(base), ExperimentConfig.load(child)
    assert cfg.name == "child" and cfg.train.include_val and cfg.train.epochs == 3
    # Keys the child does not name come from the parent, at every depth.
    assert cfg.train.learning_rate == parent.train.learning_rate
    assert cfg.train.init_from == parent.train.init_from
    assert cfg.data == parent.data and cfg.model == parent.model
    assert cfg.pruning.layers == () and cfg.pruning.final_sparsity == parent.pruning.final_sparsity
