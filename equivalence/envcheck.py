"""`python -m equivalence.envcheck`: the environment imports the TF and Keras it names.

tox sets KERAS_PARITY_TF and KERAS_PARITY_KERAS per factor: a version ("2.15.1"),
"nightly" (a .dev build from tf-nightly / keras-nightly, with no released TensorFlow or
Keras package beside it that could shadow it) or "latest" (releases, not .dev builds). A
mismatch is one line and exit 2, before any test runs: a suite that compares versions must
know which one it ran. Without the variables (a plain venv) it prints the versions only.
"""
from __future__ import annotations

import os
import sys
from importlib import metadata

# The distributions that provide `tensorflow` / Keras, and the nightly ones.
RELEASED = {"tf": ("tensorflow", "tensorflow-cpu"), "keras": ("keras",)}
NIGHTLY = {"tf": ("tf-nightly", "tf-nightly-cpu"), "keras": ("keras-nightly",)}


def installed(names) -> dict[str, str]:
    """{distribution: version} of those of `names` that are installed."""
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def problem(what: str, expected: str, imported: str, legacy: bool = False) -> str | None:
    """Why `imported` (the version of `what`, "tf" or "keras") is not `expected`, or None."""
    dev = ".dev" in imported or "-dev" in imported
    if expected == "nightly":
        if not dev:
            return f"{what} {imported} is not a nightly build"
        shadows = installed(RELEASED[what])
        if shadows and not legacy:
            return (f"{what} nightly shares its folders with the release "
                    + ", ".join(f"{k}=={v}" for k, v in shadows.items()))
        return None
    if expected == "latest":
        return f"{what} {imported} is a .dev build, not a release" if dev else None
    if imported != expected:
        return f"{what} {imported} imported, {expected} expected"
    return None


def main() -> int:
    from equivalence import compat

    versions = compat.versions()
    legacy = "tf_keras" in compat.KERAS_IMPORT
    problems = [p for p in (
        problem("tf", os.environ.get("KERAS_PARITY_TF", versions["tf"]), versions["tf"]),
        problem("keras", os.environ.get("KERAS_PARITY_KERAS", versions["keras"]),
                versions["keras"], legacy)) if p]
    if problems:
        print(f"keras-parity: this environment is not what it names: {'; '.join(problems)}",
              file=sys.stderr)
        return 2
    print(f"keras-parity on TF {versions['tf']}, Keras {versions['keras']} "
          f"({compat.KERAS_IMPORT})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
