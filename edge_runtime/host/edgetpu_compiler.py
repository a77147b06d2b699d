"""``edgetpu_compiler`` wrapper: compile a bundle and write the Edge TPU bundle beside it."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

from edge_runtime.bundle import locate_model, sha256_file, write_manifest
from edge_runtime.edgetpu_compat import check_model

HOW_TO_GET = (
    "edgetpu_compiler is not installed. It runs on x86-64 Debian/Ubuntu only: add Coral's "
    "apt repository (README: 'Install on a Coral') and `sudo apt install edgetpu-compiler`, "
    "or compile in Coral's Colab notebook"
)


def compile_bundle(model: Path, out_dir: Path | None = None) -> Path:
    """Compile ``model`` to ``NAME_edgetpu.tflite`` with a manifest that names the CPU
    model as its fallback. Raises ``FileNotFoundError`` when the compiler is missing and
    ``ValueError`` when the model cannot map to the TPU at all."""
    found = locate_model(model)
    compiler = shutil.which("edgetpu_compiler")
    if compiler is None:
        arch = platform.machine()
        extra = "" if arch in ("x86_64", "AMD64") else f" (this machine is {arch})"
        raise FileNotFoundError(HOW_TO_GET + extra)
    report = check_model(found.path)
    if report.mapped_ops == 0:
        raise ValueError(f"{found.path.name}: {report.verdict()}")
    out = out_dir or found.path.parent
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [compiler, "-s", "-o", str(out), str(found.path)],
        capture_output=True,
        text=True,
        check=False,
    )
    (out / f"{found.path.stem}_edgetpu.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise ValueError(f"edgetpu_compiler failed: {proc.stderr.strip() or proc.stdout.strip()}")
    compiled = out / f"{found.path.stem}_edgetpu.tflite"
    if found.manifest is not None:
        doc = found.manifest.model_dump(mode="json", exclude_none=True)
        doc.update(
            name=f"{found.manifest.name}_edgetpu",
            edgetpu=True,
            sha256=sha256_file(compiled),
            cpu_model=os.path.relpath(found.path, out),
        )
        write_manifest(doc, compiled)
    return compiled
