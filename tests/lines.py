"""What a command printed, less TensorFlow's own logging: the one-line-error tests count ours."""
import re

# absl's records (`E0000 00:00:… file.cc:57] …`), TF 2.16's older records (`2026-11-27
# 04:25:07.564098: E tensorflow/core/util/util.cc:131] …`, e.g. the oneDNN DT_HALF note on
# a CPU without AVX-512 FP16), its pre-init banner, the CPU-feature note's second line, and
# the source trace tf-nightly appends to a failed cuInit on a machine without a GPU
# (`=== Source Location Trace: ===`, then `path/file.cc:50`).
_TF_LOG = re.compile(r"[IWEF]\d{4} |\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] "
                     r"|WARNING: All log messages|To enable the following"
                     r"|=== Source Location Trace|\S+\.(cc|h):\d+$")


def ours(output: str) -> list[str]:
    """The non-blank lines of `output` that TensorFlow's C++ logging did not write."""
    return [line for line in output.splitlines()
            if line.strip() and not _TF_LOG.match(line)]
