"""The pytest plugin's Azure part: options, and a live run snapshotted once, in the controller.

A live run (``--azure-...``) is read into a snapshot under ``--azure-snapshot-dir`` by the controller
(pytest_configure); the snapshot is then scanned like ``--arm SNAPSHOT`` by every process: xdist workers
get its path (``workerinput``), so they all parametrize the same items and cite the same file:line.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from .cloud import CLOUD_NAMES

SNAPSHOT_INPUT = "aksc_azure_snapshot"
SNAPSHOT_KEY = pytest.StashKey[str]()
SUMMARY_KEY = pytest.StashKey[str]()


def addoption(g: Any) -> None:
    g.addoption("--azure-subscription", default=None, metavar="ID",
                help="live Azure: the subscription of --azure-resource-group; alone, every managed cluster in it "
                     "(through Azure Resource Graph). Read with DefaultAzureCredential, snapshotted into "
                     "--azure-snapshot-dir first, then checked from the snapshot.")
    g.addoption("--azure-resource-group", action="append", default=[], metavar="NAME",
                help="live Azure: read every managed cluster of this resource group (ARM GET, agent pools, "
                     "maintenance configurations, diagnostic settings) and the group's export. Repeatable.")
    g.addoption("--azure-cluster", action="append", default=[], metavar="RESOURCE_ID",
                help="live Azure: read this managed cluster (and its group's export). Repeatable.")
    g.addoption("--azure-scope", action="append", default=[], metavar="management-group:ID|subscription:ID",
                help="live Azure at fleet scale: every managed cluster in the scope from one Azure Resource Graph "
                     "query (paged), with Azure Policy's states. Repeatable.")
    g.addoption("--azure-cloud", default=None, choices=CLOUD_NAMES, metavar="CLOUD",
                help="sovereign cloud: " + ", ".join(CLOUD_NAMES) + " (default AzureCloud)")
    g.addoption("--azure-endpoint", default=None, metavar="URL",
                help="advanced: the Resource Manager endpoint (Azure Stack Hub, a private endpoint, a test server); "
                     "the token is requested for URL/.default")
    g.addoption("--azure-ca-file", default=None, metavar="FILE",
                help="advanced: CA bundle that signs --azure-endpoint's certificate")
    g.addoption("--azure-snapshot-dir", default="reports", metavar="DIR",
                help="where a live Azure run writes its snapshot (default: reports)")


def options_from_config(config: pytest.Config) -> dict[str, Any]:
    return {
        "azure_subscription": config.getoption("azure_subscription"),
        "azure_resource_groups": list(config.getoption("azure_resource_group")),
        "azure_clusters": list(config.getoption("azure_cluster")),
        "azure_scopes": list(config.getoption("azure_scope")),
        "azure_cloud": config.getoption("azure_cloud"),
        "azure_endpoint": config.getoption("azure_endpoint"),
        "azure_ca_file": config.getoption("azure_ca_file"),
        "azure_snapshot_dir": config.getoption("azure_snapshot_dir"),
    }


def live_snapshot(config: pytest.Config, options: Any) -> None:
    from .source import clear_live, wants_live

    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        if workerinput.get(SNAPSHOT_INPUT):
            options.arm_paths.append(workerinput[SNAPSHOT_INPUT])
        elif workerinput.get(SNAPSHOT_INPUT + "_error"):
            options.azure_error = workerinput[SNAPSHOT_INPUT + "_error"]
        clear_live(options)
        return
    if not wants_live(options) or config.option.help or config.option.version:
        return
    from .collector import AzureUsageError
    from .snapshot import read_snapshot
    from .source import snapshot_for_options

    started = dt.datetime.fromisoformat(options.started) if getattr(options, "started", None) else \
        dt.datetime.now(dt.timezone.utc)
    try:
        path = snapshot_for_options(options, started)
    except AzureUsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - e.g. the snapshot directory is not writable: an input error
        options.azure_error = f"{type(exc).__name__}: {exc}"
    else:
        options.arm_paths.append(path)
        config.stash[SNAPSHOT_KEY] = path
        try:
            meta = read_snapshot(path).meta
            counts = meta.get("counts", {})
            who = meta.get("identity", {})
            name = who.get("name") or who.get("app_id") or who.get("object_id") or "an unknown identity"
            config.stash[SUMMARY_KEY] = (
                f"Azure snapshot {path}: {counts.get('resources', 0) + counts.get('graph', 0)} resources, "
                f"{counts.get('exports', 0)} export(s), {counts.get('policy_states', 0)} policy state(s), "
                f"{counts.get('errors', 0)} error(s), as {name}")
        except Exception:  # noqa: BLE001 - the scan reports an unreadable snapshot itself
            pass
    clear_live(options)


def configure_node(node: Any) -> None:
    config = node.config
    path = config.stash.get(SNAPSHOT_KEY, None)
    error = getattr(config.stash.get(_options_key(), None), "azure_error", None)
    if path:
        node.workerinput[SNAPSHOT_INPUT] = path
    elif error:
        node.workerinput[SNAPSHOT_INPUT + "_error"] = error


def _options_key() -> Any:
    from ..plugin import OPTIONS_KEY
    return OPTIONS_KEY


def header_lines(config: pytest.Config) -> list[str]:
    summary = config.stash.get(SUMMARY_KEY, None)
    return [summary] if summary else []
