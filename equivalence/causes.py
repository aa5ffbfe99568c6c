"""How a known discrepancy is recognised by its cause, not by where it shows up.

A known entry tolerates a difference only where its cause is shown to be at work:
- `Raises`: the API's observation is an exception of this type whose message matches;
- `Repair`: a function that undoes exactly the described symptom in the observations (say,
  the model-level dtype that `from_config` drops) — after it the API must agree;
- `Workaround`: the check is observed again with a named workaround in place (see
  `portable.WORKAROUNDS`: the subclassed model's input autocast off, the mask not passed
  into a float32-pinned layer, a fixed `get_config`, ...) — the difference must disappear;
- `SelfDisagrees`: observed a second time, the check does not reproduce inside one API (the
  API, or Sequential, its reference, differs from itself), so a difference between APIs
  says nothing about the APIs.
Any other difference in a cell where an entry applies stays a discrepancy.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Callable

from equivalence.compare import ERROR, compare_observations


@dataclass(frozen=True)
class Raises:
    """The API raised `type` with a message that `pattern` (a regex) searches out."""

    type: str
    pattern: str

    def matches(self, observation: dict) -> bool:
        message = observation.get(ERROR) if isinstance(observation, dict) else None
        if not message or not message.startswith(f"{self.type}: "):
            return False
        return re.search(self.pattern, message[len(self.type) + 2:]) is not None



@dataclass(frozen=True)
class Repair:
    """`repair(observation)` returns a copy with the symptom undone (in every API)."""

    repair: Callable[[dict], dict]
    what: str

    def apply(self, observed: dict) -> dict:
        return {api: obs if ERROR in obs else self.repair(copy.deepcopy(obs))
                for api, obs in observed.items()}



@dataclass(frozen=True)
class Workaround:
    """Observed again with `portable.WORKAROUNDS[name]` in place, the APIs agree."""

    name: str
    what: str


def disagrees_with_itself(first: dict, second: dict, who: str) -> bool:
    """Whether `who`'s observation, made twice, differs (bitwise; exceptions aside), the
    counters of the names Keras makes up left out (`unnumbered`): two builds of one model
    are `input_layer_7` and `input_layer_8`, which is no disagreement."""
    if ERROR in first[who] or ERROR in second[who]:
        return False
    return bool(compare_observations({"sequential": unnumbered(first[who]),
                                      "again": unnumbered(second[who])}))


# A name Keras makes up and numbers per session (input_layer_3, cast_14, tf.cast_2,
# seed_generator_5): any word ending in _<digits> that is not one of the suite's own names,
# which start with their position (l0_dense, l1_nested_0_dense) — so a layer of the stack
# that Keras renames (l0_dense_1) is still seen.
_MADE_UP = re.compile(r"(?<![\w.])(?!l\d+_)([A-Za-z][\w.]*?)_\d+\b")


def unnumbered(value):
    """`value` with the counters of the names Keras makes up replaced by `_N`, in every
    string of nested dicts, lists and tuples (arrays and numbers as they are)."""
    if isinstance(value, str):
        return _MADE_UP.sub(r"\1_N", value)
    if isinstance(value, dict):
        return {unnumbered(k): unnumbered(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(unnumbered(v) for v in value)
    return value


@dataclass(frozen=True)
class SelfDisagrees:
    """Observed twice, the API or Sequential (its reference) disagrees with itself."""

    what: str

    def shown(self, first: dict, second: dict, api: str) -> bool:
        return any(disagrees_with_itself(first, second, who)
                   for who in dict.fromkeys(("sequential", api)))



# --- repairs of saved and rebuilt configs -------------------------------------------------
# Saving checks observe {"original": state, "loaded" | "from_config" | "from_json": state},
# each state holding the model's config; a repair edits the configs of the others.

def configs_repair(fix: Callable[[dict, dict], None],
                   original_too: bool = False) -> Callable[[dict], dict]:
    """A repair that calls fix(config, original_config) on every non-original state (and
    on the original's too with `original_too`, for a symptom on either side)."""
    def repair(obs: dict) -> dict:
        original = copy.deepcopy(obs["original"]["config"])
        for key, state in obs.items():
            if key != "original" or original_too:
                fix(state["config"], original)
        return obs
    return repair


def layer_configs(config) -> list[dict]:
    """Every serialized layer ({"class_name", "config"}) inside a config, depth first."""
    found = []
    if isinstance(config, dict):
        if "class_name" in config and isinstance(config.get("config"), dict):
            found.append(config)
        for value in config.values():
            found += layer_configs(value)
    elif isinstance(config, list):
        for value in config:
            found += layer_configs(value)
    return found


def by_name(config: dict) -> dict[str, dict]:
    return {c["config"].get("name"): c for c in layer_configs(config)}


def restore_model_dtype(config: dict, original: dict) -> None:
    """The model-level dtype policy, as the original recorded it."""
    if "dtype" in original:
        config["dtype"] = original["dtype"]


def restore_nested_sequential_dtype(config: dict, original: dict) -> None:
    """Each nested Sequential model's dtype policy, as the original recorded it."""
    before = by_name(original)
    for layer in layer_configs(config):
        old = before.get(layer["config"].get("name"))
        if layer["class_name"] == "Sequential" and old and "dtype" in old["config"]:
            layer["config"]["dtype"] = old["config"]["dtype"]


def restore_discarded_dtype(config: dict, original: dict) -> None:
    """Each layer's dtype policy, as the original recorded it, where the layer's class
    discards the `dtype` its own config passes: rebuilt from the original's config alone,
    it comes back with another policy (the global one)."""
    before = by_name(original)
    for layer in layer_configs(config):
        old = before.get(layer["config"].get("name"))
        if (old and "dtype" in old["config"] and layer["config"].get("dtype")
                != old["config"]["dtype"] and _discards_dtype(old)):
            layer["config"]["dtype"] = old["config"]["dtype"]


def _discards_dtype(serialized: dict) -> bool:
    from equivalence.compat import keras

    cls = getattr(keras.layers, serialized.get("class_name", ""), None)
    if not (isinstance(cls, type) and issubclass(cls, keras.layers.Layer)):
        return False
    try:
        rebuilt = cls.from_config(copy.deepcopy(serialized["config"]))
    except Exception:  # noqa: BLE001 - a class that cannot rebuild alone shows nothing
        return False
    return rebuilt.get_config().get("dtype") != serialized["config"]["dtype"]


def drop_node_mask_none(config, original=None) -> None:
    """Remove a `mask: None` keyword argument from every node of a Functional config."""
    if isinstance(config, dict):
        kwargs = config.get("kwargs")
        if isinstance(kwargs, dict) and "mask" in kwargs and kwargs["mask"] is None:
            del kwargs["mask"]
        for value in config.values():
            drop_node_mask_none(value)
    elif isinstance(config, list):
        for value in config:
            drop_node_mask_none(value)


def drop_nested_keys(*keys: str) -> Callable[[dict, dict], None]:
    """Remove `keys` from nested layer configs where the original has none of them."""
    def fix(config: dict, original: dict) -> None:
        before = by_name(original)
        for layer in layer_configs(config):
            old = before.get(layer["config"].get("name"), {})
            for key in keys:
                if key in layer and key not in old:
                    del layer[key]
    return fix


def drop_shared_object_ids(config, original=None) -> None:
    """Remove serialization_lib's `shared_object_id` bookkeeping keys everywhere in a
    config (Keras 2 echoes them in a loaded layer's auto config)."""
    if isinstance(config, dict):
        config.pop("shared_object_id", None)
        for value in config.values():
            drop_shared_object_ids(value)
    elif isinstance(config, list):
        for value in config:
            drop_shared_object_ids(value)


def restore_build_batch(config: dict, original: dict) -> None:
    """Each nested layer's build_config as the original recorded it."""
    before = by_name(original)
    for layer in layer_configs(config):
        old = before.get(layer["config"].get("name"))
        if old and "build_config" in old and "build_config" in layer:
            layer["build_config"] = old["build_config"]


def rename_auto_named(*prefixes: str) -> Callable[[dict, dict], None]:
    """Auto-numbered op layer names (`cast_445`, `any_7`) replaced by the original's, for
    each prefix, matched by where they first appear in the config. Not by their numbers:
    from_config numbers an outer model's op layers before a nested model's, the original
    the other way round (found by the matrix on tf217)."""
    patterns = [re.compile(rf"^{re.escape(prefix)}(_\d+)?$") for prefix in prefixes]

    def fix(config: dict, original: dict) -> None:
        for pattern in patterns:
            ours = dict.fromkeys(n for n in _strings(config) if pattern.match(n))
            theirs = dict.fromkeys(n for n in _strings(original) if pattern.match(n))
            if len(ours) == len(theirs):  # otherwise the structures differ: leave it
                _replace_strings(config, dict(zip(ours, theirs)))
    return fix


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _replace_strings(value, mapping):
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str):
                value[k] = mapping.get(v, v)
            else:
                _replace_strings(v, mapping)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, str):
                value[i] = mapping.get(v, v)
            else:
                _replace_strings(v, mapping)


# The suite names the outer model "stack" and nested models "l<i>_nested" (builders).
MODEL_SCOPE = re.compile(r"^(stack|l\d+_nested(_\d+_nested)*)$")


def strip_model_scopes(obs: dict) -> dict:
    """weight_paths: the name scopes of the outer and nested models removed from every
    path, so only where a model's name shows in a path is repaired."""
    obs["paths"] = ["/".join(part for part in path.split("/") if not MODEL_SCOPE.match(part))
                    for path in obs["paths"]]
    return obs
