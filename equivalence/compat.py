"""The one place that knows Keras 2 from Keras 3 and one TensorFlow version from another.

Keras 3 is `tf.keras` from TF 2.16 on (the `keras` package). Keras 2 is TF 2.15's bundled
Keras, or TF >= 2.16 with the `tf_keras` package and ``TF_USE_LEGACY_KERAS=1``. Everything
else in the suite imports `keras` from here and asks here when behaviour differs.
"""
from __future__ import annotations

import functools
import os
import re

import tensorflow as tf

if os.environ.get("TF_USE_LEGACY_KERAS") == "1":
    import tf_keras as keras  # noqa: F401  (Keras 2 on TF >= 2.16)

    KERAS_IMPORT = "import tf_keras as keras"
else:
    from tensorflow import keras  # Keras 3 on TF >= 2.16, Keras 2 on TF 2.15

    KERAS_IMPORT = "from tensorflow import keras"

TF_VERSION: str = tf.__version__
def _keras_version() -> str:
    version = getattr(keras, "__version__", None)
    if version:
        return version
    from importlib import metadata  # TF 2.15's tf.keras proxy has no __version__

    for dist in (("tf-keras",) if "tf_keras" in KERAS_IMPORT else ("keras", "tf-keras")):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


KERAS_VERSION: str = _keras_version()
KERAS_GENERATION: int = 3 if KERAS_VERSION.startswith("3") else 2
IS_KERAS3 = KERAS_GENERATION == 3


def version_triple(version: str) -> tuple[int, int, int]:
    """(major, minor, patch) of '3.13.2', '2.23.0-dev20261026' or '3.16.0.dev2026102704'."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    if not match:
        raise ValueError(f"not a version: {version!r}")
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def onednn_matmul_corrupts(shape: tuple[int, ...]) -> bool:
    """Whether a Keras 3 Dense on inputs of `shape` (batch excluded) reaches the oneDNN
    batch matmul that corrupts the heap: a rank-4 input with a size-1 dimension times the
    rank-2 kernel, TensorFlow 2.16 to 2.21 measured here (2.22 assumed) with oneDNN on
    (tensorflow/tensorflow#117700, fixed by #120199; tf-nightly 2.23.0-dev20261026 runs it).
    The process aborts or segfaults, in every API alike: nothing to compare, and a ci run on
    TF 2.17 lost a pytest worker to it (a Resizing to height 1, then a Dense). Keras 2's
    Dense and Keras 3.15's (tensordot) never reach that kernel: asked of the traced graph."""
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0"
    return (onednn and len(shape) == 3 and 1 in shape[:-1]
            and (2, 16) <= version_triple(TF_VERSION)[:2] <= (2, 22)
            and _dense_reaches_batch_matmul())


@functools.cache
def _dense_reaches_batch_matmul() -> bool:
    """Whether this Keras' matmul of a rank-4 input by a rank-2 kernel (Dense's) is a
    BatchMatMul in TensorFlow's graph."""
    if not IS_KERAS3:
        return False
    traced = tf.function(lambda x, w: keras.ops.matmul(x, w)).get_concrete_function(
        tf.TensorSpec((None, 1, 4, 2)), tf.TensorSpec((2, 2)))
    return any(op.type.startswith("BatchMatMul") for op in traced.graph.get_operations())


def versions() -> dict[str, str | int]:
    """What every result is tagged with."""
    return {"tf": TF_VERSION, "keras": KERAS_VERSION, "keras_generation": KERAS_GENERATION}


def set_mixed_policy(name: str) -> None:
    keras.mixed_precision.set_global_policy(name)


def has_layer(name: str) -> bool:
    return hasattr(keras.layers, name)

