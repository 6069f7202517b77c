"""The ARM input family: deployment templates (with parameter files), exports and REST resource JSON, offline;
and Azure snapshot files (``aks-compliance snapshot --azure-...``), scanned with the same pipeline
(``azure/source.py``) so a live read can be re-checked offline with ``--arm SNAPSHOT``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..discovery import control_fixtures
from ..family import InputFamily, LoadContext, SourceResult
from ..option_values import name_value_pairs, parse_value
from ..resources import group_key
from .inputs import ArmOptions


class ArmFamily(InputFamily):
    name = "arm"
    options_type = ArmOptions

    def add_options(self, group: Any) -> None:
        group.addoption("--arm", action="append", default=[], metavar="PATH",
                        help="ARM input: a deployment template, an az group export, REST resource JSON, or a "
                             "directory of them (recursive). Repeatable.")
        group.addoption("--arm-parameters", action="append", default=[], metavar="[TEMPLATE=]FILE",
                        help="parameter file for every template given (or only for TEMPLATE). Without it, X.json is "
                             "paired with X.parameters.json beside it.")
        group.addoption("--arm-param", action="append", default=[], metavar="NAME=VALUE",
                        help="set a template parameter (VALUE is read as JSON when it parses, else as a string)")
        group.addoption("--arm-subscription-id", default=None, metavar="ID",
                        help="subscription id the templates deploy to (default: a placeholder)")
        group.addoption("--arm-tenant-id", default=None, metavar="ID",
                        help="tenant id of that subscription (subscription().tenantId; default: a placeholder)")
        group.addoption("--arm-resource-group", default=None, metavar="NAME",
                        help="resource group the templates deploy to (default: a placeholder)")
        group.addoption("--arm-location", default=None, metavar="LOCATION",
                        help="location of that resource group (resourceGroup().location)")
        group.addoption("--arm-template-uri", default=None, metavar="URI",
                        help="the URI templates are deployed from (deployment().properties.templateLink.uri); "
                             "without it, values built from it are unknown")

    def options_from_config(self, config: Any) -> ArmOptions:
        return ArmOptions(
            paths=list(config.getoption("arm")),
            parameter_files=list(config.getoption("arm_parameters")),
            parameters={k: parse_value(v, f"--arm-param {k}") for k, v in name_value_pairs(config.getoption("arm_param"),
                                                                               "--arm-param")},
            subscription_id=config.getoption("arm_subscription_id"),
            tenant_id=config.getoption("arm_tenant_id"),
            resource_group=config.getoption("arm_resource_group"),
            location=config.getoption("arm_location"),
            template_uri=config.getoption("arm_template_uri"),
            exclude=list(config.getoption("exclude")), reserved=control_fixtures(config.getoption("controls_path")))

    def has_input(self, options: ArmOptions) -> bool:
        return bool(options.paths)

    def header(self, options: ArmOptions, config: Any = None) -> list[str]:
        return [f"ARM inputs: {', '.join(options.paths)}"] if options.paths else []

    def load(self, options: ArmOptions, context: LoadContext) -> SourceResult | None:
        if not options.paths:
            return None
        from ..azure.snapshot import is_azure_snapshot
        from ..azure.source import load_azure_source
        from .inputs import load_arm
        from .targets import build_arm_targets

        snapshots = [p for p in options.paths if is_azure_snapshot(p)]
        paths = [p for p in options.paths if p not in snapshots]
        result = SourceResult()
        if paths:
            scan = load_arm(dataclasses.replace(options, paths=paths,
                                                scope=options.deployment_scope(context.started)))
            # scan.diagnostics is shared with lazily evaluated resource bodies: the caller reads it after
            # evaluation, so that expression errors found then are reported too.
            result = SourceResult(targets=build_arm_targets(scan), inputs=[i.as_dict() for i in scan.inputs],
                                  diagnostics=scan.diagnostics, declarations=scan.declarations,
                                  coverage=scan.coverage)
        if snapshots:
            from ..azure.collector import AzureOptions
            snap = load_azure_source(AzureOptions(snapshots=snapshots), context.started)
            if snap is not None:
                result.merge(snap)
        return result

    def shard_key(self, target: Any) -> str:
        # a template's resources by file (one file is read and expanded by one process); an Azure snapshot's
        # (--arm SNAPSHOT) by resource group, as the live Azure family
        if target.context.get("family") == "azure":
            return group_key(target.resource)
        return target.resource.source.file

    def recorded_options(self, options: ArmOptions) -> dict[str, Any]:
        # template parameter values may be secrets: only their names are recorded
        return {"arm_param_names": sorted(options.parameters), "arm_parameter_files": list(options.parameter_files),
                "subscription_id": options.subscription_id, "tenant_id": options.tenant_id,
                "resource_group": options.resource_group,
                "location": options.location, "template_uri": options.template_uri, "exclude": list(options.exclude)}
