"""Staged rebuilds: every training stage a shipped model needs, in order, resumable.

A stage is a config in ``configs_root()``; it depends on the stages whose run folders it
reads (``train.init_from`` or ``distillation.teacher`` of the form ``runs/NAME/...``).
``rebuild(NAME)`` trains the stages that are not finished (resuming an interrupted one),
skips the finished ones and exports the last.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from edge_runtime.host.config import ExperimentConfig, configs_root, shipped_config

RUNS = Path("runs")


@dataclass(frozen=True)
class Stage:
    name: str
    config: ExperimentConfig
    run: Path


def needs(cfg: ExperimentConfig) -> list[str]:
    """The stages a config reads (``runs/NAME/...`` in ``init_from`` or the teacher)."""
    found = []
    for path in (cfg.train.init_from, cfg.distillation.teacher):
        if path is not None and len(path.parts) >= 3 and path.parts[0] == RUNS.name:
            found.append(path.parts[1])
    return found


def _moved(cfg: ExperimentConfig, runs: Path) -> ExperimentConfig:
    """The config with its ``runs/...`` references under ``runs`` instead."""
    if runs == RUNS:
        return cfg

    def move(path: Path | None) -> Path | None:
        if path is None or not path.parts or path.parts[0] != RUNS.name:
            return path
        return runs.joinpath(*path.parts[1:])

    return cfg.model_copy(
        update={
            "train": cfg.train.model_copy(update={"init_from": move(cfg.train.init_from)}),
            "distillation": cfg.distillation.model_copy(
                update={"teacher": move(cfg.distillation.teacher)}
            ),
        }
    )


def stages(name: str, runs: Path = RUNS) -> list[Stage]:
    """The stages ``name`` needs, dependencies first, ``name`` last.

    Raises ``FileNotFoundError`` for a name (or a stage it reads) without a shipped config
    and ``ValueError`` for a cycle."""
    order: list[Stage] = []
    visiting: list[str] = []

    def visit(stage: str) -> None:
        if any(s.name == stage for s in order):
            return
        if stage in visiting:
            raise ValueError(f"stages read each other: {' -> '.join([*visiting, stage])}")
        path = shipped_config(stage)
        if path is None:
            known = ", ".join(sorted(p.stem for p in configs_root().glob("*.yaml")))
            raise FileNotFoundError(f"no config {stage}.yaml in {configs_root()} ({known})")
        cfg = ExperimentConfig.load(path)
        visiting.append(stage)
        for need in needs(cfg):
            visit(need)
        visiting.pop()
        order.append(Stage(stage, _moved(cfg, runs), runs / stage))

    visit(name)
    return order


def finished(stage: Stage, max_epochs: int | None = None) -> bool:
    """A run that ended (``final.keras``) with this very config (capped to ``max_epochs``
    as ``train`` caps it); an interrupted run, or one of another config, is not."""
    from edge_runtime.host.train import capped

    saved = stage.run / "config.yaml"
    if not (stage.run / "final.keras").exists() or not saved.exists():
        return False
    cfg = stage.config if max_epochs is None else capped(stage.config, max_epochs)
    try:  # read as today's schema: a setting added since takes its default on both sides
        ran = ExperimentConfig.model_validate(yaml.safe_load(saved.read_text()))
    except ValidationError:
        return False
    return ran.model_dump(mode="json") == cfg.model_dump(mode="json")


def rebuild(
    name: str,
    *,
    runs: Path = RUNS,
    out: Path | None = None,
    max_epochs: int | None = None,
    verbose: int = 0,
    variants: Sequence[str] = ("float32", "dynamic", "int8"),
) -> list[Path]:
    """Train every unfinished stage of ``name`` in order, then export ``name``'s bundles
    into ``out`` (each evaluated on val through the device pipeline); returns them.

    A train + val refit (``train.selected_by``) is rebuilt after the train-only run that
    chose its recipe, when that run's bundles are not in ``out`` yet: its val figures are
    the refit's honest ones (``metrics.train_only``). Its bundles are returned first."""
    from edge_runtime.host.builders import load_model
    from edge_runtime.host.export import copy_training_record, export_bundles
    from edge_runtime.host.train import train

    plan = stages(name, runs)
    chosen_by = plan[-1].config.train.selected_by
    written: list[Path] = []
    if (
        out is not None
        and chosen_by is not None
        and not all((out / f"{chosen_by}_{v}.tflite").exists() for v in variants)
    ):
        print(f"== {name} is a refit: first {chosen_by}, the run that chose it", flush=True)
        written = rebuild(
            chosen_by, runs=runs, out=out, max_epochs=max_epochs, verbose=verbose, variants=variants
        )
    for i, stage in enumerate(plan, 1):
        head = f"== stage {i}/{len(plan)} {stage.name}"
        if finished(stage, max_epochs):
            print(f"{head}: finished earlier ({stage.run}), skipped", flush=True)
            continue
        if (stage.run / "final.keras").exists():
            raise ValueError(
                f"{stage.run} holds a finished run of another config: delete it to retrain "
                f"{stage.name}"
            )
        resuming = (stage.run / "backup").exists() or (stage.run / "frozen_encoder").exists()
        print(f"{head}: training{' (resuming)' if resuming else ''} in {stage.run}", flush=True)
        train(stage.config, stage.run, verbose=verbose, max_epochs=max_epochs)
    if out is None:
        return []
    last = plan[-1]
    print(f"== {last.name}: export to {out}", flush=True)
    paths = export_bundles(last.config, load_model(last.run / "best.keras"), out, variants=variants)
    copy_training_record(last.run, out / f"{last.name}_training")
    return [*written, *paths]


def remove_unfinished(run: Path) -> bool:
    """Remove a run folder a failed start left with nothing to resume from; True if it did."""
    if not run.is_dir():
        return False
    resumable = ("backup", "frozen_encoder", "best.keras", "final.keras")
    if any((run / name).exists() for name in resumable):
        return False
    shutil.rmtree(run)
    return True
