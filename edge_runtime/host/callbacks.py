"""What every epoch leaves behind: val scores per class, the best model, the seed's plots."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edge_runtime.host.config import ExperimentConfig
from edge_runtime.host.evaluation import evaluate_keras
from edge_runtime.host.tf_compat import keras
from edge_runtime.host.weight_pruning import strip_wrappers, zero_weights


class EpochReport(keras.callbacks.Callback):
    """Adds val mIoU, per-class IoU, pixel accuracy, sparsity and lr to the epoch logs;
    keeps the best model."""

    def __init__(
        self,
        cfg: ExperimentConfig,
        val_pairs: Sequence[tuple[Path, Path]],
        out: Path,
        *,
        target_sparsity: float,
        select_last: bool = False,
    ):
        super().__init__()
        self.cfg, self.val_pairs, self.out = cfg, val_pairs, out
        self.target_sparsity = target_sparsity
        # Training on val too: its scores are no longer a selection criterion.
        self.select_last = select_last
        self.best_path = out / "best.json"
        self.started = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs if logs is not None else {}
        # Scored as exported: clustering's wrappers hold the kernels the strip writes out.
        stripped = strip_wrappers(self.model, self.cfg)
        scores = evaluate_keras(stripped, self.val_pairs, self.cfg).scores()
        zeros, total = zero_weights(stripped)
        sparsity = zeros / max(total, 1)
        logs.update(
            val_miou=scores.mean_iou,
            val_pixel_accuracy=scores.pixel_accuracy,
            zero_weights=zeros,
            sparsity=sparsity,
            lr=float(keras.backend.get_value(self.model.optimizer.learning_rate)),
        )
        # One column per class: a single class's curve (person on COCO) is what a recipe
        # change is often about, and best.json has it only for the selected epoch.
        logs.update(
            {
                f"val_iou_{name}": float(iou)
                for name, iou in zip(scores.class_names, scores.iou, strict=True)
            }
        )
        target = self.target_sparsity
        best = json.loads(self.best_path.read_text()) if self.best_path.exists() else None
        better = best is None or self.select_last or scores.mean_iou > best["val_miou"]
        if sparsity >= target - 0.005 and better:
            stripped.save(self.out / "best.keras")
            record = {
                "epoch": epoch + 1,
                "val_miou": scores.mean_iou,
                "sparsity": sparsity,
                **scores.as_dict(),
            }
            self.best_path.write_text(json.dumps(record, indent=2))
        seconds = time.monotonic() - self.started
        print(
            f"{self.out.name} epoch {epoch + 1}/{self.params.get('epochs', '?')}: loss "
            f"{logs.get('loss', float('nan')):.4f}  val mIoU {scores.mean_iou:.4f}  sparsity "
            f"{sparsity:.3f}  {seconds:.0f} s",
            flush=True,
        )

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.started = time.monotonic()


class PlotHistory(keras.callbacks.Callback):
    """Redraws the seed's figures from history.csv after every epoch."""

    def __init__(self, out: Path):
        super().__init__()
        self.out = out

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        plot_history(self.out / "history.csv", self.out)


def plot_history(csv_path: Path, out: Path) -> list[Path]:
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not csv_path.exists():
        return []
    with csv_path.open() as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return []
    epochs = [int(r["epoch"]) + 1 for r in rows]
    written = []
    for key, title in (
        ("loss", "training loss"),
        ("val_pixel_accuracy", "val pixel accuracy"),
        ("val_miou", "val mIoU"),
        ("zero_weights", "zero weights (conv kernels)"),
    ):
        if key not in rows[0]:
            continue
        fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
        ax.plot(epochs, [float(r[key]) for r in rows], marker="o", markersize=3)
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = out / f"{key}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written
