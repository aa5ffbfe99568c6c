"""Reshaping layers. Config strategies keep every output small (see MAX_ELEMENTS)."""
import itertools

from hypothesis import strategies as st

from equivalence.layers import LayerInfo, prod, register

MAX_ELEMENTS = 512  # per example, after any layer: keeps one stack cheap


def _reshape_targets(shape):
    n = prod(shape)
    return [(n,)] + [(a, n // a) for a in range(2, n) if n % a == 0][:3]


def _pair(lo, hi):
    return st.tuples(st.integers(lo, hi), st.integers(lo, hi))


def _crop1d(s):
    return st.tuples(st.integers(0, (s[0] - 1) // 2), st.integers(0, (s[0] - 1) // 2))


def _crop2d(s):
    return st.tuples(_crop1d(s[0:1]), _crop1d(s[1:2]))


def _crop3d(s):
    return st.tuples(*(_crop1d(s[i:i + 1]) for i in range(3)))


def _grown(s, cfg, key, sign=1):
    """The spatial dims of `s` grown (or shrunk, sign=-1) by cfg[key]'s pairs, channels kept."""
    return tuple(n + sign * sum(pair) for n, pair in zip(s, cfg[key])) + (s[-1],)


def _pad_ok(extra):
    return lambda s: prod(s) * extra <= MAX_ELEMENTS


register(
    LayerInfo("Flatten", "reshaping", lambda s: st.just({}), frozenset({2, 3, 4}),
              output_shape=lambda s, c: (prod(s),), mask=lambda c: "none"),
    LayerInfo("Reshape", "reshaping",
              lambda s: st.fixed_dictionaries(
                  {"target_shape": st.sampled_from(_reshape_targets(s))}),
              frozenset({1, 2, 3, 4}), output_shape=lambda s, c: tuple(c["target_shape"]),
              mask=lambda c: "none"),
    LayerInfo("Permute", "reshaping",
              lambda s: st.fixed_dictionaries({"dims": st.sampled_from(
                  [p for p in itertools.permutations(range(1, len(s) + 1))][::-1])}),
              frozenset({2, 3, 4}),
              output_shape=lambda s, c: tuple(s[d - 1] for d in c["dims"]),
              mask=lambda c: "none"),
    LayerInfo("RepeatVector", "reshaping",
              lambda s: st.fixed_dictionaries({"n": st.integers(1, 4)}), frozenset({1}),
              output_shape=lambda s, c: (c["n"],) + s, accepts=_pad_ok(4),
              mask=lambda c: "none"),
    LayerInfo("ZeroPadding1D", "reshaping",
              lambda s: st.fixed_dictionaries({"padding": _pair(0, 2)}), frozenset({2}),
              output_shape=lambda s, c: (s[0] + sum(c["padding"]), s[1]),
              accepts=_pad_ok(3), mask=lambda c: "none"),
    LayerInfo("ZeroPadding2D", "reshaping",
              lambda s: st.fixed_dictionaries({"padding": st.tuples(_pair(0, 1), _pair(0, 1))}),
              frozenset({3}),
              output_shape=lambda s, c: (s[0] + sum(c["padding"][0]),
                                         s[1] + sum(c["padding"][1]), s[2]),
              accepts=_pad_ok(4), mask=lambda c: "none"),
    LayerInfo("Cropping1D", "reshaping",
              lambda s: st.fixed_dictionaries({"cropping": _crop1d(s)}), frozenset({2}),
              output_shape=lambda s, c: (s[0] - sum(c["cropping"]), s[1]),
              mask=lambda c: "none"),
    LayerInfo("Cropping2D", "reshaping",
              lambda s: st.fixed_dictionaries({"cropping": _crop2d(s)}), frozenset({3}),
              output_shape=lambda s, c: (s[0] - sum(c["cropping"][0]),
                                         s[1] - sum(c["cropping"][1]), s[2]),
              mask=lambda c: "none"),
    LayerInfo("ZeroPadding3D", "reshaping",
              lambda s: st.fixed_dictionaries({"padding": st.tuples(*[_pair(0, 1)] * 3)}),
              frozenset({4}), output_shape=lambda s, c: _grown(s, c, "padding"),
              accepts=_pad_ok(8), mask=lambda c: "none"),
    LayerInfo("Cropping3D", "reshaping",
              lambda s: st.fixed_dictionaries({"cropping": _crop3d(s)}), frozenset({4}),
              output_shape=lambda s, c: _grown(s, c, "cropping", -1), mask=lambda c: "none"),
    LayerInfo("UpSampling3D", "reshaping",
              lambda s: st.fixed_dictionaries({"size": st.tuples(*[st.integers(1, 2)] * 3)}),
              frozenset({4}),
              output_shape=lambda s, c: tuple(n * k for n, k in zip(s, c["size"])) + (s[-1],),
              accepts=_pad_ok(8), mask=lambda c: "none"),
    LayerInfo("UpSampling1D", "reshaping",
              lambda s: st.fixed_dictionaries({"size": st.integers(2, 3)}), frozenset({2}),
              output_shape=lambda s, c: (s[0] * c["size"], s[1]), accepts=_pad_ok(3),
              mask=lambda c: "none"),
    LayerInfo("UpSampling2D", "reshaping",
              lambda s: st.fixed_dictionaries({"size": _pair(1, 2),
                                               "interpolation": st.sampled_from(
                                                   ("nearest", "bilinear"))}),
              frozenset({3}),
              output_shape=lambda s, c: (s[0] * c["size"][0], s[1] * c["size"][1], s[2]),
              accepts=_pad_ok(4), mask=lambda c: "none"),
)
