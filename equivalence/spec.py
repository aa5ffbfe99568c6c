"""StackSpec / LayerSpec: plain, frozen data describing one random stack of layers.

A spec serialises to JSON and back unchanged (tuples survive: they are tagged in JSON),
carries a schema version, and is what every failure report and artifact is keyed on.
This module imports neither TensorFlow nor Keras.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1
INPUT_FAMILIES = ("vector", "sequence", "image", "tokens", "volume", "text", "volume_sequence")
POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


class SpecError(ValueError):
    """A spec that cannot be read: malformed, from a newer schema, or naming an unknown kind."""


@dataclass(frozen=True)
class InputSpec:
    """The model input: shape without the batch axis, dtype, and vocabulary for token ids
    or words."""

    family: str
    shape: tuple[int, ...]
    dtype: str = "float32"
    # token ids are drawn from [1, vocab), 0 being padding; text from the words w1..w<vocab>
    vocab: int | None = None


@dataclass(frozen=True)
class LayerSpec:
    """One layer: its registry kind and its config (a tuple of sorted (key, value) pairs).

    ``dtype`` pins the layer's dtype policy (e.g. "float32" inside a mixed stack).
    """

    kind: str
    config: tuple[tuple[str, Any], ...] = ()
    dtype: str | None = None

    @staticmethod
    def of(kind: str, dtype: str | None = None, **config: Any) -> "LayerSpec":
        return LayerSpec(kind, tuple(sorted(config.items())), dtype)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.config)

    @property
    def inner(self) -> tuple["LayerSpec", ...]:
        """The layers of a nested stack (its config's "layers"); () for any other layer."""
        return tuple(self.params.get("layers", ()))


def leaves(layers) -> list[LayerSpec]:
    """The layers in call order, a nested stack's inner layers in its place."""
    out: list[LayerSpec] = []
    for layer in layers:
        out += leaves(layer.inner) if layer.inner else [layer]
    return out


@dataclass(frozen=True)
class StackSpec:
    """A linear stack: input, layers, global dtype policy, seed and batch size."""

    input: InputSpec
    layers: tuple[LayerSpec, ...]
    policy: str = "float32"
    seed: int = 0
    batch: int = 8
    schema_version: int = field(default=SCHEMA_VERSION)

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(_encode(self), indent=indent, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> "StackSpec":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"spec is not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(raw, dict) or raw.get("__type__") != "StackSpec":
            raise SpecError("spec JSON is not a StackSpec object")
        version = raw.get("schema_version")
        if not isinstance(version, int):
            raise SpecError("spec has no integer schema_version")
        if version > SCHEMA_VERSION:
            raise SpecError(
                f"spec schema version {version} is newer than this suite's {SCHEMA_VERSION}; "
                "upgrade keras-parity to read it")
        try:
            spec = _decode(raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(f"spec JSON is malformed: {exc}") from None
        return spec

    @property
    def digest(self) -> str:
        """A short stable id of the spec (same JSON, same digest)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:10]

    @property
    def compute_dtype(self) -> str:
        """The dtype layers compute in under the stack's policy (variables stay float32)."""
        return {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}.get(self.policy,
                                                                             "float32")

    def reseeded(self) -> "StackSpec":
        """The same stack with the next seed: other initial weights, same architecture."""
        return dataclasses.replace(self, seed=self.seed + 1)

    def kinds(self) -> list[str]:
        """Every layer kind in the stack, nested stacks included, in order."""
        out: list[str] = []
        for layer in self.layers:
            out.append(layer.kind)
            out.extend(inner.kind for inner in layer.inner)
        return out


_TYPES = {"StackSpec": StackSpec, "LayerSpec": LayerSpec, "InputSpec": InputSpec}


def _encode(obj: Any) -> Any:
    if isinstance(obj, (StackSpec, LayerSpec, InputSpec)):
        out = {"__type__": type(obj).__name__}
        for name in obj.__dataclass_fields__:
            value = getattr(obj, name)
            if isinstance(obj, LayerSpec) and name == "config":
                out[name] = {key: _encode(val) for key, val in value}
            else:
                out[name] = _encode(value)
        return out
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(item) for item in obj]}
    if isinstance(obj, list):
        raise TypeError("specs hold tuples, not lists")
    return obj


def _decode(obj: Any) -> Any:
    if isinstance(obj, list):
        raise ValueError("bare JSON list (tuples are tagged with __tuple__)")
    if not isinstance(obj, dict):
        return obj
    if "__tuple__" in obj:
        return tuple(_decode(item) for item in obj["__tuple__"])
    type_name = obj.get("__type__")
    if type_name not in _TYPES:
        raise ValueError(f"unknown object type {type_name!r}")
    fields = {k: _decode(v) for k, v in obj.items() if k not in ("__type__", "config")}
    if type_name == "LayerSpec":
        config = obj.get("config", {})
        if not isinstance(config, dict):
            raise ValueError("LayerSpec.config must be an object")
        fields["config"] = tuple(sorted((k, _decode(v)) for k, v in config.items()))
    cls = _TYPES[type_name]
    unknown = set(fields) - set(cls.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown {type_name} field(s) {sorted(unknown)}")
    return cls(**fields)


def load_spec(path) -> StackSpec:
    """Read a spec from a `spec.json` file or a failure directory holding one."""
    from pathlib import Path

    path = Path(path)
    if path.is_dir():
        path = path / "spec.json"
    if not path.exists():
        raise SpecError(f"no spec file at {path}")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read spec file {path}: {exc}") from None
    return StackSpec.from_json(text)
