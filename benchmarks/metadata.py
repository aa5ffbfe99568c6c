"""What every benchmark result carries: versions, machine, TF settings, revision."""
from __future__ import annotations

import os
import platform
import subprocess
from functools import lru_cache

SCHEMA_VERSION = 1  # of the benchmark results this suite writes


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_revision() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5, cwd=os.path.dirname(__file__))
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _gpu_info(devices) -> dict:
    gpus = [d for d in devices if d.is_gpu]
    if not gpus:
        return {"gpu": None, "driver": None, "cuda": None, "cudnn": None}
    import tensorflow as tf

    build = tf.sysconfig.get_build_info()
    details = tf.config.experimental.get_device_details(
        tf.config.list_physical_devices("GPU")[0])
    return {"gpu": details.get("device_name"), "driver": _nvidia_driver(),
            "cuda": build.get("cuda_version"), "cudnn": build.get("cudnn_version")}


def _nvidia_driver() -> str | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, IndexError):
        return None


@lru_cache(maxsize=None)
def _static() -> dict:
    from equivalence import compat

    return {
        "schema_version": SCHEMA_VERSION,
        "tf_version": compat.TF_VERSION,
        "keras_version": compat.KERAS_VERSION,
        "keras_generation": compat.KERAS_GENERATION,
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "tf_xla_flags": os.environ.get("TF_XLA_FLAGS", ""),
        "git_revision": _git_revision(),
    }


def environment(devices=()) -> dict:
    """Versions, machine and settings shared by every result of this process."""
    import tensorflow as tf

    return {
        **_static(),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "op_determinism": _determinism(),
        **_gpu_info(list(devices)),
    }


def _determinism() -> bool:
    from tensorflow.python.framework import config as tf_config

    return bool(tf_config.is_op_determinism_enabled())
