"""The user's own layer kinds, drawn mixed with Keras' own in every check.

A project exposes its kinds in either of two ways:

- an entry point in the group `keras_parity.layers` (its `pyproject.toml`:
  `[project.entry-points."keras_parity.layers"] mine = "my_package.parity:LAYERS"`),
  found whenever the package is installed;
- `pytest --parity-layers=my_package.parity` (comma-separated modules), for code that is
  not installed.

Either names a sequence of `LayerInfo` (or a module with such a `LAYERS`, or a callable
returning one), each with `cls=` the user's layer class. A malformed entry (nothing
`LayerInfo`, a class that is not a Keras Layer, no config strategy, a kind Keras' own
registry already has) is refused with one line naming it (exit 2 under pytest).
"""
from __future__ import annotations

import importlib
import importlib.metadata
import inspect
from types import ModuleType

GROUP = "keras_parity.layers"
# kind -> where it came from ("entry point mine = my_package.parity:LAYERS", "module x")
LOADED: dict[str, str] = {}


class BadPlugin(Exception):
    """One line for the user, naming the entry."""


def _infos(obj, source: str) -> list:
    from equivalence.layers import LayerInfo

    if isinstance(obj, ModuleType):
        if not hasattr(obj, "LAYERS"):
            raise BadPlugin(f"{source}: the module has no LAYERS (a sequence of LayerInfo)")
        obj = obj.LAYERS
    if callable(obj) and not isinstance(obj, (list, tuple)):
        obj = obj()
    if isinstance(obj, LayerInfo):
        obj = [obj]
    try:
        infos = list(obj)
    except TypeError:
        raise BadPlugin(f"{source}: expected a sequence of LayerInfo, got "
                        f"{type(obj).__name__}") from None
    for info in infos:
        if not isinstance(info, LayerInfo):
            raise BadPlugin(f"{source}: {info!r} is not a LayerInfo")
    return infos


def validate(info, source: str) -> None:
    """Refuse what the suite could not draw or build, naming the entry and the kind."""
    from hypothesis.strategies import SearchStrategy

    from equivalence.compat import keras
    from equivalence.layers import REGISTRY

    where = f"{source}: kind {info.kind!r}"
    if info.kind in LOADED and REGISTRY[info.kind].cls is info.cls:
        return  # the same class reached twice (its entry point and --parity-layers)
    if info.kind in REGISTRY and LOADED.get(info.kind) != source:
        raise BadPlugin(f"{where} is already registered "
                        f"({LOADED.get(info.kind, 'by keras-parity itself')})")
    if info.cls is None and info.make is None:
        raise BadPlugin(f"{where} names no layer class (LayerInfo(..., cls=MyLayer))")
    if info.cls is not None and not (inspect.isclass(info.cls)
                                     and issubclass(info.cls, keras.layers.Layer)):
        raise BadPlugin(f"{where}: {info.cls!r} is not a keras.layers.Layer subclass "
                        f"(of the Keras this suite runs, {keras.__name__})")
    rank = min(info.ranks) if info.ranks else None
    strategy = info.configs((4,) * rank) if callable(info.configs) and rank else None
    if not isinstance(strategy, SearchStrategy):
        raise BadPlugin(f"{where} has no config strategy: configs(shape) must return a "
                        f"Hypothesis strategy of constructor arguments")


def _register(infos: list, source: str) -> list[str]:
    from equivalence.layers import REGISTRY, register

    for info in infos:
        validate(info, source)
    new = [info for info in infos if info.kind not in REGISTRY]
    register(*new)
    for info in new:
        LOADED[info.kind] = source
    return [info.kind for info in new]


def load(modules: str | None = None, entry_points=None) -> list[str]:
    """Register every installed entry point's kinds and those of `modules`
    ("a.b,c.d"); the kinds added. Raises BadPlugin on the first malformed entry."""
    added = []
    if entry_points is None:
        entry_points = importlib.metadata.entry_points(group=GROUP)
    for ep in entry_points:
        source = f"entry point {ep.name} = {ep.value}"
        try:
            obj = ep.load()
        except Exception as exc:  # noqa: BLE001 - the user's import error, in one line
            raise BadPlugin(f"{source}: cannot load it ({type(exc).__name__}: {exc})") \
                from None
        added += _register(_infos(obj, source), source)
    for name in filter(None, (m.strip() for m in (modules or "").split(","))):
        source = f"--parity-layers {name}"
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001
            raise BadPlugin(f"{source}: cannot import it ({type(exc).__name__}: {exc})") \
                from None
        added += _register(_infos(module, source), source)
    return added
