"""The live-Azure input family: resource groups, clusters and fleets read with the Azure SDK (an Azure
snapshot file given to ``--arm`` is scanned by the ARM family, with the same pipeline).

A live run (``--azure-...``) is read into a snapshot under ``--azure-snapshot-dir`` once, by the
controller (``prepare``); every process then scans the snapshot like ``--arm SNAPSHOT``: xdist workers
get its path (``worker_input``), so they all parametrize the same items and cite the same file:line.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..family import InputFamily, LoadContext, SourceResult
from ..option_values import any_case
from ..resources import group_key
from .cloud import CLOUD_NAMES
from .collector import AzureOptions


class AzureFamily(InputFamily):
    name = "azure"
    options_type = AzureOptions

    def __init__(self) -> None:
        self._summary: str | None = None  # the snapshot's header line, once read by the controller

    def add_options(self, g: Any) -> None:
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
        g.addoption("--azure-cloud", default=None, choices=CLOUD_NAMES, type=any_case(CLOUD_NAMES), metavar="CLOUD",
                    help="sovereign cloud: " + ", ".join(CLOUD_NAMES) + " (default AzureCloud)")
        g.addoption("--azure-endpoint", default=None, metavar="URL",
                    help="advanced: the Resource Manager endpoint (Azure Stack Hub, a private endpoint, a test "
                         "server); the token is requested for URL/.default")
        g.addoption("--azure-ca-file", default=None, metavar="FILE",
                    help="advanced: CA bundle that signs --azure-endpoint's certificate")
        g.addoption("--azure-snapshot-dir", default="reports", metavar="DIR",
                    help="where a live Azure run writes its snapshot (default: reports)")

    def options_from_config(self, config: Any) -> AzureOptions:
        return AzureOptions(
            subscription=config.getoption("azure_subscription"),
            resource_groups=list(config.getoption("azure_resource_group")),
            clusters=list(config.getoption("azure_cluster")),
            scopes=list(config.getoption("azure_scope")),
            cloud=config.getoption("azure_cloud") or "AzureCloud",
            endpoint=config.getoption("azure_endpoint"),
            ca_file=config.getoption("azure_ca_file"),
            snapshot_dir=config.getoption("azure_snapshot_dir"))

    def has_input(self, options: AzureOptions) -> bool:
        return bool(options.live or options.snapshots or options.error)

    def prepare(self, config: Any, options: AzureOptions, started: dt.datetime) -> None:
        if not options.live:
            return
        import pytest

        from .collector import AzureUsageError
        from .snapshot import read_snapshot
        from .source import snapshot_for_options

        try:
            path = snapshot_for_options(options, started)
        except AzureUsageError as exc:
            raise pytest.UsageError(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - e.g. the snapshot directory is not writable: an input error
            options.error = f"{type(exc).__name__}: {exc}"
        else:
            options.snapshots.append(path)
            try:
                meta = read_snapshot(path).meta
                counts = meta.get("counts", {})
                who = meta.get("identity", {})
                name = who.get("name") or who.get("app_id") or who.get("object_id") or "an unknown identity"
                self._summary = (
                    f"Azure snapshot {path}: {counts.get('resources', 0) + counts.get('graph', 0)} resources, "
                    f"{counts.get('exports', 0)} export(s), {counts.get('policy_states', 0)} policy state(s), "
                    f"{counts.get('errors', 0)} error(s), as {name}")
            except Exception:  # noqa: BLE001 - the scan reports an unreadable snapshot itself
                pass
        options.clear_live()

    def worker_input(self, options: AzureOptions) -> dict[str, Any]:
        return {"snapshots": list(options.snapshots), "error": options.error}

    def from_worker_input(self, options: AzureOptions, data: dict[str, Any]) -> None:
        options.snapshots = list(data.get("snapshots") or [])
        options.error = data.get("error")
        options.clear_live()

    def header(self, options: AzureOptions, config: Any = None) -> list[str]:
        return [self._summary] if self._summary else []

    def shard_key(self, target: Any) -> str:
        return group_key(target.resource)  # by resource group: a group's resources stay on one process

    def load(self, options: AzureOptions, context: LoadContext) -> SourceResult | None:
        from .source import load_azure_source
        return load_azure_source(options, context.started)
