"""Facts about the machine, for ``edge-runtime doctor`` and every ``edge-bench`` report."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(errors="replace").strip("\x00 \n")
    except OSError:
        return None


def cpu_model() -> str:
    text = _read("/proc/cpuinfo") or ""
    for key in ("model name", "Model", "Hardware", "cpu model"):
        for line in text.splitlines():
            if line.split(":")[0].strip() == key:
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


# CPU features that decide how fast INT8 runs against float32, best first: with VNNI
# (x86) or the dot-product/i8mm instructions (Arm) an int8 multiply-accumulate is one
# instruction; without them (plain AVX2, NEON) it needs widening and gains little.
INT8_FEATURES = ("amx_int8", "avx512_vnni", "avx_vnni", "avx512f", "avx2", "i8mm", "asimddp")


def int8_features() -> list[str]:
    """Which of ``INT8_FEATURES`` this CPU has (from /proc/cpuinfo's flags/Features)."""
    flags: set[str] = set()
    for line in (_read("/proc/cpuinfo") or "").splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags.update(value.split())
    return [f for f in INT8_FEATURES if f in flags]


def raspberry_pi_model() -> str | None:
    """E.g. 'Raspberry Pi 5 Model B Rev 1.0' from the device tree, None elsewhere."""
    return _read("/proc/device-tree/model")


def cpu_governor() -> str | None:
    return _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def importable(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def rss_bytes() -> int:
    """Resident set size now (Linux /proc), else the peak from getrusage."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def machine_info() -> dict[str, object]:
    from edge_runtime import __version__, edgetpu, litert

    return {
        "edge_runtime": __version__,
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "int8_features": int8_features(),
        "machine": platform.machine(),
        "governor": cpu_governor(),
        "raspberry_pi": raspberry_pi_model(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "runtime": litert.RUNTIME,
        "runtime_version": litert.runtime_version(),
        "numpy": package_version("numpy"),
        "pillow": package_version("Pillow"),
        "libedgetpu": edgetpu.library_available(),
        "edgetpu_devices": [f"{d.kind}:{d.path}" for d in edgetpu.list_devices()],
    }
