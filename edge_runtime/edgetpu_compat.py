"""Will this .tflite run on the Edge TPU? A static check of every op, before compiling.

Rules from Coral's "TensorFlow models on the Edge TPU" requirements: tensors are 8-bit
quantized (int32 biases allowed), sizes are fixed at compile time, tensors have at most 3
dimensions larger than 1 (the innermost), and the op is in the supported-operations table.
``edgetpu_compiler`` maps ops to the TPU up to the first op that breaks a rule; that op and
everything after it run on the CPU, so the report names the first one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge_runtime.tflite_graph import GraphOp, ModelGraph, read_graph

# Coral's supported-operations table (TFLite builtin names).
SUPPORTED_OPS = frozenset({
    "ABS", "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D",
    "EXPAND_DIMS", "FULLY_CONNECTED", "HARD_SWISH", "L2_NORMALIZATION", "LOGISTIC", "LSTM",
    "MAXIMUM", "MAX_POOL_2D", "MEAN", "MINIMUM", "MUL", "PACK", "PAD", "PRELU", "QUANTIZE",
    "REDUCE_MAX", "REDUCE_MIN", "RELU", "RELU6", "RELU_N1_TO_1", "RESHAPE", "RESIZE_BILINEAR",
    "RESIZE_NEAREST_NEIGHBOR", "RSQRT", "SLICE", "SOFTMAX", "SPACE_TO_DEPTH", "SPLIT",
    "SQUARED_DIFFERENCE", "SQUEEZE", "STRIDED_SLICE", "SUB", "SUM", "TANH", "TRANSPOSE",
    "TRANSPOSE_CONV",
})  # fmt: skip
EIGHT_BIT = frozenset({"INT8", "UINT8"})
BIAS_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"})


@dataclass(frozen=True)
class OpVerdict:
    index: int
    op: str
    ok: bool
    reason: str


@dataclass(frozen=True)
class CompatibilityReport:
    ops: tuple[OpVerdict, ...]
    already_compiled: bool

    @property
    def first_cpu_op(self) -> OpVerdict | None:
        return next((v for v in self.ops if not v.ok), None)

    @property
    def compatible(self) -> bool:
        return self.already_compiled or self.first_cpu_op is None

    @property
    def mapped_ops(self) -> int:
        """Ops the compiler would put on the TPU (those before the first CPU op)."""
        first = self.first_cpu_op
        return len(self.ops) if first is None else first.index

    def verdict(self) -> str:
        if self.already_compiled:
            return "already compiled for the Edge TPU"
        first = self.first_cpu_op
        if first is None:
            return f"all {len(self.ops)} ops can run on the Edge TPU"
        return (
            f"{self.mapped_ops} of {len(self.ops)} ops can run on the Edge TPU; the rest "
            f"fall back to the CPU from op #{first.index} {first.op}: {first.reason}"
        )


def _tensor_problem(graph: ModelGraph, op: GraphOp, tensor_index: int, slot: int) -> str | None:
    t = graph.tensors[tensor_index]
    if t.dynamic:
        return f"tensor {t.name!r} has a dynamic shape {list(t.shape_signature)}"
    if t.type_name not in EIGHT_BIT:
        is_bias = op.name in BIAS_OPS and slot == 2 and t.type_name == "INT32"
        is_shape = graph.constant(tensor_index) is not None and t.type_name in ("INT32", "INT64")
        if not (is_bias or is_shape):
            return f"tensor {t.name!r} is {t.type_name.lower()}, not 8-bit quantized"
    constant = graph.constant(tensor_index) is not None  # weights may be 4-D (conv kernels)
    if not constant and any(d > 1 for d in t.shape[:-3]):
        return f"tensor {t.name!r} {list(t.shape)} has more than 3 dimensions larger than 1"
    return None


def check_graph(graph: ModelGraph) -> CompatibilityReport:
    verdicts = []
    for i, op in enumerate(graph.ops):
        reason = ""
        if op.name not in SUPPORTED_OPS:
            reason = f"{op.name} is not supported by the Edge TPU"
        else:
            for slot, idx in enumerate(op.inputs):
                if idx >= 0 and (problem := _tensor_problem(graph, op, idx, slot)):
                    reason = problem
                    break
            else:
                for idx in op.outputs:
                    if problem := _tensor_problem(graph, op, idx, -1):
                        reason = problem
                        break
        verdicts.append(OpVerdict(i, op.name, not reason, reason))
    return CompatibilityReport(tuple(verdicts), graph.edgetpu_compiled)


def check_model(path: Path) -> CompatibilityReport:
    """Static Edge TPU compatibility of a .tflite (``ValueError`` if it is not one)."""
    return check_graph(read_graph(path))
