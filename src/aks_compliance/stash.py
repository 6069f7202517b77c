"""Where the plugin keeps a run's state in pytest's ``config.stash`` (no globals): one key per value."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .controls import Catalog
    from .report.common import Gate
    from .scan import ScanOptions, ScanRun

OPTIONS_KEY = pytest.StashKey["ScanOptions"]()  # the run's options (built in pytest_configure)
CATALOG_KEY = pytest.StashKey["Catalog"]()  # the run's full catalog: built-ins, the user's, overlays
RUN_KEY = pytest.StashKey["ScanRun"]()  # the scan, computed once per process on first use
RAN_KEY = pytest.StashKey[set]()  # result keys reported (under xdist: as the controller sees them)
NO_INPUT_KEY = pytest.StashKey[bool]()  # a control test was collected without any input
GATE_KEY = pytest.StashKey["Gate"]()  # what decided the exit status
SHARD_KEY = pytest.StashKey[tuple]()  # --aksc-shard K/N: (K, N)
CRASH_KEY = pytest.StashKey[str]()  # an internal error of the scan or the reporting: the run exits 3
INTERRUPTED_KEY = pytest.StashKey[str]()  # Ctrl-C or SIGTERM while scanning: what the terminal says of it
OUTPUT_FAULTS_KEY = pytest.StashKey[list]()  # outputs refused before the run: (label, path, why); the run exits 4


def interrupted_while_scanning(why: str) -> str:
    return f"{why} while scanning: nothing was judged and no output was written"


def options(config: Any) -> "ScanOptions":
    return config.stash[OPTIONS_KEY]


def is_worker(config: Any) -> bool:
    """A pytest-xdist worker (the controller writes the outputs)."""
    return hasattr(config, "workerinput")
