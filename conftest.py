"""Root conftest, kept thin: the pytest plugin lives in the package (entry point ``aks_compliance``)."""

# Sample inputs and generated artefacts are data, never test modules.
collect_ignore = ["fixtures", "policies", "reports", "benchmarks"]
