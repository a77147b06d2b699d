"""``edge-runtime doctor``: is this machine ready, and if not, what to do."""

from __future__ import annotations

import argparse
import textwrap

from edge_runtime import edgetpu
from edge_runtime.errors import ModelError
from edge_runtime.system_info import importable, machine_info


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="runtime, Edge TPU, camera libraries, CPU; with advice")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    info = machine_info()
    rows: list[tuple[str, bool | None, str, str]] = []  # (what, ok, found, advice)
    rt = info["runtime"]
    rows.append(
        (
            "interpreter",
            rt != "none",
            f"{rt} {info['runtime_version'] or ''}".strip(),
            "pip install ai-edge-litert (or tflite-runtime on 32-bit boards)",
        )
    )
    lib = bool(info["libedgetpu"])
    rows.append(
        (
            "libedgetpu",
            lib if lib else None,
            edgetpu.LIBRARY + (" loaded" if lib else " not found"),
            "only for a Coral: apt install libedgetpu1-std (README: Install on a Coral)",
        )
    )
    devices = info["edgetpu_devices"]
    rows.append(
        (
            "Edge TPUs",
            bool(devices) or None,
            ", ".join(devices) or "none",  # type: ignore[arg-type]
            "only for a Coral: plug in the USB Accelerator / check the apex driver",
        )
    )
    cam = importable("picamera2")
    rows.append(
        (
            "picamera2",
            cam or None,
            "importable" if cam else "missing",
            "Raspberry Pi camera: apt install python3-picamera2 and a venv made with "
            "--system-site-packages",
        )
    )
    cv = importable("cv2")
    rows.append(
        (
            "OpenCV",
            cv or None,
            "importable" if cv else "missing",
            "USB / network cameras and video files: pip install -e '.[camera]' (in the repository)",
        )
    )
    try:
        from edge_runtime.defaults import default_model

        found_model = default_model()
        from edge_runtime.defaults import PACKAGE_MODELS

        in_package = found_model.parent == PACKAGE_MODELS
        model = f"{found_model.name} (package data)" if in_package else str(found_model)
        has_model = True
    except ModelError:
        from edge_runtime.defaults import DEFAULT_MODEL_FILE

        model, has_model = f"{DEFAULT_MODEL_FILE} not found", False
    rows.append(("default model", has_model, model, "pass --model PATH or set EDGE_RUNTIME_MODEL"))
    if str(info["machine"]).startswith(("armv6", "armv7")):
        rows.insert(
            0,
            (
                "platform",
                False,
                f"32-bit Arm ({info['machine']})",
                "PyPI has no ai-edge-litert and no tflite-runtime wheel for 32-bit Arm and "
                "Python 3.10+: install 64-bit Raspberry Pi OS (Bookworm) "
                "(README: On a Raspberry Pi)",
            ),
        )
    pi = info["raspberry_pi"]
    print(f"machine      {info['cpu']}")
    governor = info["governor"] or "n/a"
    print(f"             {info['cores']} cores, {info['machine']}, governor {governor}")
    print(f"board        {pi or 'not a Raspberry Pi'}")
    print(f"python       {info['python']}, numpy {info['numpy']}, Pillow {info['pillow']}")
    if info["governor"] not in (None, "performance"):
        print("             hint: for stable latency, set the performance governor:")
        print("             echo performance | sudo tee \\")
        print("               /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor")
    for what, ok, found, advice in rows:
        mark = "ok" if ok else ("--" if ok is None else "!!")
        print(f"[{mark}] {what:13} {found}")
        if not ok:
            print(textwrap.fill(advice, 80, initial_indent=" " * 19, subsequent_indent=" " * 19))
    # Only a missing interpreter or model (or a platform with neither) stops segmenting.
    interpreter = next(ok for what, ok, _, _ in rows if what == "interpreter")
    platform = all(ok for what, ok, _, _ in rows if what == "platform")
    return 0 if interpreter and has_model and platform else 1
