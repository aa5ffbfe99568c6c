"""Discrepancies planted into Keras itself, for one API, to show the suite catches them.

Each plant takes a `patch(target, name, value)` (pytest's monkeypatch.setattr in-process,
plain setattr in a repro's subprocess), so the repro the suite writes can be run with the
same plant in place and must reproduce it.
"""
import copy

import tensorflow as tf

from equivalence.compat import keras
from equivalence.portable import optimizer_variables


def _patch_load_model(patch, after_load):
    """keras.models.load_model, then `after_load(model)` for subclassed models only."""
    original = keras.models.load_model

    def load_model(*args, **kwargs):
        model = original(*args, **kwargs)
        if type(model).__name__ == "SubclassedStack":
            after_load(model)
        return model

    patch(keras.models, "load_model", load_model)


def batchnorm_stats_not_restored(patch):
    """Loading a subclassed model leaves BatchNormalization's moving statistics at their
    initial values."""
    def reset(model):
        for layer in model.stack_layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.moving_mean.assign(tf.zeros_like(layer.moving_mean))
                layer.moving_variance.assign(tf.ones_like(layer.moving_variance))

    _patch_load_model(patch, reset)


def optimizer_state_lost(patch):
    """Loading a subclassed model zeroes its optimizer's variables (slots and iterations)."""
    def reset(model):
        for variable in optimizer_variables(model.optimizer):
            variable.assign(tf.zeros_like(variable))

    _patch_load_model(patch, reset)


def loss_scaled(patch):
    """A subclassed model's training loss is 1.5 times the loss of the others."""
    original = keras.Model.compute_loss

    def compute_loss(self, *args, **kwargs):
        loss = original(self, *args, **kwargs)
        return loss * 1.5 if type(self).__name__ == "SubclassedStack" else loss

    patch(keras.Model, "compute_loss", compute_loss)


def activation_dropped_from_config(patch):
    """Functional.from_config (and so model_from_json and load_model) rebuilds Dense
    layers without their activation."""
    inputs = keras.Input((1,))
    functional = type(keras.Model(inputs, keras.layers.Dense(1)(inputs)))
    original = functional.from_config.__func__

    def from_config(cls, config, custom_objects=None):
        config = copy.deepcopy(config)
        for layer in config["layers"]:
            if layer["class_name"] == "Dense":
                layer["config"]["activation"] = "linear"
        return original(cls, config, custom_objects)

    patch(functional, "from_config", classmethod(from_config))


def none(patch):
    """No plant: the same repro must then not reproduce."""
