"""Static facts read from a .tflite flatbuffer without running it.

Op histogram, parameters, zero-weight fraction (sparsity), MACs, custom ops (Edge TPU).
Uses the schema bindings that ship with ai-edge-litert; with only tflite-runtime
installed, ``read_graph`` raises ``ImportError`` and callers degrade gracefully.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from edge_runtime.errors import ModelError

EDGETPU_CUSTOM_OP = "edgetpu-custom-op"

_NUMPY_TYPES = {
    0: np.float32,
    1: np.float16,
    2: np.int32,
    3: np.uint8,
    4: np.int64,
    6: np.bool_,
    7: np.int16,
    9: np.int8,
    10: np.float64,
    15: np.uint32,
    16: np.uint16,
}


@dataclass(frozen=True)
class GraphTensor:
    index: int
    name: str
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...]
    type_name: str
    buffer: int
    scale: tuple[float, ...]
    zero_point: tuple[int, ...]

    @property
    def dynamic(self) -> bool:
        return any(d < 0 for d in self.shape_signature)


@dataclass(frozen=True)
class GraphOp:
    name: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass(frozen=True)
class ModelGraph:
    """One subgraph's ops and tensors, plus the constant data they reference."""

    ops: tuple[GraphOp, ...]
    tensors: tuple[GraphTensor, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    subgraphs: int
    _constants: dict[int, np.ndarray] = field(repr=False)

    def constant(self, tensor: int) -> np.ndarray | None:
        """The constant data of a tensor (weights), or None for activations."""
        return self._constants.get(tensor)

    @property
    def op_histogram(self) -> dict[str, int]:
        return dict(Counter(op.name for op in self.ops).most_common())

    @property
    def edgetpu_compiled(self) -> bool:
        return any(op.name == EDGETPU_CUSTOM_OP for op in self.ops)

    @property
    def params(self) -> int:
        """Elements of all constant tensors (weights, biases, quantized or not)."""
        return int(sum(a.size for a in self._constants.values()))

    def kernel_tensors(self) -> list[tuple[GraphTensor, np.ndarray]]:
        """The weight tensors of conv, depthwise, transposed-conv and fully-connected ops."""
        found: dict[int, tuple[GraphTensor, np.ndarray]] = {}
        for op in self.ops:
            slot = _KERNEL_SLOT.get(op.name)
            if slot is None or slot >= len(op.inputs) or op.inputs[slot] < 0:
                continue
            data = self.constant(op.inputs[slot])
            if data is not None:
                found[op.inputs[slot]] = (self.tensors[op.inputs[slot]], data)
        return list(found.values())

    @property
    def zero_weight_fraction(self) -> float | None:
        """Share of kernel weights that are zero (in the quantized domain: q == zero point)."""
        zeros = total = 0
        for tensor, data in self.kernel_tensors():
            zp = _zero_point_array(tensor, data)
            zeros += int(np.count_nonzero(data == zp))
            total += data.size
        return zeros / total if total else None

    @property
    def macs(self) -> int:
        """Multiply-accumulates of conv, depthwise, transposed conv and fully connected ops."""
        total = 0
        for op in self.ops:
            total += _op_macs(self, op)
        return total


_KERNEL_SLOT = {
    "CONV_2D": 1,
    "DEPTHWISE_CONV_2D": 1,
    "FULLY_CONNECTED": 1,
    "TRANSPOSE_CONV": 1,
    "CONV_3D": 1,
}


def _zero_point_array(tensor: GraphTensor, data: np.ndarray) -> np.ndarray | int:
    if not np.issubdtype(data.dtype, np.integer) or not tensor.zero_point:
        return 0
    zp = np.asarray(tensor.zero_point)
    if zp.size == 1:
        return int(zp[0])
    # Per-channel zero points run along the quantized dimension (axis 0 for conv kernels).
    shape = [1] * data.ndim
    shape[0] = zp.size
    return zp.reshape(shape) if data.shape[0] == zp.size else int(zp.flat[0])


def _op_macs(graph: ModelGraph, op: GraphOp) -> int:
    t = graph.tensors
    if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and len(op.inputs) > 1:
        out = t[op.outputs[0]].shape
        kernel = t[op.inputs[1]].shape
        if op.name == "CONV_2D":  # kernel [Co, Kh, Kw, Ci]
            return int(np.prod(out)) * kernel[1] * kernel[2] * kernel[3]
        if op.name == "DEPTHWISE_CONV_2D":  # kernel [1, Kh, Kw, Co]
            return int(np.prod(out)) * kernel[1] * kernel[2]
        return int(np.prod(out)) * kernel[-1]  # FC kernel [units, features]
    if op.name == "TRANSPOSE_CONV" and len(op.inputs) > 2:
        kernel = t[op.inputs[1]].shape  # [Co, Kh, Kw, Ci]
        x = t[op.inputs[2]].shape  # [N, H, W, Ci]
        return int(np.prod(x)) * kernel[0] * kernel[1] * kernel[2]
    return 0


@cache
def _op_names() -> dict[int, str]:
    from ai_edge_litert import schema_py_generated as schema

    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


@cache
def _type_names() -> dict[int, str]:
    from ai_edge_litert import schema_py_generated as schema

    return {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}


def read_graph(path: Path | str, data: bytes | None = None) -> ModelGraph:
    """Parse the main subgraph of a .tflite file.

    Raises ``ImportError`` when the schema bindings are missing and ``ModelError`` when
    the file is not a TFLite flatbuffer.
    """
    from ai_edge_litert import schema_py_generated as schema

    raw = data if data is not None else Path(path).read_bytes()
    check_identifier(raw, path)
    model = schema.Model.GetRootAs(raw, 0)
    names, types = _op_names(), _type_names()
    codes = []
    for i in range(model.OperatorCodesLength()):
        oc = model.OperatorCodes(i)
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        if code == schema.BuiltinOperator.CUSTOM:
            codes.append((oc.CustomCode() or b"").decode())
        else:
            codes.append(names.get(code, f"BUILTIN_{code}"))
    sub = model.Subgraphs(0)
    tensors = []
    constants: dict[int, np.ndarray] = {}
    for i in range(sub.TensorsLength()):
        ts = sub.Tensors(i)
        q = ts.Quantization()
        scale = tuple(float(s) for s in q.ScaleAsNumpy()) if q and q.ScaleLength() else ()
        zp = tuple(int(z) for z in q.ZeroPointAsNumpy()) if q and q.ZeroPointLength() else ()
        shape = tuple(int(d) for d in ts.ShapeAsNumpy()) if ts.ShapeLength() else ()
        sig = (
            tuple(int(d) for d in ts.ShapeSignatureAsNumpy())
            if ts.ShapeSignatureLength()
            else shape
        )
        tensor = GraphTensor(
            i,
            (ts.Name() or b"").decode(errors="replace"),
            shape,
            sig,
            types.get(ts.Type(), str(ts.Type())),
            ts.Buffer(),
            scale,
            zp,
        )
        tensors.append(tensor)
        buf = model.Buffers(ts.Buffer()) if ts.Buffer() < model.BuffersLength() else None
        dtype = _NUMPY_TYPES.get(ts.Type())
        if buf is None or dtype is None:
            continue
        if buf.DataLength():
            blob = buf.DataAsNumpy()
        elif buf.Offset() > 1:  # large models keep weights after the flatbuffer
            blob = np.frombuffer(raw, np.uint8, int(buf.Size()), int(buf.Offset()))
        else:
            continue
        contiguous = blob if blob.flags.c_contiguous else blob.tobytes()
        arr: np.ndarray = np.frombuffer(contiguous, dtype)
        if shape and arr.size == int(np.prod(shape)):
            arr = arr.reshape(shape)
        constants[i] = arr
    ops = []
    for i in range(sub.OperatorsLength()):
        op = sub.Operators(i)
        ops.append(
            GraphOp(
                codes[op.OpcodeIndex()],
                tuple(int(x) for x in op.InputsAsNumpy()) if op.InputsLength() else (),
                tuple(int(x) for x in op.OutputsAsNumpy()) if op.OutputsLength() else (),
            )
        )
    return ModelGraph(
        tuple(ops),
        tuple(tensors),
        tuple(int(x) for x in sub.InputsAsNumpy()),
        tuple(int(x) for x in sub.OutputsAsNumpy()),
        model.SubgraphsLength(),
        constants,
    )


def check_identifier(head: bytes, path: Path | str) -> None:
    """``ModelError`` unless ``head`` (the file's first 8 bytes or more) starts a TFLite
    flatbuffer."""
    if len(head) < 8 or head[4:8] != b"TFL3":
        raise ModelError(f"{path} is not a TFLite model (no TFL3 flatbuffer identifier)")


def is_edgetpu_model(data: bytes) -> bool:
    """True when the model holds the Edge TPU custom op (cheap: works without the schema)."""
    return EDGETPU_CUSTOM_OP.encode() in data
