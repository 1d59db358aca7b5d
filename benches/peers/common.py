"""Helpers shared by the peer drivers of benches/peers/ (written for infersim; no peer code)."""

import json
import math
import sys
import time

# Two-sided 95 % Student t quantiles, by degrees of freedom (1..30); beyond, the normal 1.96.
T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
       2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
       2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t95(df):
    return T95[df - 1] if 1 <= df <= len(T95) else 1.96


def emit(path, record):
    """Writes one run's record (JSON) to `path`, or to stdout if path is '-'."""
    text = json.dumps(record, sort_keys=True)
    if path == "-":
        print(text)
    else:
        with open(path, "w") as f:
            f.write(text + "\n")


class Clock:
    """Simulation-only wall time: perf_counter around the simulation call."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        return False


def check_version(module, want):
    got = getattr(module, "__version__", None)
    if got is not None and got != want:
        sys.exit(f"{module.__name__} {got} installed, {want} expected")


def finite(x):
    return x if x is not None and math.isfinite(x) else None
