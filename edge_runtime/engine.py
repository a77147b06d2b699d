"""The engine: one preallocated LiteRT interpreter for one .tflite.

It knows tensors, not images, HTTP, cameras or TensorFlow. ``allocate_tensors()`` runs
once; each ``run`` writes straight into the interpreter's input buffer and reads its
output buffer once, through caller-supplied functions.

Thread safety: an ``Engine`` may be shared by threads. ``run`` holds one lock for the
whole write → invoke → read sequence, so callers are serialized (one interpreter, one
inference at a time; the Edge TPU cannot run two either).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import numpy as np

from edge_runtime import litert
from edge_runtime.edgetpu import load_edgetpu_delegate
from edge_runtime.errors import EdgeTpuError, ModelError
from edge_runtime.options import DelegateChoice
from edge_runtime.tflite_graph import is_edgetpu_model

T = TypeVar("T")


@dataclass(frozen=True)
class TensorInfo:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    scale: float
    zero_point: int

    @property
    def quantized(self) -> bool:
        return self.scale != 0.0 and np.issubdtype(self.dtype, np.integer)

    @classmethod
    def from_details(cls, d: dict[str, Any]) -> TensorInfo:
        scale, zp = d.get("quantization", (0.0, 0))
        return cls(
            int(d["index"]),
            str(d["name"]),
            tuple(int(x) for x in d["shape"]),
            np.dtype(d["dtype"]),
            float(scale),
            int(zp),
        )

    def describe(self) -> str:
        q = f", scale {self.scale:.6g}, zero point {self.zero_point}" if self.quantized else ""
        return f"{self.dtype.name}{list(self.shape)}{q}"


@dataclass(frozen=True)
class DelegateInfo:
    """What actually runs the model."""

    kind: Literal["cpu", "edgetpu"]
    num_threads: int | None
    model_path: Path
    fell_back: bool = False
    fallback_reason: str | None = None
    runtime: str = litert.RUNTIME

    def describe(self) -> str:
        n = self.num_threads
        base = "Edge TPU" if self.kind == "edgetpu" else f"CPU ({n or 'default'} thread"
        if self.kind != "edgetpu":
            base += ")" if n == 1 else "s)"
        return base + (
            f", fell back from the Edge TPU: {self.fallback_reason}" if self.fell_back else ""
        )


@dataclass(frozen=True)
class EngineRun(Generic[T]):
    result: T
    write_ms: float
    invoke_ms: float
    read_ms: float


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity: a container or ``taskset`` may
    allow fewer than the machine has). LiteRT's own default is one thread, which left half
    of a 2-core machine idle: the daemon's invoke took 1.68x the 2-thread time."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def thread_advice(threads: int | None) -> str | None:
    """A one-line warning when ``threads`` asks for more interpreter threads than this
    process has cores (they would time-share them: slower, not faster), else None."""
    cores = usable_cores()
    if threads is None or threads <= cores:
        return None
    return (
        f"--threads {threads} is more than the {cores} core{'s' if cores > 1 else ''} this "
        f"process may use: the extra threads share them (usually slower); try --threads {cores}"
    )


class Engine:
    """One model, one interpreter, one lock.

    >>> engine = Engine("models/unet_camvid_int8.tflite", num_threads=2)  # doctest: +SKIP
    >>> run = engine.run(lambda x: x.fill(0), lambda y: y.argmax(-1))  # doctest: +SKIP

    ``delegate``: ``"cpu"``; ``"edgetpu"`` (the model must be compiled for it); ``"auto"``
    (the Edge TPU when the model is compiled for it, else the CPU). ``cpu_fallback``: a
    CPU .tflite to load instead when the Edge TPU cannot be used (``delegate.fell_back``).

    Raises ``ModelError`` (and its subclass ``EdgeTpuError``) with a one-line reason.
    """

    def __init__(
        self,
        model_path: Path | str,
        *,
        num_threads: int | None = None,
        delegate: DelegateChoice = "auto",
        edgetpu_device: str | None = None,
        cpu_fallback: Path | str | None = None,
    ):
        path = Path(model_path)
        num_threads = num_threads or usable_cores()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read model {path}: {exc.strerror}") from exc
        compiled = is_edgetpu_model(data)
        fallback = Path(cpu_fallback) if cpu_fallback else None
        self._delegates: list[Any] = []
        if delegate == "edgetpu" and not compiled:
            raise EdgeTpuError(
                EdgeTpuError.NOT_COMPILED,
                f"{path.name} is not compiled for the Edge TPU (it has no edgetpu-custom-op): "
                "compile it with `edge-host compile-edgetpu` or run it with --delegate cpu",
            )
        if compiled and delegate == "cpu":
            if fallback is None:
                raise EdgeTpuError(
                    EdgeTpuError.NEEDS_EDGETPU,
                    f"{path.name} is compiled for the Edge TPU and cannot run on the CPU alone: "
                    "use --delegate edgetpu, or give the CPU model with --cpu-fallback",
                )
            self.delegate = DelegateInfo("cpu", num_threads, fallback)
        elif compiled:
            try:
                self._delegates = [load_edgetpu_delegate(edgetpu_device)]
                self.delegate = DelegateInfo("edgetpu", None, path)
            except EdgeTpuError as exc:
                if fallback is None:
                    raise
                self.delegate = DelegateInfo("cpu", num_threads, fallback, True, str(exc))
        else:
            self.delegate = DelegateInfo("cpu", num_threads, path)
        self.model_path = self.delegate.model_path
        self._interpreter = self._open(self.model_path, num_threads)
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        if len(inputs) != 1:
            raise ModelError(
                f"{self.model_path.name}: expected 1 input tensor, found {len(inputs)}"
            )
        self.input = TensorInfo.from_details(inputs[0])
        self.output = TensorInfo.from_details(outputs[0])
        self._input_view = self._interpreter.tensor(self.input.index)
        self._output_view = self._interpreter.tensor(self.output.index)
        self._lock = threading.Lock()
        self.invocations = 0
        # Monotonic start of the invoke in progress (a watchdog reads it), else None.
        self.busy_since: float | None = None

    def _open(self, path: Path, num_threads: int | None) -> Any:
        try:
            with litert.quiet_native_info():
                interpreter = litert.make_interpreter(
                    str(path), num_threads=num_threads, delegates=self._delegates or None
                )
                interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"cannot load {path.name}: {first}") from exc
        return interpreter

    def run(
        self, write: Callable[[np.ndarray], None], read: Callable[[np.ndarray], T]
    ) -> EngineRun[T]:
        """``write(input_view)`` fills the input tensor in place; ``read(output_view)``
        must copy what it keeps: both views die when the lock is released."""
        with self._lock:
            t0 = time.perf_counter()
            view = self._input_view()
            write(view)
            del view  # the interpreter refuses to invoke while views of its buffers live
            t1 = time.perf_counter()
            self.busy_since = time.monotonic()
            try:
                self._interpreter.invoke()
            finally:
                self.busy_since = None
            t2 = time.perf_counter()
            out = self._output_view()
            result = read(out)
            del out
            t3 = time.perf_counter()
            self.invocations += 1
        return EngineRun(result, (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3)

    def stuck_for(self) -> float:
        """Seconds the current invoke has been running (0 when idle)."""
        since = self.busy_since
        return 0.0 if since is None else time.monotonic() - since

    def invoke_blank(self) -> float:
        """One invoke on a blank input (warm-up); returns its latency in ms."""
        zero = self.input.zero_point if self.input.quantized else 0
        return self.run(lambda x: x.fill(zero), lambda y: None).invoke_ms

    def close(self, timeout: float | None = None) -> bool:
        """Release the interpreter once no invoke runs. With ``timeout``, give up after
        that many seconds (an invoke stuck in native code) and return False: the
        process exit frees it."""
        if not self._lock.acquire(timeout=-1 if timeout is None else timeout):
            return False
        try:
            self._input_view = self._output_view = None
            self._interpreter = None
            self._delegates = []
        finally:
            self._lock.release()
        return True

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
