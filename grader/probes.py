"""The typed vocabulary of probe operations: what a check may ask of the student's kernel.

Checks' `plan()` return these operations; capture.py sends them, with ids, in one `Request`; the kernel
side (`grader/sandbox/kernel_side/`) runs each against the student's namespace and answers a dict of
plain data, whose keys each operation's docstring lists. Standard library only: this module also runs
inside the kernel, loaded there from its source text under the same name, `grader.probes`.

Every answer also has `ok` (False when the operation raised: then `error` holds `ename`, `evalue` and
`traceback`), `probe_seconds` and `printed` (the last 2,000 characters the student's code printed
during the operation). In answers, arrays are numpy arrays (the JSON carries `{"__array__": key}`
references into the NPZ, which capture.py resolves); a value that cannot be captured is
`{"__unsupported__": why}`; any other object is `{"__type__": class name, "repr": its repr, cut}`.

Dict form (JSON-able, what crosses into the kernel and what executions store): an operation is
`{"op": <tag>, <field>: <value>, ...}`, an argument, model source or step `{"kind": <tag>, ...}`,
tuples are lists. `to_dict` and `from_dict` are exact inverses for operations whose literals are
JSON data.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

# ---- arguments: how a value the student's code receives is made in the kernel ------------------


@dataclass(frozen=True)
class InputArg:
    """A grader input array, by its key in the request's inputs file, as `form`: "array" (a numpy
    copy), "tensor" (torch.from_numpy of a copy) or "list" (nested lists)."""

    key: str
    form: str = "array"
    tag: ClassVar[str] = "input"


@dataclass(frozen=True)
class StudentArg:
    """The student's own object, by its name in the namespace (also: a model to run)."""

    name: str
    tag: ClassVar[str] = "student"


@dataclass(frozen=True)
class FileArg:
    """The path (a string) of a file the grader wrote where the student's code can read it."""

    path: str
    tag: ClassVar[str] = "file"


@dataclass(frozen=True)
class LiteralArg:
    """A JSON-able value, passed as it is."""

    value: Any
    tag: ClassVar[str] = "literal"


@dataclass(frozen=True)
class TupleArg:
    """A tuple made of arguments, e.g. an input shape `(1, 28, 28)`."""

    items: tuple[Arg, ...]
    tag: ClassVar[str] = "tuple"


Arg = InputArg | StudentArg | FileArg | LiteralArg | TupleArg


# ---- which model a forward operation runs --------------------------------------------------------


@dataclass(frozen=True)
class Construct:
    """A fresh `cls(*args)` of the student's class, built right after seeding numpy and torch with
    `seed` (None: not seeded)."""

    cls: str
    args: tuple[Arg, ...] = ()
    seed: int | None = None
    tag: ClassVar[str] = "construct"


@dataclass(frozen=True)
class Candidates:
    """Every torch model found under `names` ("*": any public name of the namespace), in that order,
    that maps two inputs to scores of shape (2, `width`); at most `limit` of them."""

    names: tuple[str, ...]
    width: int = 10
    limit: int = 6
    tag: ClassVar[str] = "candidates"


ModelSource = StudentArg | Construct | Candidates


@dataclass(frozen=True)
class Step:
    """One method call on the value a `CallOp` holds: `value.method(*args)`. With `chain`, what it
    returns (unless None) becomes the value for the next step (`fit` returning self); with `keep`,
    what it returns is answered in the call's `steps`."""

    method: str
    args: tuple[Arg, ...] = ()
    chain: bool = False
    keep: bool = False
    tag: ClassVar[str] = "step"


# ---- operations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueOp:
    """Read the student's `name` as plain data.

    Answers `type` (the class name) and `kind`, with, per kind:
    - "module" (a torch model): `module`, its summary: `class`, `layers` (leaf layers in order, each
      `path`, `type`, `attrs` (hyper-parameters), `bias`), `param_shapes`, `n_params`, `training`,
      and `params` (the parameter arrays) when `params`;
    - "callable" (a function or class): nothing more;
    - "too_big" (larger than `max_bytes`): `shape`;
    - "summary" (when `rows` is given): `shape`, `dtype`, `rows` (those rows, each flattened),
      `colsum` (float64 column sums of the flattened rows);
    - "array": `value` (the array), `shape`, `dtype`;
    - "value" (anything else): `value` (plain data), and `shape`, `dtype` when the object has them.
    """

    name: str
    params: bool = True
    max_bytes: int | None = None
    rows: tuple[int, ...] | None = None
    tag: ClassVar[str] = "value"


@dataclass(frozen=True)
class ModulesOp:
    """List every torch model bound to a public name of the namespace (each object once).

    Answers `modules`: one summary per model (as for `ValueOp`) plus its `name`; `params` only for
    models of at most `max_params` parameters.
    """

    max_params: int = 200_000
    tag: ClassVar[str] = "modules"


@dataclass(frozen=True)
class ForwardOp:
    """Run a torch model on the grader's input batch `input` (no gradients, by batches).

    A `StudentArg` model is deep-copied first; a `Construct` is built. Before running: with `eval`,
    the model is put in eval mode; with `random_weights_seed`, every parameter is replaced by
    normal(0, `random_scale`) float32 values drawn from that seed, in the order the forward pass
    first uses the parameters (the specification's layer order, whatever order the student
    declared them in); with `weights`, by the grader's input arrays of those keys. Answers `shape`
    (of the output), `output` (the output array, or its argmax over dimension 1 with `argmax`) and,
    with `random_weights_seed`, `params` (the arrays loaded, in that order).

    With `Candidates`, answers `candidates` instead: per model tried, `name` and either `output`
    (its predicted labels, the argmax of its scores) or `error` (as an answer's `error`).
    """

    model: ModelSource
    input: str
    random_weights_seed: int | None = None
    random_scale: float = 0.3
    weights: tuple[str, ...] | None = None
    eval: bool = True
    batch_size: int = 500
    argmax: bool = False
    tag: ClassVar[str] = "forward"


@dataclass(frozen=True)
class StructureOp:
    """Trace one forward pass of a torch model (a deep copy, or a fresh `Construct`) on the
    grader's batch `input`, in eval mode with `eval`, recording every torch call that consumed an
    activation: module layers (through the functional calls they make) and functional ones alike.

    Answers `calls` (in order, at most 400; each `fn` (the function's name), `module` ("Tensor"
    for a tensor method), `args` and `kwargs` (an activation as `{"act": shape, "dtype"}`, a
    parameter as `{"param": name, "shape"}`, another tensor as `{"tensor": shape, "dtype"}`,
    literals as themselves, anything else as `{"other": class name}`), `out` (the shapes of the
    tensors returned), `raised` (True on the call that raised)), `truncated`, `forward_error` (as
    an answer's `error`, when the forward pass raised: the calls are those made until then) and
    `params` (each `name`, `shape`, in order of first use).
    """

    model: StudentArg | Construct
    input: str
    eval: bool = True
    tag: ClassVar[str] = "structure"


@dataclass(frozen=True)
class CallOp:
    """Call the student's function or class `name(*args, **kwargs)`, then the `steps` on the value.

    numpy and torch are seeded with `seed` first (None: not seeded). While the student's code runs,
    calls into the Python code of the packages in `watch` (dotted prefixes) are counted. Answers
    `forbidden_hits` ({watched prefix: calls}), `mutated_args` (per positional argument: a numpy
    array the call changed in place), `seconds` (time spent in the student's code), `steps` (per
    step, its return value as plain data when it is kept, else None), `result` (the final value as
    plain data) when `result`, and `module` (its summary without parameters) when `describe` and the
    final value is a torch model.
    """

    name: str
    args: tuple[Arg, ...] = ()
    kwargs: dict[str, Arg] = field(default_factory=dict)
    seed: int | None = None
    watch: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()
    describe: bool = False
    result: bool = True
    tag: ClassVar[str] = "call"


@dataclass(frozen=True)
class FiguresOp:
    """Take the figures drawn since the previous FiguresOp (the log is emptied).

    Answers `figures`: per figure with data, `execution_count` (IPython's counter while it was
    drawn, which runs one ahead of the cell's number), `axes` (each `images`, `lines`,
    `collections`, `color_groups`, `title`, `has_data`), `data_axes` and `image_axes`.
    """

    tag: ClassVar[str] = "figures"


@dataclass(frozen=True)
class CallsLogOp:
    """Read the log of forbidden callables the notebook's own code called (see SessionConfig's
    `forbidden_calls`). Answers `calls`: each `call` (the dotted name) and `execution_count` (the
    number of the student cell, counting from 1, that made it)."""

    tag: ClassVar[str] = "calls_log"


ProbeOp = ValueOp | ModulesOp | ForwardOp | StructureOp | CallOp | FiguresOp | CallsLogOp
OPERATIONS: tuple[type, ...] = typing.get_args(ProbeOp)


@dataclass(frozen=True)
class Request:
    """One round trip to the kernel: operations by id (answers come back under the same ids), the
    largest array an answer may carry, and the NPZ file of the grader's input arrays (or None)."""

    ops: dict[str, ProbeOp]
    max_array_bytes: int = 256 * 2**20
    inputs: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"ops": [{"id": op_id, **to_dict(op)} for op_id, op in self.ops.items()],
                "max_array_bytes": self.max_array_bytes, "inputs": self.inputs}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Request:
        ops = {}
        for item in data["ops"]:
            body = dict(item)
            op_id = str(body.pop("id"))
            ops[op_id] = from_dict(body)
        return cls(ops, int(data["max_array_bytes"]), data.get("inputs"))


# ---- dict form -----------------------------------------------------------------------------------

_OP_KEY, _KIND_KEY = "op", "kind"
_PARTS: tuple[type, ...] = (*typing.get_args(Arg), Construct, Candidates, Step)
_BY_TAG = {cls.tag: cls for cls in (*OPERATIONS, *_PARTS)}


def _tag_key(cls: type) -> str:
    return _OP_KEY if cls in OPERATIONS else _KIND_KEY


def to_dict(item: Any) -> dict[str, Any]:
    """An operation, argument, model source or step as JSON-able data, with its tag."""
    out: dict[str, Any] = {_tag_key(type(item)): item.tag}
    for f in dataclasses.fields(item):
        out[f.name] = _plain(getattr(item, f.name))
    return out


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return to_dict(value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def from_dict(data: dict[str, Any]) -> ProbeOp:
    """The operation a `to_dict` dict describes; ValueError for an unknown tag or field."""
    cls = _BY_TAG.get(data.get(_OP_KEY)) if isinstance(data, dict) else None
    if cls not in OPERATIONS:
        raise ValueError(f"not a probe operation: {data!r:.200}")
    return _build(cls, data)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(cls: type, data: dict[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names - {_tag_key(cls)}
    if unknown or data.get(_tag_key(cls)) != cls.tag:
        raise ValueError(f"not a {cls.__name__}: {data!r:.200}")
    hints = _hints(cls)
    return cls(**{name: _decode(hints[name], data[name]) for name in names if name in data})


def _decode(hint: Any, value: Any) -> Any:
    """`value` (dict form) as the type `hint` of the field it fills."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        members = [a for a in args if a is not type(None)]
        if len(members) == 1:
            return _decode(members[0], value)
        cls = _BY_TAG.get(value.get(_KIND_KEY)) if isinstance(value, dict) else None
        if cls not in members:
            raise ValueError(f"expected one of {[m.__name__ for m in members]}: {value!r:.200}")
        return _build(cls, value)
    if origin is tuple:
        return tuple(_decode(args[0], v) for v in value)
    if origin is dict:
        return {str(k): _decode(args[1], v) for k, v in value.items()}
    if dataclasses.is_dataclass(hint):
        return _build(hint, value)
    return value
