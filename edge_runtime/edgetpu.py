"""Edge TPU discovery and delegate loading, with errors that say which problem it is.

Uses LiteRT's ``load_delegate("libedgetpu.so.1")``; never the PyPI package named
``pycoral`` (an unrelated project).
"""

from __future__ import annotations

import ctypes
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_runtime.errors import EdgeTpuError
from edge_runtime.litert import load_delegate

LIBRARY = {"Darwin": "libedgetpu.1.dylib", "Windows": "edgetpu.dll"}.get(
    platform.system(), "libedgetpu.so.1"
)
# USB accelerator before (Global Unichip) and after (Google) its firmware is loaded.
USB_IDS = {("1a6e", "089a"), ("18d1", "9302")}

INSTALL_HINT = (
    "install the Edge TPU runtime: on Debian / Raspberry Pi OS add Coral's apt repository "
    "and `apt install libedgetpu1-std` (see the README, 'Install on a Coral')"
)


@dataclass(frozen=True)
class EdgeTpuDevice:
    kind: str  # "usb" | "pci"
    path: str


def library_available() -> bool:
    try:
        ctypes.CDLL(LIBRARY)
    except OSError:
        return False
    return True


def list_devices(
    sysfs: Path = Path("/sys/bus/usb/devices"), dev: Path = Path("/dev")
) -> list[EdgeTpuDevice]:
    """Edge TPUs visible to the OS (USB by vendor/product id, PCIe/M.2 as /dev/apex_N)."""
    found = [EdgeTpuDevice("pci", str(p)) for p in sorted(dev.glob("apex_*"))]
    if sysfs.is_dir():
        for entry in sorted(sysfs.iterdir()):
            try:
                ids = (
                    (entry / "idVendor").read_text().strip(),
                    (entry / "idProduct").read_text().strip(),
                )
            except OSError:
                continue
            if ids in USB_IDS:
                found.append(EdgeTpuDevice("usb", entry.name))
    return found


def load_edgetpu_delegate(device: str | None = None) -> Any:
    """Load the Edge TPU delegate, or raise ``EdgeTpuError`` saying why not.

    ``device``: ``None`` (first found), ``"usb"``, ``"pci"``, ``"usb:0"``, ``"pci:1"``...
    """
    if load_delegate is None:
        raise EdgeTpuError(EdgeTpuError.NOT_INSTALLED, "no TFLite interpreter installed")
    if not library_available():
        raise EdgeTpuError(
            EdgeTpuError.NOT_INSTALLED,
            f"libedgetpu is not installed ({LIBRARY} not found): {INSTALL_HINT}",
        )
    options = {"device": device} if device else {}
    try:
        return load_delegate(LIBRARY, options)
    except (ValueError, OSError) as exc:
        seen = list_devices()
        where = ", ".join(f"{d.kind} {d.path}" for d in seen) or "none on USB or PCIe"
        raise EdgeTpuError(
            EdgeTpuError.NO_DEVICE,
            f"no Edge TPU device found{f' matching {device!r}' if device else ''} "
            f"(visible: {where}); plug in the USB Accelerator or check the PCIe driver "
            f"(gasket/apex) and permissions (plugdev / apex group) [{str(exc).strip()}]",
        ) from exc
