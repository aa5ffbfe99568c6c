"""Normalization layers."""
from hypothesis import strategies as st

from equivalence.compat import IS_KERAS3
from equivalence.layers import LayerInfo, register
from equivalence.layers.core import ANY_RANK


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


register(
    LayerInfo("BatchNormalization", "normalization",
              lambda s: st.fixed_dictionaries({
                  "momentum": st.sampled_from((0.99, 0.5)),
                  "center": st.booleans().map(lambda b: not b),
                  "scale": st.booleans().map(lambda b: not b)}),
              ANY_RANK, train_differs=True, stateful=True),
    LayerInfo("LayerNormalization", "normalization",
              lambda s: st.fixed_dictionaries({
                  "center": st.booleans().map(lambda b: not b),
                  "scale": st.booleans().map(lambda b: not b)}),
              ANY_RANK),
    LayerInfo("UnitNormalization", "normalization", lambda s: st.just({}), ANY_RANK),
    LayerInfo("GroupNormalization", "normalization",
              lambda s: st.fixed_dictionaries({"groups": st.sampled_from(_divisors(s[-1]))}),
              ANY_RANK, mask_ok=IS_KERAS3,
              note="Keras 2.15 GroupNormalization broadcasts a (batch, time) mask to the "
                   "input's shape and fails in every API (BroadcastTo shape error)"),
)
