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
    """A timer for pytest-benchmark that synchronises the device at every read, and reads
    the process's CPU time beside the wall clock each time.

    pytest-benchmark reads its timer once before and once after every round (calibration
    rounds first, the measured rounds last), so the last reads pair up into the measured
    rounds: `cpu_per_call` turns them into CPU seconds per call. On a shared machine CPU
    time does not count the time another tenant held the core."""

    def __init__(self, sync, clock=None, cpu_clock=None):
        import time

        self.sync = sync
        self.clock = clock or time.perf_counter
        self.cpu_clock = cpu_clock or time.process_time
        self.reads = 0
        self.log: list[tuple[float, float]] = []  # (wall, cpu) at every read

    def __call__(self) -> float:
        self.sync()
        self.reads += 1
        wall = self.clock()
        self.log.append((wall, self.cpu_clock()))
        return wall

    def cpu_per_call(self, wall_per_call: list[float], iterations: int) -> list[float] | None:
        """CPU seconds per call of the measured rounds, whose wall times per call
        pytest-benchmark recorded as `wall_per_call`; None when the last reads do not pair
        up into exactly those rounds (then no CPU time is claimed)."""
        rounds = len(wall_per_call)
        if not rounds or len(self.log) < 2 * rounds or iterations < 1:
            return None
        reads = self.log[-2 * rounds:]
        pairs = list(zip(reads[::2], reads[1::2]))
        for (start, _), (end, _), wall in zip((p[0] for p in pairs), (p[1] for p in pairs),
                                              wall_per_call):
            if abs((end - start) / iterations - wall) > 1e-9 + 1e-6 * wall:
                return None
        return [(end[1] - start[1]) / iterations for start, end in pairs]


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
