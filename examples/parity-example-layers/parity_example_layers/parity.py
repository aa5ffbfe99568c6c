"""What keras-parity needs to draw the two layers: one LayerInfo each."""
from hypothesis import strategies as st

from equivalence.layers import LayerInfo

from parity_example_layers import ScaledDense, TrainingShift

ANY_RANK = frozenset({1, 2, 3})

LAYERS = (
    LayerInfo("ScaledDense", "example", cls=ScaledDense, ranks=ANY_RANK,
              configs=lambda shape: st.fixed_dictionaries({
                  "units": st.integers(1, 4), "scale": st.sampled_from((0.5, 1.0, 2.0))}),
              output_shape=lambda shape, cfg: shape[:-1] + (cfg["units"],),
              stateful=True, mask=lambda cfg: "none"),  # no supports_masking: drops a mask
    LayerInfo("TrainingShift", "example", cls=TrainingShift, ranks=ANY_RANK,
              configs=lambda shape: st.fixed_dictionaries({
                  "shift": st.sampled_from((0.5, 1.0)),
                  "penalty": st.sampled_from((0.0, 0.01))}),
              train_differs=True, adds_loss=lambda cfg: cfg["penalty"] > 0),
)
