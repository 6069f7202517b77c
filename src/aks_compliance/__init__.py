"""aks-compliance: a policy-as-code compliance test suite for Azure Kubernetes Service.

The public API is re-exported here; the modules behind it are private to the package.

PYTEST_DONT_REWRITE: the package is a pytest plugin (entry point ``pytest11``), and ``aks-compliance scan``
imports it before it starts pytest, so pytest could not rewrite its asserts anyway (it has none to rewrite)
and would warn "Module already imported so cannot be rewritten" on every installed run.
"""

from .version import __version__  # noqa: E402
from .controls import Catalog, Control, load_catalog  # noqa: E402
from .results import Outcome, Result  # noqa: E402
from .scan import ScanOptions, ScanRun, run_scan  # noqa: E402
from .values import Unknown  # noqa: E402

__all__ = ["Catalog", "Control", "Outcome", "Result", "ScanOptions", "ScanRun", "Unknown", "__version__",
           "load_catalog", "run_scan"]
