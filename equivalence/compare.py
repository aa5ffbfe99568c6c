"""One comparison function and the one tolerance table.

Bitwise equality is the default oracle: on one device, one TF version and one compile mode
the three APIs run the same kernels. A tolerance is an exception with a named reason, looked
up here by check and dtype; a caller passes both rtol and atol or neither.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

@dataclass(frozen=True)
class Tolerance:
    check: str
    dtype: str  # compute dtype of the compared values ("float32", "float16", "bfloat16")
    rtol: float
    atol: float
    reason: str
    # atol grows to this many times the observation's "rounding_response" (portable: how
    # far one ulp moved between the stack's layers carries to the output), for the stacks
    # whose conditioning magnifies rounding; 0.0: a fixed tolerance.
    per_rounding: float = 0.0

    def atol_for(self, observation: dict) -> float:
        return max(self.atol, self.per_rounding * observation.get("rounding_response", 0.0))


BITWISE = Tolerance("*", "*", 0.0, 0.0, "default: same kernels, same device, same mode")

TOLERANCES = (
    Tolerance("predict_vs_call", "float32", 1e-5, 1e-6,
              "predict runs the model inside a tf.function, __call__ eagerly: Grappler and "
              "oneDNN may fuse or reorder float ops differently (measured ~1e-7); each "
              "place they round differently moves a value by an ulp or two, so atol is at "
              "least 4x the stack's measured response to one ulp at every layer boundary "
              "(Rescaling(1/255, offset=-1) then LayerNormalization: 4e-6 on TF 2.18)",
              per_rounding=4.0),
    Tolerance("predict_vs_call", "float16", 1e-2, 1e-3,
              "as float32, at float16 resolution (eps 9.8e-4)", per_rounding=4.0),
    Tolerance("predict_vs_call", "bfloat16", 5e-2, 1e-2,
              "as float32, at bfloat16 resolution (eps 7.8e-3)", per_rounding=4.0),
)


def tolerance_for(check: str, dtype: str) -> Tolerance:
    for tol in TOLERANCES:
        if tol.check == check and tol.dtype == dtype:
            return tol
    return BITWISE


ERROR = "error"  # an observation {ERROR: message}: the API raised where the others did not


class Mismatch(AssertionError):
    """Two observations differ beyond their tolerance; the message says how."""


def assert_equivalent(actual, expected, *, what: str, rtol: float | None = None,
                      atol: float | None = None) -> None:
    """Raise Mismatch unless `actual` equals `expected` (within rtol/atol if both given).

    Non-numeric values (names, shapes, dtypes) must be equal. Numeric arrays must match in
    shape and dtype; NaNs compare equal to NaNs in the same place. The message gives the
    number of differing elements, the largest absolute and relative difference and where.
    """
    if (rtol is None) != (atol is None):
        raise ValueError("give both rtol and atol, or neither")
    rtol, atol = rtol or 0.0, atol or 0.0
    if isinstance(expected, dict) and isinstance(actual, dict):
        if sorted(actual) != sorted(expected):
            raise Mismatch(f"{what}: keys {sorted(actual)} != expected {sorted(expected)}")
        for key, value in expected.items():
            assert_equivalent(actual[key], value, what=f"{what}.{key}", rtol=rtol, atol=atol)
        return
    if isinstance(expected, (list, tuple)) and _is_array_list(expected):
        if len(actual) != len(expected):
            raise Mismatch(f"{what}: {len(actual)} arrays, expected {len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_equivalent(a, e, what=f"{what}[{i}]", rtol=rtol, atol=atol)
        return
    if not _numeric(expected):
        if _plain(actual) != _plain(expected):
            raise Mismatch(f"{what}: {_plain(actual)!r} != expected {_plain(expected)!r}")
        return
    actual = np.asarray(actual)
    if actual.shape != expected.shape or actual.dtype != expected.dtype:
        raise Mismatch(f"{what}: shape/dtype {actual.shape} {actual.dtype} != expected "
                       f"{expected.shape} {expected.dtype}")
    _assert_close(actual, expected, what, rtol, atol)


def _assert_close(actual, expected, what, rtol, atol):
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    same = (np.isnan(a) & np.isnan(e)) | (a == e)
    with np.errstate(invalid="ignore"):  # inf - inf, 0 * inf: equal infinities are the same
        diff = np.where(same, 0.0, np.abs(a - e))
        bad = ~same & ~(diff <= atol + rtol * np.abs(e))
    if rtol == 0.0 and atol == 0.0:  # bitwise: -0.0 vs 0.0 and NaN payloads count
        bad = ~_bitwise_equal(actual, expected)
    if not bad.any():
        return
    where = np.unravel_index(int(np.argmax(np.where(bad, diff, -1))), diff.shape)
    with np.errstate(over="ignore"):  # a large difference from an expected 0 is inf
        rel = diff / np.maximum(np.abs(e), np.finfo(np.float64).tiny)
    raise Mismatch(
        f"{what}: {int(bad.sum())} of {bad.size} elements differ; largest absolute "
        f"difference {float(diff.max()):.3g} at index {tuple(int(i) for i in where)} "
        f"({float(a[where]):.9g} vs expected {float(e[where]):.9g}); largest relative "
        f"difference {float(np.max(np.where(bad, rel, 0))):.3g}; "
        + ("bitwise equality required" if rtol == atol == 0.0
           else f"rtol={rtol:g}, atol={atol:g}"))


def _bitwise_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "f" or a.dtype.name == "bfloat16":
        view = {2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize]
        return a.view(view) == b.view(view)
    return a == b


def _numeric(value) -> bool:
    return isinstance(value, np.ndarray) and (value.dtype.kind in "fciub"
                                              or value.dtype.name == "bfloat16")


def _is_array_list(value) -> bool:
    return len(value) > 0 and all(isinstance(v, np.ndarray) for v in value)


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def largest_difference(actual, expected) -> float:
    """The largest absolute difference between the numeric leaves of two observations
    (0.0 where they hold none); the figure a check within a tolerance reports."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return max((largest_difference(actual[k], v) for k, v in expected.items()
                    if k in actual), default=0.0)
    if isinstance(expected, (list, tuple)) and isinstance(actual, (list, tuple)):
        return max((largest_difference(a, e) for a, e in zip(actual, expected)), default=0.0)
    if not (_numeric(expected) and _numeric(np.asarray(actual))):
        return 0.0
    a, e = np.asarray(actual).astype(np.float64), expected.astype(np.float64)
    if a.shape != e.shape or a.size == 0:
        return 0.0
    diff = np.where(np.isnan(a) & np.isnan(e), 0.0, np.abs(a - e))
    return float(np.nanmax(diff)) if diff.size else 0.0


def differences(observed: dict, within=None) -> dict:
    """{api: largest absolute difference} over the pairs `compare_observations` compares."""
    return {api: max((largest_difference(actual, expected)
                      for _, actual, expected in _pairs(api, obs, observed, within)),
                     default=0.0)
            for api, obs in observed.items() if ERROR not in obs}


def _pairs(api: str, obs: dict, observed: dict, within=None) -> list[tuple]:
    """(what, actual, expected) for each comparison made for `api` (see
    compare_observations): inside the API with `within`, else against Sequential."""
    if within:
        others = within[1:] or [k for k in obs if k != within[0]]
        return [(f"{api}: {key} vs {within[0]}", obs[key], obs[within[0]]) for key in others]
    if api == "sequential" or ERROR in observed["sequential"]:
        return []
    return [(f"{api} vs sequential: {key}", obs[key], value)
            for key, value in observed["sequential"].items()]


def compare_observations(observed: dict, within=None, rtol=None, atol=None) -> dict:
    """{api: message} for each API whose observation disagrees.

    With `within=(a, b, ...)`, observations b, ... are compared with a inside each API
    (`within=(a,)`: every other observation with a); otherwise each API's observations are
    compared with the "sequential" ones. An observation that is an ERROR (the API could not
    do what the check asks, e.g. save or load) is a problem for that API by itself.
    """
    problems = {}
    for api, obs in observed.items():
        if ERROR in obs:
            problems[api] = obs[ERROR]
            continue
        try:
            for what, actual, expected in _pairs(api, obs, observed, within):
                assert_equivalent(actual, expected, what=what, rtol=rtol, atol=atol)
        except Mismatch as exc:
            problems[api] = str(exc)
    return problems
