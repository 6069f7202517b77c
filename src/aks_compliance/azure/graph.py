"""Fleet scale: every managed cluster of management groups or subscriptions, from Azure Resource Graph.

One query, ``resources | where type =~ 'microsoft.containerservice/managedclusters'``, evaluated by Azure
over the whole scope; we only page through the rows (at most 1000 a page, ``$skipToken`` to the next),
so thousands of clusters cost a few dozen requests instead of an export per group. Rows are the
clusters' bodies as ARM holds them (``properties`` with every agent pool profile); Resource Graph's own
columns (``subscriptionId``, ``resourceGroup``, ``tenantId``) are dropped so a row reads like ARM GET.
Subscriptions are sent at most 1000 per query, as the service allows.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterator

from ..wording import json_type, not_objects
from .errors import _HINTS, CallError, from_exception

QUERY = ("resources\n"
         "| where type =~ 'microsoft.containerservice/managedclusters'\n"
         "| project id, name, type, location, tags, sku, identity, properties, zones, kind, extendedLocation, "
         "managedBy, subscriptionId, resourceGroup\n"
         "| order by id asc")
GRAPH_COLUMNS = ("subscriptionId", "resourceGroup", "tenantId")
CANONICAL_TYPE = "Microsoft.ContainerService/managedClusters"
MAX_SUBSCRIPTIONS = 1000
MAX_PAGES = 100_000


def normalise(row: dict[str, Any]) -> dict[str, Any]:
    """A Resource Graph row as ARM GET shapes the resource (canonical type name, no graph columns, no nulls
    of columns the resource does not have)."""
    out = {k: v for k, v in row.items() if k not in GRAPH_COLUMNS and not (v is None and k in (
        "zones", "kind", "extendedLocation", "managedBy", "sku", "identity", "tags"))}
    if isinstance(out.get("type"), str) and out["type"].lower() == CANONICAL_TYPE.lower():
        out["type"] = CANONICAL_TYPE
    return out


def query_clusters(client: Any, scopes: list[tuple[str, str]], page_size: int = 1000,
                   stats: Counter | None = None) -> Iterator[dict[str, Any]]:
    """Every managed cluster in ``scopes`` ((kind, id) pairs), page by page; CallError on a failure."""
    from azure.core.exceptions import AzureError
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

    stats = stats if stats is not None else Counter()
    groups = [i for k, i in scopes if k == "management-group"]
    subs = [i for k, i in scopes if k == "subscription"]
    requests: list[tuple[str, dict[str, Any]]] = []
    if groups:
        requests.append((f"management group(s) {', '.join(groups)}", {"management_groups": groups}))
    for i in range(0, len(subs), MAX_SUBSCRIPTIONS):
        batch = subs[i:i + MAX_SUBSCRIPTIONS]
        requests.append((f"subscription(s) {', '.join(batch[:3])}{' ...' if len(batch) > 3 else ''}",
                         {"subscriptions": batch}))
    for label, scope in requests:
        skip: str | None = None
        seen: set[str] = set()  # skip tokens followed: one the service repeats would page forever
        unread: list[str] = []  # rows that are not objects: where, and what they were
        for page in range(MAX_PAGES):
            request = QueryRequest(query=QUERY, options=QueryRequestOptions(
                skip_token=skip, top=page_size, result_format="objectArray"), **scope)
            try:
                response = client.resources(request)
            except AzureError as exc:
                raise from_exception(exc, f"querying Azure Resource Graph (page {page + 1})", label,
                                     _HINTS["graph"]) from None
            stats["graph_pages"] += 1
            data = response.data
            if not isinstance(data, list):
                raise CallError("malformed", f"querying Azure Resource Graph (page {page + 1})", label,
                                "the result's 'data' is not a list of rows (resultFormat objectArray)")
            for n, row in enumerate(data):
                if isinstance(row, dict):
                    stats["graph_rows"] += 1
                    yield normalise(row)
                else:
                    unread.append(f"page {page + 1} row {n + 1}: {json_type(row)}")
            skip = response.skip_token
            if skip and skip in seen:
                raise CallError("malformed", f"querying Azure Resource Graph (page {page + 1})", label,
                                "the service repeated a skip token (a paging loop); stopped following it, the rows "
                                "read are kept and the rest were not read")
            if not skip:
                if unread:
                    raise CallError("malformed", "querying Azure Resource Graph", label, not_objects(unread, "row(s)"))
                if str(getattr(response, "result_truncated", "false")).lower() == "true":
                    raise CallError("rejected", "querying Azure Resource Graph", label,
                                    "the results were truncated without a skip token")
                break
            seen.add(skip)
