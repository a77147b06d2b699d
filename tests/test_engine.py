from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np
import pytest
import zoo

from edge_runtime import edgetpu
from edge_runtime.edgetpu import list_devices
from edge_runtime.engine import Engine
from edge_runtime.errors import EdgeTpuError, ModelError
from edge_runtime.tflite_graph import read_graph

LAYOUTS = {
    "deeplab_uint8_argmax": ("uint8", (1, 513, 513, 3), "int64", (1, 513, 513)),
    "deeplab_float_logits": ("float32", (1, 257, 257, 3), "float32", (1, 257, 257, 21)),
    "unet_int8_probability": ("int8", (1, 128, 128, 3), "int8", (1, 128, 128, 1)),
    "float_io_int8_weights": ("float32", (1, 96, 128, 3), "float32", (1, 48, 64, 4)),
    "unet_uint8_logits": ("uint8", (1, 96, 128, 3), "uint8", (1, 96, 128, 4)),
}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_each_layout_loads_with_its_tensors(zoo_dir: Path, name: str) -> None:
    in_dtype, in_shape, out_dtype, out_shape = LAYOUTS[name]
    with Engine(zoo_dir / f"{name}.tflite", num_threads=1) as engine:
        assert (engine.input.dtype.name, engine.input.shape) == (in_dtype, in_shape)
        assert (engine.output.dtype.name, engine.output.shape) == (out_dtype, out_shape)
        assert engine.delegate.kind == "cpu" and not engine.delegate.fell_back
        assert math.isfinite(engine.invoke_blank())
        assert engine.invocations == 1


def test_int8_weights_of_the_dynamic_range_model(zoo_dir: Path) -> None:
    graph = read_graph(zoo_dir / "float_io_int8_weights.tflite")
    dtypes = {t.type_name for t, _ in graph.kernel_tensors()}
    assert "INT8" in dtypes  # the 3x3 expansion kernel is quantized, I/O stays float
    assert graph.tensors[graph.inputs[0]].type_name == "FLOAT32"


def test_run_writes_into_the_input_buffer_and_reads_once(zoo_dir: Path) -> None:
    engine = Engine(zoo_dir / "unet_uint8_logits.tflite")
    seen: list[tuple[int, ...]] = []

    def write(view: np.ndarray) -> None:
        seen.append(view.shape)
        view[...] = 255  # white: nearest to none of the bars but deterministic

    run = engine.run(write, lambda out: out.copy())
    assert seen == [(1, 96, 128, 3)]
    assert run.result.shape == (1, 96, 128, 4)
    assert all(math.isfinite(v) for v in (run.invoke_ms, run.write_ms, run.read_ms))
    # The same input twice gives the same output: the buffer is reused, not reallocated.
    again = engine.run(write, lambda out: out.copy())
    np.testing.assert_array_equal(run.result, again.result)


def test_concurrent_runs_are_serialized_and_correct(zoo_dir: Path) -> None:
    engine = Engine(zoo_dir / "unet_uint8_logits.tflite", num_threads=1)
    colours = list(zoo.COLOURS.values())
    results: dict[int, set[int]] = {}
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for _ in range(20):
                out = engine.run(
                    lambda v: v.__setitem__(Ellipsis, colours[k]),
                    lambda o: np.unique(o[0].argmax(-1)),
                )
                results.setdefault(k, set()).update(int(x) for x in out.result)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    # Each thread always saw its own colour's class: no input was overwritten mid-run.
    assert results == {k: {k} for k in range(4)}
    assert engine.invocations == 80


def test_not_a_model_is_a_model_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00\x00\x00\x00TFL3" + b"\x00" * 64)
    with pytest.raises(ModelError, match=r"cannot load bad\.tflite"):
        Engine(bad)


def test_edgetpu_requested_for_a_cpu_model(zoo_dir: Path) -> None:
    with pytest.raises(EdgeTpuError, match="not compiled for the Edge TPU") as info:
        Engine(zoo_dir / "unet_uint8_logits.tflite", delegate="edgetpu")
    assert info.value.reason == EdgeTpuError.NOT_COMPILED


@pytest.fixture(scope="module")
def edgetpu_model(zoo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("edgetpu") / "unet_uint8_logits_edgetpu.tflite"
    return zoo.as_edgetpu_model(zoo_dir / "unet_uint8_logits.tflite", out)


@pytest.fixture
def no_libedgetpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine without libedgetpu, whether this one has it or not (a Coral)."""
    monkeypatch.setattr(edgetpu, "library_available", lambda: False)


@pytest.fixture
def libedgetpu_without_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """libedgetpu installed, no Edge TPU plugged in: LiteRT's load_delegate fails."""

    def load_delegate(library: str, options: dict[str, str]) -> None:
        raise ValueError(f"Failed to load delegate from {library}")

    monkeypatch.setattr(edgetpu, "library_available", lambda: True)
    monkeypatch.setattr(edgetpu, "load_delegate", load_delegate)
    monkeypatch.setattr(edgetpu, "list_devices", lambda: [])


def test_compiled_model_without_libedgetpu(edgetpu_model: Path, no_libedgetpu: None) -> None:
    # No libedgetpu: the message says so and how to get it.
    with pytest.raises(EdgeTpuError, match="libedgetpu is not installed") as info:
        Engine(edgetpu_model)
    assert info.value.reason == EdgeTpuError.NOT_INSTALLED
    assert "apt install libedgetpu1-std" in str(info.value)


def test_compiled_model_on_cpu_needs_the_edgetpu(edgetpu_model: Path) -> None:
    with pytest.raises(EdgeTpuError, match="compiled for the Edge TPU and cannot run") as info:
        Engine(edgetpu_model, delegate="cpu")
    assert info.value.reason == EdgeTpuError.NEEDS_EDGETPU


def test_compiled_model_without_a_device(
    edgetpu_model: Path, libedgetpu_without_device: None
) -> None:
    with pytest.raises(EdgeTpuError, match="no Edge TPU device found") as info:
        Engine(edgetpu_model)
    assert info.value.reason == EdgeTpuError.NO_DEVICE
    assert "visible: none on USB or PCIe" in str(info.value)
    assert "Failed to load delegate from libedgetpu.so.1" in str(info.value)


def test_a_named_device_that_is_absent(
    edgetpu_model: Path, libedgetpu_without_device: None
) -> None:
    with pytest.raises(EdgeTpuError, match="no Edge TPU device found matching 'usb:1'"):
        Engine(edgetpu_model, edgetpu_device="usb:1")


def test_fallback_to_the_cpu_model_says_so(
    edgetpu_model: Path, zoo_dir: Path, no_libedgetpu: None
) -> None:
    cpu = zoo_dir / "unet_uint8_logits.tflite"
    engine = Engine(edgetpu_model, cpu_fallback=cpu)
    assert engine.delegate.kind == "cpu"
    assert engine.delegate.fell_back
    assert "libedgetpu is not installed" in (engine.delegate.fallback_reason or "")
    assert engine.model_path == cpu
    assert "fell back from the Edge TPU" in engine.delegate.describe()
    engine.invoke_blank()  # the CPU model runs: its output is the CPU model's
    assert engine.invocations == 1 and engine.output.shape == (1, 96, 128, 4)


def test_edgetpu_devices_found_in_sysfs_and_dev(tmp_path: Path) -> None:
    sysfs, dev = tmp_path / "usb", tmp_path / "dev"
    for name, vendor, product in (
        ("1-1", "1a6e", "089a"),
        ("1-2", "18d1", "9302"),
        ("1-3", "046d", "0825"),
    ):
        (sysfs / name).mkdir(parents=True)
        (sysfs / name / "idVendor").write_text(vendor + "\n")
        (sysfs / name / "idProduct").write_text(product + "\n")
    dev.mkdir()
    (dev / "apex_0").touch()
    found = list_devices(sysfs, dev)
    assert [(d.kind, Path(d.path).name) for d in found] == [
        ("pci", "apex_0"),
        ("usb", "1-1"),
        ("usb", "1-2"),
    ]


def test_default_threads_are_the_cores_this_process_may_use(zoo_dir: Path) -> None:
    import os

    from edge_runtime.engine import usable_cores

    engine = Engine(zoo_dir / "unet_float_logits.tflite")
    assert engine.delegate.num_threads == usable_cores() == len(os.sched_getaffinity(0))
    n = usable_cores()
    assert f"CPU ({n} thread{'' if n == 1 else 's'})" in engine.delegate.describe()
    assert Engine(zoo_dir / "unet_float_logits.tflite", num_threads=1).delegate.num_threads == 1
