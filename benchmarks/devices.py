"""Which devices the benchmarks run on, and how each one is synchronised and measured.

Device lists are injectable (`present=`) so the GPU logic is tested on CPU-only machines.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

DEVICE_CHOICES = ("cpu", "gpu", "all")


@dataclass(frozen=True)
class Device:
    kind: str  # "cpu" or "gpu"
    name: str  # TF device string, e.g. "/CPU:0", "/GPU:0"

    @property
    def is_gpu(self) -> bool:
        return self.kind == "gpu"


def present_devices() -> list[Device]:
    """The physical devices TF sees: CPU always, each GPU after it."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return [Device("cpu", "/CPU:0")] + [Device("gpu", f"/GPU:{i}") for i in range(len(gpus))]


def selected_kinds(option: str | None, present: list[Device]) -> list[str]:
    """Device kinds to parametrize over for `--device` (default: every kind present).

    Asking for a kind that is absent still yields it, so its cases skip with a reason
    instead of silently vanishing."""
    if option is None:
        return sorted({d.kind for d in present}, key=["cpu", "gpu"].index)
    if option not in DEVICE_CHOICES:
        raise ValueError(f"--device must be one of {', '.join(DEVICE_CHOICES)}, got {option!r}")
    return ["cpu", "gpu"] if option == "all" else [option]


def device_for(kind: str, present: list[Device]) -> Device | None:
    return next((d for d in present if d.kind == kind), None)


def synchronizer(device: Device):
    """A function that blocks until every op queued on `device` has finished.

    On CPU TF runs ops synchronously in eager mode and `predict` returns host arrays, so
    there is nothing to wait for; on GPU kernels are asynchronous and a timer read without
    a sync would time the launch, not the work."""
    if not device.is_gpu:
        return lambda: None
    import tensorflow as tf

    return tf.test.experimental.sync_devices


class SyncedClock:
    """A timer for pytest-benchmark that synchronises the device at every read."""

    def __init__(self, sync, clock=None):
        import time

        self.sync = sync
        self.clock = clock or time.perf_counter
        self.reads = 0

    def __call__(self) -> float:
        self.sync()
        self.reads += 1
        return self.clock()


def placement(device: Device):
    """Context that places new ops and variables on `device`."""
    import tensorflow as tf

    return tf.device(device.name) if device else contextlib.nullcontext()


def gpu_peak_bytes(device: Device) -> int | None:
    """Peak GPU memory since the last reset, or None on CPU."""
    if not device.is_gpu:
        return None
    import tensorflow as tf

    return int(tf.config.experimental.get_memory_info(device.name.strip("/"))["peak"])


def reset_gpu_peak(device: Device) -> None:
    if device.is_gpu:
        import tensorflow as tf

        tf.config.experimental.reset_memory_stats(device.name.strip("/"))
