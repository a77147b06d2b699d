"""What the MobileNetV2 U-Net's decoder costs: INT8 invoke time of decoder variants at
480x352 against the encoder alone and the seed U-Net, on this CPU.

    python bench/decoder_latency.py [--runs 30]   # needs the host extra (TensorFlow)

Each variant is built by ``build_mobilenet_unet`` (ImageNet encoder weights, untrained
decoder: the weights' values do not change INT8 kernel time), converted full-integer with
the same calibration images, and timed with the default kernels (XNNPACK) round-robin
alongside the others, so machine noise hits them alike; medians are reported. Writes
bench/results/decoder-latency-<machine>.md. Run it with nothing else on the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from edge_runtime.bench.int8_kernels import measure
from edge_runtime.bench.system import ROOT, machine_slug
from edge_runtime.bundle import InputSpec
from edge_runtime.defaults import data_root, describe_data
from edge_runtime.host.config import weights_root
from edge_runtime.host.export import convert, representative_inputs
from edge_runtime.host.tf_compat import keras
from edge_runtime.system_info import machine_info
from edge_runtime.tflite_graph import read_graph

HEIGHT, WIDTH, CLASSES = 352, 480, 11
# name -> build_mobilenet_unet keywords (None: the encoder alone, the floor)
VARIANTS: dict[str, dict[str, object] | None] = {
    "encoder only (no decoder)": None,
    "v0.4: transposed convs to stride 2, transposed-conv logits at stride 1": {},
    "bilinear to stride 2, logits resized to stride 1": {
        "upsampling": "bilinear",
        "output_stride": 1,
    },
    "bilinear to stride 2, logits at stride 2": {"upsampling": "bilinear", "output_stride": 2},
    "bilinear to stride 4, logits resized to stride 1": {
        "decoder_filters": (128, 64, 48),
        "upsampling": "bilinear",
        "output_stride": 1,
    },
    "v0.5: bilinear to stride 4, logits resized to stride 2": {
        "decoder_filters": (128, 64, 48),
        "upsampling": "bilinear",
        "output_stride": 2,
    },
    "bilinear to stride 4, logits at stride 4": {
        "decoder_filters": (128, 64, 48),
        "upsampling": "bilinear",
        "output_stride": 4,
    },
}
SEED = ROOT / "models/unet_camvid_int8.tflite"


def build(keywords: dict[str, object] | None) -> keras.Model:
    from edge_runtime.host.mobilenet_v2 import load_imagenet_weights, mobilenet_v2_features
    from edge_runtime.host.unet import build_mobilenet_unet

    if keywords is None:
        inputs = keras.Input((HEIGHT, WIDTH, 3))
        model = keras.Model(inputs, mobilenet_v2_features(inputs)[32])
    else:
        model = build_mobilenet_unet(
            HEIGHT,
            WIDTH,
            CLASSES,
            skip_batch_norm=True,
            **keywords,  # type: ignore[arg-type]
        )
    load_imagenet_weights(model, weights_root() / "mobilenet_v2_1.0_224_quant.tflite")
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    data = data_root()
    print(describe_data(data), file=sys.stderr)
    images = sorted((data / "camvid/train").glob("*.png"))[:20]
    spec = InputSpec(width=WIDTH, height=HEIGHT, mean=(127.5,) * 3, std=(127.5,) * 3)
    with tempfile.TemporaryDirectory() as tmp:
        files: dict[str, Path] = {}
        for i, (name, keywords) in enumerate(VARIANTS.items()):
            model = build(keywords)
            path = Path(tmp) / f"variant{i}.tflite"
            path.write_bytes(convert(model, representative=representative_inputs(images, spec)))
            files[name] = path
            keras.backend.clear_session()
        if SEED.exists():
            files["seed U-Net (256x192, plain convs; today's default when #11 was filed)"] = SEED
        rows = measure(list(files.values()), threads, args.runs, kernels=("xnnpack",))
        outputs = {}
        for n, p in files.items():
            graph = read_graph(p)
            outputs[n] = graph.tensors[graph.outputs[0]].shape[1:3]
    stems = {p.stem: n for n, p in files.items()}
    p50 = {(stems[r["model"]], r["threads"]): r["p50_ms"] for r in rows}
    seed_name = next((n for n in files if n.startswith("seed")), None)
    info = machine_info()
    lines = [
        f"# Decoder latency — {machine_slug()}",
        "",
        f"CPU: {info['cpu']}, {info['cores']} cores, INT8 features: "
        f"{', '.join(info['int8_features']) or 'none'}; {info['runtime']} "  # type: ignore[arg-type]
        f"{info['runtime_version']}. INT8 (uint8 I/O) at {WIDTH}x{HEIGHT} unless stated, "
        f"default kernels (XNNPACK), median of {args.runs} round-robin invokes.",
        "Command: `python bench/decoder_latency.py`.",
        "",
        "| variant | output (HxW) | "
        + " | ".join(f"{t} thr p50 ms" for t in threads)
        + " | "
        + " | ".join(f"÷ seed, {t} thr" for t in threads)
        + " |",
        "|---|---|" + "---|" * 2 * len(threads),
    ]
    for name in files:
        h, w = outputs[name]
        ratios = [
            f"{p50[(name, t)] / p50[(seed_name, t)]:.2f}" if seed_name else "" for t in threads
        ]
        lines.append(
            f"| {name} | {h}x{w} | "
            + " | ".join(f"{p50[(name, t)]:.2f}" for t in threads)
            + " | "
            + " | ".join(ratios)
            + " |"
        )
    out = ROOT / "bench/results" / f"decoder-latency-{machine_slug()}.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(out, file=sys.stderr)


if __name__ == "__main__":
    main()
