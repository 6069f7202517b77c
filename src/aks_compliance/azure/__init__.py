"""Live Azure: what is deployed, read with the Azure SDK, and Azure Policy's own verdicts beside ours.

Two ways to read an estate, both ending in a snapshot file that the ordinary ARM pipeline scans:

* resource groups (``--azure-subscription ID --azure-resource-group NAME``) or single clusters
  (``--azure-cluster RESOURCE_ID``): each managed cluster by ARM GET, its agent pools, maintenance
  configurations and diagnostic settings, plus the group's export template (neighbour resources:
  networks, registries, key vaults, gateways) -- :mod:`.collector`;
* a fleet (``--azure-scope management-group:ID`` / ``subscription:ID``): one Azure Resource Graph query
  for every managed cluster, paged with skip tokens -- :mod:`.graph`.

Azure Policy's latest compliance states for each scope are read with azure-mgmt-policyinsights and
joined to our results (:mod:`.policy_states`). :mod:`.snapshot` writes and reads the snapshot (gzip
JSON: time, tool, identity from the token's claims, cloud, scopes, REST resources, export templates,
policy states, errors and gaps); :mod:`.source` turns it into targets with the ARM pipeline, so a live
run and an offline re-check of its snapshot give the same results. The Azure SDK is imported lazily:
offline scans never load it.
"""

from __future__ import annotations

# api-versions of the ARM reads (current GA versions; the body shape controls are written against)
AKS_API_VERSION = "2025-09-01"  # managedClusters, agentPools, maintenanceConfigurations
DIAGNOSTIC_SETTINGS_API_VERSION = "2021-05-01-preview"  # the current Microsoft.Insights/diagnosticSettings
RESOURCES_API_VERSION = "2025-04-01"  # Microsoft.Resources (group resource list), azure-mgmt-resource 26's default

EXPORT_LIMIT = 200  # the export template API refuses groups with more resources: export them in batches
