"""The edge-bench report as JSON (stable keys), Markdown, a rich terminal table, plots."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from edge_runtime.errors import MissingDependencyError

SCHEMA = "edge-bench/1"


TERMINAL_COLUMNS = (
    "model",
    "threads",
    "size",
    "gzip",
    "zeros",
    "GMACs",
    "p50 ms",
    "p99 ms",
    "fps",
    "peak RSS MB",
    "total/invoke",
    "mIoU",
    "Edge TPU",
)


def _f(v: float | None, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def rows(report: dict[str, Any]) -> list[dict[str, str]]:
    """One row per model and thread count: the columns of the table and the Markdown."""
    out = []
    for m in report["models"]:
        acc = m.get("accuracy") or {}
        zero = m.get("zero_weight_fraction")
        for r in m.get("runs", []):
            inv = r["invoke_ms"]
            pipe = r.get("pipeline") or {}
            out.append(
                {
                    "model": m["name"],
                    "threads": str(r["threads"] or "default"),
                    "size": _size(m["size_bytes"]),
                    "gzip": _size(m["gzip_bytes"]),
                    "params": f"{m['params'] / 1e6:.2f}M",
                    "zeros": "–" if zero is None else f"{zero:.0%}",
                    "GMACs": _f(m["macs"] / 1e9),
                    "init ms": _f(r["init_ms"], 1),
                    "first ms": _f(r["first_invoke_ms"], 1),
                    "p50 ms": _f(inv["p50"]),
                    "p90 ms": _f(inv["p90"]),
                    "p99 ms": _f(inv["p99"]),
                    "fps": _f(r["throughput_fps"], 1),
                    "peak RSS MB": _f(r["memory"]["peak_rss_mb"], 0),
                    "total/invoke": _f(pipe.get("total_over_invoke")),
                    # *: trained on val (a train + val refit), a training score on val
                    "mIoU": (_f(acc.get("mean_iou"), 4) + ("*" if _seen_val(m) else ""))
                    if acc
                    else "–",
                    "Edge TPU": "yes" if m["edgetpu"]["compatible"] else "no",
                }
            )
        if m.get("error"):
            out.append({"model": m["name"], "threads": "–", "size": "error: " + m["error"]})
    return out


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=False) + "\n"


def to_markdown(report: dict[str, Any]) -> str:
    mach = report["machine"]
    lines = [
        f"# edge-bench report — {mach.get('raspberry_pi') or mach['cpu']}",
        "",
        f"- machine: {mach['cpu']}, {mach['cores']} cores ({mach['machine']}), governor "
        f"{mach.get('governor') or 'n/a'}; "
        f"board: {mach.get('raspberry_pi') or 'not a Raspberry Pi'}; int8 features: "
        f"{', '.join(mach.get('int8_features') or []) or 'none (no VNNI, no Arm dot product)'}",
        f"- software: Python {mach['python']}, {mach['runtime']} {mach['runtime_version']}, "
        f"numpy {mach['numpy']}, Pillow {mach['pillow']}; libedgetpu "
        f"{'loaded' if mach['libedgetpu'] else 'not installed'}",
        f"- settings: {report['settings']['runs']} timed invokes after "
        f"{report['settings']['warmup']} warm-up; images: {report['settings']['images'] or '–'}"
        f"; masks: {report['settings']['masks'] or '–'}",
        "",
    ]
    table = rows(report)
    if table:
        cols = [c for c in table[0] if any(c in r for r in table)]
        lines.append("| " + " | ".join(cols) + " |")
        lines.append("|" + "---|" * len(cols))
        for r in table:
            lines.append("| " + " | ".join(r.get(c, "") for c in cols) + " |")
    lines.append("")
    lines += per_class_table(report)
    for m in report["models"]:
        for r in m.get("runs", []):
            p = r.get("pipeline")
            if p:
                st = p["stages_ms"]
                lines.append(
                    f"- {m['name']} ({threads_label(r['threads'])}) pipeline medians, ms: "
                    + ", ".join(f"{k} {v:.2f}" for k, v in st.items())
                )
        lines.append(f"- {m['name']}: Edge TPU — {m['edgetpu']['verdict']}")
        line = accuracy_vs_manifest(m)
        if line:
            lines.append(f"- {m['name']}: {line}")
        sel = m.get("manifest_train_only")
        if _seen_val(m):
            honest = f"; its train-only run's ({sel['run']}): {sel['mean_iou']:.2%}" if sel else ""
            lines.append(
                f"- {m['name']}: * trained on val (a train + val refit): its mIoU on val frames "
                f"is a training score{honest}"
            )
        if m.get("accuracy_skipped"):
            ref = m.get("manifest_val")
            export = (
                f"; its export's val mIoU: {ref['mean_iou']:.2%} ({ref.get('images') or '?'} "
                f"frames of {ref.get('split') or 'val'}, x86-64)"
                if ref
                else ""
            )
            lines.append(f"- {m['name']}: {m['accuracy_skipped']}{export}")
    return "\n".join(lines) + "\n"


def per_class_table(report: dict[str, Any]) -> list[str]:
    """Per-class IoU of every scored model (one data set: the same labels), a column each."""
    scored = [m for m in report["models"] if m.get("accuracy")]
    if not scored:
        return []
    classes = list(scored[0]["accuracy"]["per_class_iou"])
    lines = [
        "Per-class IoU on these masks:",
        "",
        "| class | " + " | ".join(m["name"] for m in scored) + " |",
        "|---|" + "---|" * len(scored),
    ]
    for c in classes:
        values = [m["accuracy"]["per_class_iou"].get(c) for m in scored]
        lines.append(f"| {c} | " + " | ".join(_f(v, 3) for v in values) + " |")
    return [*lines, ""]


def _seen_val(model: dict[str, Any]) -> bool:
    """Whether the model trained on its val split (a train + val refit)."""
    return bool((model.get("manifest_val") or {}).get("seen_in_training"))


def _miou(model: dict[str, Any]) -> tuple[float, bool] | None:
    """The mIoU to plot a model at, and whether it was measured in this run: a model not
    scored on these masks (another data set) stands at its export's val mIoU, a train +
    val refit at its train-only run's (its own val score is a training score)."""
    if model.get("manifest_train_only"):  # written for refits only
        return float(model["manifest_train_only"]["mean_iou"]), False
    if model.get("accuracy"):
        return float(model["accuracy"]["mean_iou"]), True
    if model.get("accuracy_skipped") and model.get("manifest_val"):
        return float(model["manifest_val"]["mean_iou"]), False
    return None


def accuracy_vs_manifest(model: dict[str, Any]) -> str | None:
    """This machine's mIoU next to the one the export measured on x86-64: on a board, run on
    the same val frames, the gap is what its kernels' rounding costs."""
    acc, ref = model.get("accuracy"), model.get("manifest_val")
    if not acc or not ref:
        return None
    gap = (acc["mean_iou"] - ref["mean_iou"]) * 100
    where = f"{ref.get('images') or '?'} frames of {ref.get('split') or 'val'}"
    return (
        f"mIoU {acc['mean_iou']:.2%} here on {acc['images']} images; {ref['mean_iou']:.2%} "
        f"at export on x86-64 ({where}); {gap:+.2f} points (comparable only on the same frames)"
    )


def threads_label(threads: int | str | None) -> str:
    """``1 thread``, ``2 threads``, ``default threads``."""
    if threads in (None, "default", "–"):
        return "default threads"
    return f"{threads} thread" if str(threads) == "1" else f"{threads} threads"


def print_table(report: dict[str, Any], file: TextIO | None = None) -> None:
    """A table when it fits the terminal; otherwise (narrow terminal, or piped) one block
    per model and thread count, a figure per line, readable at any width."""
    _print_rows(
        rows(report),
        list(TERMINAL_COLUMNS),
        lambda r: f"{r.get('model', '')} ({threads_label(r.get('threads'))})",
        "edge-bench",
        file,
    )


HTTP_COLUMNS = (
    "concurrency",
    "requests",
    "ok/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "statuses",
    "server total ms",
    "server invoke ms",
    "HTTP overhead ms",
    "overhead share",
)


def http_rows(report: dict[str, Any]) -> list[dict[str, str]]:
    """One row per concurrency level: the HTTP report's table."""
    out = []
    for lv in report["levels"]:
        lat = lv["latency_ms"] or {}
        srv = lv["server_ms"]
        out.append(
            {
                "concurrency": str(lv["concurrency"]),
                "requests": str(lv["requests"]),
                "ok/s": _f(lv["throughput_rps"], 1),
                "p50 ms": _f(lat.get("p50")),
                "p90 ms": _f(lat.get("p90")),
                "p99 ms": _f(lat.get("p99")),
                "statuses": " ".join(f"{k}×{v}" for k, v in sorted(lv["statuses"].items())),
                "server total ms": _f(srv.get("total")),
                "server invoke ms": _f(srv.get("invoke")),
                "HTTP overhead ms": _f(lv["http_overhead_ms"]),
                "overhead share": _f(lv.get("http_overhead_share")),
            }
        )
    return out


def print_http(report: dict[str, Any], file: TextIO | None = None) -> None:
    """The HTTP report for a terminal: a table when it fits, else a block per level."""
    _print_rows(
        http_rows(report),
        list(HTTP_COLUMNS),
        lambda r: f"concurrency {r['concurrency']}",
        f"edge-bench {report['url']}",
        file,
        first=1,
    )


def _print_rows(
    data: list[dict[str, str]],
    cols: list[str],
    heading: Callable[[dict[str, str]], str],
    title: str,
    file: TextIO | None,
    *,
    first: int = 2,
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file)
    widths = [max([len(c)] + [len(r.get(c, "")) for r in data]) for c in cols]
    needed = sum(widths) + 3 * len(cols) + 1  # rich's borders and padding
    if console.is_terminal and needed <= console.width:
        table = Table(title=title, header_style="bold")
        for c in cols:
            table.add_column(c, justify="left" if c == cols[0] else "right")
        for r in data:
            table.add_row(*(r.get(c, "") for c in cols))
        console.print(table)
        return
    key_width = max(len(c) for c in cols[first:])
    out = file or sys.stdout
    for r in data:
        out.write(heading(r) + "\n")
        for c in cols[first:]:
            if r.get(c):
                out.write(f"  {c:<{key_width}}  {r[c]}\n")
    out.flush()


PLOT_HINT = "--plot needs matplotlib: pip install -e '.[bench]' in the repository"


def plot_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


# Label offsets (points) tried in turn: a model twin (float32 and INT8 of one network)
# often sits on the same spot, so the first label that overlaps none placed so far wins.
LABEL_OFFSETS = ((4, 4), (4, -12), (4, 16), (4, -24), (4, 28), (4, -36), (4, 40))


def place_labels(ax: Any, labels: list[tuple[str, tuple[float, float]]]) -> list[Any]:
    """Annotate each point with its text where it overlaps no earlier label; returns the
    labels' window extents (display units)."""
    renderer = ax.figure.canvas.get_renderer()
    placed: list[Any] = []
    for text, xy in labels:
        for dx, dy in LABEL_OFFSETS:
            note = ax.annotate(text, xy, fontsize=8, xytext=(dx, dy), textcoords="offset points")
            box = note.get_window_extent(renderer=renderer)
            if not any(box.overlaps(other) for other in placed) or (dx, dy) == LABEL_OFFSETS[-1]:
                break
            note.remove()
        placed.append(box)
    return placed


def plot(report: dict[str, Any], out: Path) -> list[Path]:
    """Latency distribution per model, and mIoU vs latency with size as marker area."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingDependencyError(PLOT_HINT) from exc
    out.mkdir(parents=True, exist_ok=True)
    written = []
    labels, boxes = [], []
    for m in report["models"]:
        for r in m.get("runs", []):
            inv = r["invoke_ms"]
            labels.append(f"{m['name']}\n{r['threads'] or 'def'} thr")
            boxes.append(
                {
                    "med": inv["p50"],
                    "q1": inv["min"],
                    "q3": inv["p90"],
                    "whislo": inv["min"],
                    "whishi": inv["p99"],
                    "label": labels[-1],
                }
            )
    if boxes:
        fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(boxes)), 5), dpi=100)
        ax.bxp(boxes, showfliers=False)
        # Long model names: slanted, right-aligned under their box, so neighbours never overlap.
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
        ax.set_ylabel("invoke latency, ms (min · p50 · p90 · p99)")
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        path = out / "latency.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    points = []
    for m in report["models"]:
        at = _miou(m)
        if at and m["runs"]:
            points.append((m, m["runs"][0], *at))
    if points:
        fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
        for m, r, miou, here in points:
            ax.scatter(
                r["invoke_ms"]["p50"],
                miou,
                s=max(20, m["size_bytes"] / 1e5),
                alpha=0.6,
                facecolors=None if here else "none",
                edgecolors=None if here else "C0",
            )
        ax.autoscale_view()  # fixes the axes, so label extents can be measured
        place_labels(
            ax,
            [
                (
                    m["name"]
                    if here
                    else f"{m['name']} (its train-only run's val)"
                    if _seen_val(m)
                    else f"{m['name']} (its export's val)",
                    (r["invoke_ms"]["p50"], miou),
                )
                for m, r, miou, here in points
            ],
        )
        ax.set_xlabel("invoke p50, ms")
        ax.set_ylabel("mIoU")
        ax.set_title(
            f"accuracy vs latency, {threads_label(points[0][1]['threads'])}"
            " (marker area: file size; hollow: mIoU of its export or train-only run)",
            fontsize=9,
        )
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = out / "miou_vs_latency.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written


def http_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# edge-bench HTTP report — {report['url']}",
        "",
        f"- client machine: {report['machine']['cpu']}, {report['machine']['cores']} cores; "
        f"images: {report['images']}; response: {report['response']}",
        "",
        "| " + " | ".join(HTTP_COLUMNS) + " |",
        "|" + "---|" * len(HTTP_COLUMNS),
    ]
    for r in http_rows(report):
        lines.append("| " + " | ".join(r[c] for c in HTTP_COLUMNS) + " |")
    return "\n".join(lines) + "\n"
