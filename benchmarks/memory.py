"""Host peak memory around one call (Linux: VmHWM, reset through /proc/self/clear_refs)."""
from __future__ import annotations


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_host_peak() -> bool:
    """Reset the peak-RSS counter to the current RSS; False where the OS cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def host_peak_delta_bytes(fn) -> int | None:
    """Bytes by which the process's peak RSS rose while `fn()` ran (None if unknown)."""
    if not reset_host_peak():
        return None
    before = _status_kib("VmRSS")
    fn()
    peak = _status_kib("VmHWM")
    return None if before is None or peak is None else max(0, peak - before) * 1024
