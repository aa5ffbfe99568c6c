"""`python -m equivalence.coverage`: which of this Keras' layers the suite draws.

Every class the running Keras exports from `keras.layers` is listed as

    user       a kind of the user's own (equivalence.plugins: entry points, --parity-layers)
    drawn      a registry kind builds it (so every check reaches it)
    alias      another exported name of a class listed under its own name
    excluded   cannot stand in a linear stack of one input, with the reason
    not drawn  could, but no registry kind builds it yet

and the share drawn of the eligible classes (drawn + not drawn) is printed last.
`--fail-under PCT` exits 1 below that share; `--markdown` prints the table as Markdown.
Bad options: one line, exit 2.
"""
from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass

from equivalence.cli import Parser

# Classes that cannot be one layer of a linear stack, by the reason they cannot.
_MULTI_INPUT = "takes several inputs (a merge or cross-attention)"
_REASONS = {
    **dict.fromkeys(("Layer", "InputLayer", "Wrapper", "InputSpec", "AbstractRNNCell"),
                    "abstract base or model plumbing"),
    **dict.fromkeys(("JaxLayer", "FlaxLayer", "TorchModuleWrapper"),
                    "wraps another backend's module (JAX, Flax, PyTorch)"),
    **dict.fromkeys(("Attention", "AdditiveAttention", "HashedCrossing"), _MULTI_INPUT),
    "MaxNumBoundingBoxes": "works on bounding-box dictionaries, not a tensor",
    "DenseFeatures": "takes a dictionary of feature columns, not a tensor (Keras 2)",
}

# Classes that could stand in a stack but that no registry kind builds yet, by the reason.
_SIZE_PER_CALL = ("in training its output {} is drawn anew on each call, so its symbolic "
                  "shape has none (compute_output_shape, Keras 2 and 3): no layer after it "
                  "that needs a size can be built, and training and inference give different "
                  "shapes; a legacy layer in Keras 3 (keras/src/legacy/layers.py)")
_NOT_YET = {
    "RandomHeight": _SIZE_PER_CALL.format("height"),
    "RandomWidth": _SIZE_PER_CALL.format("width"),
}


def exclusion(cls) -> str | None:
    """Why `cls` cannot stand in a linear stack of one input (None when it can)."""
    if cls.__name__ in _REASONS:
        return _REASONS[cls.__name__]
    if {base.__name__ for base in inspect.getmro(cls)[1:]} & {"Merge", "_Merge"}:
        return _MULTI_INPUT
    return None


@dataclass(frozen=True)
class Row:
    name: str
    status: str  # drawn / alias / excluded / not drawn
    detail: str = ""


def exported_classes(layers_module) -> dict[str, type]:
    """Every public class `keras.layers` exports (InputSpec, not a Layer, is excluded later)."""
    found = {}
    for name in dir(layers_module):
        obj = getattr(layers_module, name)
        if not name.startswith("_") and inspect.isclass(obj):
            found[name] = obj
    return found


def rows(layers_module=None, registry=None) -> list[Row]:
    """The coverage of `layers_module` (default: this Keras' keras.layers) by `registry`."""
    if layers_module is None or registry is None:
        from equivalence.compat import keras
        from equivalence.layers import REGISTRY

        layers_module = keras.layers if layers_module is None else layers_module
        registry = REGISTRY if registry is None else registry
    classes = exported_classes(layers_module)
    drawn: dict[type, list[str]] = {}
    broken: dict[type, str] = {}  # a registry kind this Keras' layer fails in every API
    for kind, info in registry.items():
        for name in (info.class_name or kind, *getattr(info, "covers", ())):
            cls = classes.get(name)
            if cls is not None and info.available:
                drawn.setdefault(cls, []).append(kind)
            elif cls is not None:
                from equivalence.layers import NOT_YET_RUN_NOTE, run_here

                # The probe's reason first: a kind this Keras cannot run at all is not
                # merely waiting for its run (TFSMLayer on Keras 3.3 to 3.8).
                why = (NOT_YET_RUN_NOTE if not info.broken_here and not run_here(kind)
                       else getattr(info, "note", ""))
                broken.setdefault(cls, f"registry kind {kind} not drawn here: {why}")
    # One name per class: the one that is its own __name__, else the first in order.
    canonical: dict[type, str] = {}
    for name in sorted(classes):
        cls = classes[name]
        if cls not in canonical or name == cls.__name__:
            canonical[cls] = name
    out = []
    for name in sorted(classes):
        cls = classes[name]
        if canonical[cls] != name:
            out.append(Row(name, "alias", f"of {canonical[cls]}"))
        elif cls in drawn:
            kinds = [k for k in drawn[cls] if k != name]
            out.append(Row(name, "drawn", f"as {', '.join(kinds)}" if kinds else ""))
        elif (why := exclusion(cls)) is not None:
            out.append(Row(name, "excluded", why))
        else:
            out.append(Row(name, "not drawn", broken.get(cls, _NOT_YET.get(name, ""))))
    return out


def user_rows() -> list[Row]:
    """The user's own kinds (equivalence.plugins), drawn beside Keras' classes."""
    from equivalence import plugins
    from equivalence.layers import REGISTRY

    return [Row(kind, "user", f"{REGISTRY[kind].cls.__module__}."
                              f"{REGISTRY[kind].cls.__qualname__} from {source}")
            for kind, source in sorted(plugins.LOADED.items())]


def share(table: list[Row]) -> tuple[int, int]:
    """(drawn, eligible): aliases and excluded classes count for neither."""
    drawn = sum(r.status == "drawn" for r in table)
    return drawn, drawn + sum(r.status == "not drawn" for r in table)


def summary_line(table: list[Row], keras_version: str) -> str:
    drawn, eligible = share(table)
    counts = {s: sum(r.status == s for r in table) for s in ("alias", "excluded")}
    pct = 100 * drawn / eligible if eligible else 100.0
    return (f"Keras {keras_version}: {drawn} of {eligible} eligible layer classes drawn "
            f"({pct:.0f}%); {counts['alias']} aliases, {counts['excluded']} excluded")


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m equivalence.coverage",
                     description=__doc__.split("\n")[0])
    parser.add_argument("--fail-under", type=float, metavar="PCT", default=None,
                        help="exit 1 when less than PCT%% of the eligible classes are drawn")
    parser.add_argument("--markdown", action="store_true", help="the table as Markdown")
    parser.add_argument("--parity-layers", metavar="MODULE[,MODULE]", default=None,
                        help="also load these modules' layer kinds (installed entry points "
                             "in keras_parity.layers are always loaded)")
    ns = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if ns.fail_under is not None and not 0 <= ns.fail_under <= 100:
        parser.error(f"--fail-under must be a percentage between 0 and 100, got "
                     f"{ns.fail_under:g}")
    from equivalence import compat, plugins

    try:
        plugins.load(ns.parity_layers)
    except plugins.BadPlugin as exc:
        parser.error(str(exc))
    table = rows()
    users = user_rows()
    order = {"user": 0, "drawn": 1, "not drawn": 2, "excluded": 3, "alias": 4}
    table_sorted = users + sorted(table, key=lambda r: (order[r.status], r.name))
    if ns.markdown:
        print("| class | status | detail |\n|---|---|---|")
        for r in table_sorted:
            print(f"| {r.name} | {r.status} | {r.detail} |")
    else:
        width = max(len(r.name) for r in table)
        for r in table_sorted:
            print(f"{r.name:<{width}}  {r.status:<9}  {r.detail}".rstrip())
    print(summary_line(table, compat.KERAS_VERSION)
          + (f"; and {len(users)} user kinds: {', '.join(r.name for r in users)}"
             if users else ""))
    drawn, eligible = share(table)
    if ns.fail_under is not None and eligible and 100 * drawn / eligible < ns.fail_under:
        print(f"coverage {100 * drawn / eligible:.1f}% is under --fail-under "
              f"{ns.fail_under:g}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
