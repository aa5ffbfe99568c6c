"""The command-line parser every `python -m equivalence.*` command uses: a bad option or
argument is one line on stderr and exit 2, as for every other bad input (no usage block)."""
from __future__ import annotations

import argparse
import sys


class Parser(argparse.ArgumentParser):
    def error(self, message):
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)
