"""``edge-host``: train, export and evaluate models on a workstation (the host extra)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from edge_runtime.cli.common import positive_int
from edge_runtime.errors import EdgeRuntimeError


def _train(args: argparse.Namespace) -> int:
    from edge_runtime.host.config import ExperimentConfig
    from edge_runtime.host.rebuild import remove_unfinished
    from edge_runtime.host.train import train

    cfg = ExperimentConfig.load(args.config)
    out = args.run or Path("runs") / cfg.name
    if (out / "final.keras").exists():
        raise ValueError(
            f"{out} holds a finished run; pass --run NEW_FOLDER, or delete it to train again"
        )
    existed = out.exists()
    try:
        best = train(cfg, out, verbose=0 if args.quiet else 1, max_epochs=args.epochs)
    except BaseException:
        if not existed:
            remove_unfinished(out)
        raise
    print(f"best model: {best}")
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    from edge_runtime.host.rebuild import RUNS, rebuild

    trial = args.epochs is not None
    runs = args.runs or (RUNS / f"trial-{args.epochs}-epochs" if trial else RUNS)
    out = args.out or (runs / "export" if trial else Path("models"))
    paths = rebuild(
        args.name,
        runs=runs,
        out=out,
        max_epochs=args.epochs,
        verbose=0 if args.quiet else 1,
        variants=args.variants.split(","),
    )
    for path in paths:
        _print_bundle(path)
    if trial:
        print(f"a trial ({args.epochs} epochs a stage): runs in {runs}, bundles in {out}")
    elif args.out is None:
        _ship_default(paths)
    return 0


def _ship_default(paths: list[Path]) -> None:
    """The default model's INT8 bundle ships as package data, not in models/."""
    import shutil

    from edge_runtime.defaults import DEFAULT_MODEL_FILE, PACKAGE_MODELS

    for path in paths:
        if path.name == DEFAULT_MODEL_FILE:
            for part in (path, path.with_suffix(".json")):
                shutil.move(part, PACKAGE_MODELS / part.name)
            print(f"{path.name}: moved to {PACKAGE_MODELS} (the package default)")


def _export(args: argparse.Namespace) -> int:
    from edge_runtime.host.builders import load_model
    from edge_runtime.host.config import ExperimentConfig
    from edge_runtime.host.export import export_bundles

    cfg = ExperimentConfig.load(args.config)
    run = args.run or Path("runs") / cfg.name
    model_path = args.model or run / "best.keras"
    if not model_path.exists():
        raise FileNotFoundError(f"no trained model at {model_path}: run `edge-host train` first")
    if args.model is None and not (run / "final.keras").exists():
        raise ValueError(
            f"{run} is an unfinished run: resume it with `edge-host train {args.config}` "
            "(or export a model file with --model)"
        )
    best = run / "best.json"
    training = {"selection": json.loads(best.read_text())} if best.exists() else {}
    if training:
        training["selection"].pop("per_class_iou", None)
    paths = export_bundles(
        cfg,
        load_model(model_path),
        args.out,
        variants=args.variants.split(","),
        io_type=args.io,
        calibration=args.calibration,
        training=training,
    )
    for path in paths:
        _print_bundle(path)
    if run.is_dir():
        from edge_runtime.host.export import copy_training_record

        record = args.out / f"{cfg.name}_training"
        copy_training_record(run, record)
        print(f"training record (plots, history.csv, logs): {record}")
    return 0


def _print_bundle(path: Path) -> None:
    from edge_runtime.bundle import locate_model

    m = locate_model(path).manifest
    assert m is not None
    miou = (m.metrics or {}).get("val", {}).get("mean_iou")
    honest, refit = m.honest_val()
    print(
        f"{path}  {path.stat().st_size:,} bytes  sparsity {m.sparsity:.1%}  "
        f"val mIoU {'-' if miou is None else f'{miou:.4f}'} (device pipeline"
        + (f", trained on val); its train-only run {honest['mean_iou']:.4f}" if refit else ")")
    )


def _evaluate(args: argparse.Namespace) -> int:
    from edge_runtime.evaluate import evaluate
    from edge_runtime.folders import image_mask_pairs, sibling_mask_folder
    from edge_runtime.pipeline import Pipeline
    from edge_runtime.settings import ModelSettings

    if not args.images.is_dir():
        raise FileNotFoundError(f"--images {args.images}: no such folder")
    if args.masks is not None and not args.masks.is_dir():
        raise FileNotFoundError(f"--masks {args.masks}: no such folder")
    masks = args.masks or sibling_mask_folder(args.images)
    if masks is None:
        raise FileNotFoundError(f"no --masks given and no mask folder beside {args.images}")
    pairs = image_mask_pairs(args.images, masks)
    # The model options as the device reads them (flags > EDGE_RUNTIME_* > defaults).
    options = ModelSettings.load(model=args.model, threads=args.threads).only_model_options()
    pipe = Pipeline.open(options=options)
    scores = evaluate(pipe, pairs, ignore_index=args.ignore_index)
    if args.json:
        print(
            json.dumps(
                {"model": str(args.model), "images": len(pairs), **scores.as_dict()}, indent=2
            )
        )
        return 0
    print(
        f"{args.model}: {len(pairs)} images, mIoU {scores.mean_iou:.4f}, "
        f"pixel accuracy {scores.pixel_accuracy:.4f}"
    )
    for name, iou in zip(scores.class_names, scores.iou, strict=True):
        print(f"  {name:20} {iou:.4f}")
    return 0


def _encode_coco(args: argparse.Namespace) -> int:
    from edge_runtime.host.coco import LABELS, encode_coco

    report = encode_coco(args.annotations, args.out, workers=args.workers, progress=not args.quiet)
    print(
        f"{args.out}: {report.written} written, {report.skipped} already there, "
        f"{report.images} images; classes: {', '.join(f'{i} {n}' for i, n in enumerate(LABELS))}"
        ", 255 crowd (ignore)"
    )
    return 0


def _check_edgetpu(args: argparse.Namespace) -> int:
    from edge_runtime.edgetpu_compat import check_model

    report = check_model(args.model)
    if args.verbose:
        for v in report.ops:
            print(f"  #{v.index:<4} {v.op:24} {'TPU' if v.ok else 'CPU  ' + v.reason}")
    print(f"{args.model}: {report.verdict()}")
    return 0 if report.compatible else 1


def _compile_edgetpu(args: argparse.Namespace) -> int:
    from edge_runtime.host.edgetpu_compiler import compile_bundle

    out = compile_bundle(args.model, args.out)
    print(f"{out}: compiled for the Edge TPU (CPU fallback: {args.model.name})")
    return 0


def _verbose(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--verbose",
        dest="tf_verbose",
        action="store_true",
        help="show TensorFlow's own start-up lines too",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edge-host", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("train", help="train a model from a YAML config (resumes when interrupted)")
    p.add_argument("config", type=Path)
    p.add_argument("--run", type=Path, help="run folder (default runs/NAME)")
    p.add_argument("--epochs", type=positive_int, help="at most this many epochs in each stage")
    p.add_argument("--quiet", action="store_true", help="one line per epoch, no progress bar")
    _verbose(p)
    p.set_defaults(func=_train)

    p = sub.add_parser(
        "rebuild",
        help="train every stage a shipped model needs, in order (resumable), then export it",
    )
    p.add_argument("name", help="a config in models/configs, e.g. unet_mnv2_camvid")
    p.add_argument(
        "--epochs",
        type=positive_int,
        help="a trial: at most this many epochs a stage, runs in runs/trial-N-epochs/",
    )
    p.add_argument("--runs", type=Path, help="folder of the run folders (default runs/)")
    p.add_argument("--out", type=Path, help="bundles (default ./models; a trial: RUNS/export)")
    p.add_argument("--variants", default="float32,dynamic,int8")
    p.add_argument("--quiet", action="store_true", help="one line per epoch, no progress bar")
    _verbose(p)
    p.set_defaults(func=_rebuild)

    p = sub.add_parser("export", help="float32 / dynamic-range / INT8 bundles, evaluated on val")
    p.add_argument("config", type=Path)
    p.add_argument("--run", type=Path, help="run folder (default runs/NAME)")
    p.add_argument("--model", type=Path, help="Keras model (default RUN/best.keras)")
    p.add_argument("--out", type=Path, default=Path("models"), help="default ./models")
    p.add_argument("--variants", default="float32,dynamic,int8")
    p.add_argument("--io", choices=["uint8", "int8"], default="uint8", help="INT8 model I/O type")
    p.add_argument("--calibration", type=int, default=100, help="representative images")
    _verbose(p)
    p.set_defaults(func=_export)

    p = sub.add_parser("evaluate", help="mIoU of a .tflite through the device pipeline")
    p.add_argument("model", type=Path)
    p.add_argument("--images", type=Path, required=True)
    p.add_argument("--masks", type=Path, help="default: IMAGESannot/ or masks/ beside IMAGES")
    p.add_argument("--ignore-index", type=int, help="default: the manifest's")
    p.add_argument(
        "--threads", type=positive_int, help="default: EDGE_RUNTIME_THREADS, else every core"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("encode-coco", help="COCO instances → 13-class super-category PNG masks")
    p.add_argument("--annotations", type=Path, required=True, help="instances_*.json")
    p.add_argument("--out", type=Path, required=True, help="mask folder (<image stem>.png)")
    p.add_argument("--workers", type=int, help="processes (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_encode_coco)

    p = sub.add_parser("check-edgetpu", help="will this .tflite run on the Edge TPU? (static)")
    p.add_argument("model", type=Path)
    p.add_argument("-v", "--verbose", action="store_true", help="one line per op")
    p.set_defaults(func=_check_edgetpu)

    p = sub.add_parser("compile-edgetpu", help="run edgetpu_compiler and write the bundle")
    p.add_argument("model", type=Path)
    p.add_argument("--out", type=Path, help="output folder (default: beside the model)")
    p.set_defaults(func=_compile_edgetpu)

    args = parser.parse_args(argv)
    if getattr(args, "tf_verbose", False):
        os.environ["EDGE_HOST_VERBOSE"] = "1"
    try:
        return int(args.func(args))
    except (ValueError, FileNotFoundError, EdgeRuntimeError) as exc:
        print(f"edge-host: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
