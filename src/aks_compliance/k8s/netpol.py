"""Network policies of every flavour as one view: Kubernetes ``NetworkPolicy``, ``CiliumNetworkPolicy``
(``cilium.io/v2``, namespaced) and ``CiliumClusterwideNetworkPolicy`` (cluster-scoped).

Each policy becomes one or more :class:`PolicyRule` (a Cilium policy's ``spec`` and each entry of its
``specs``), which answer what the network controls ask: does it select a pod, all pods of a namespace,
does it isolate a direction (put the pods it selects into default deny), which of its rules allow all
traffic, and may it let a pod reach a given address.

Semantics, per the projects' documentation:

* **NetworkPolicy**: ``podSelector`` selects pods of the policy's namespace (absent or null: all of them, the
  API server decodes it to ``{}``); a direction is isolated when it is in the effective ``policyTypes``, and
  the rules of a direction outside them are not in force; a rule without peers, or whose ``ipBlock`` peers
  together cover every IPv4 or IPv6 address (0.0.0.0/0, or 0.0.0.0/1 with 128.0.0.0/1; excepts removed), and
  without ports allows all.
* **Cilium** (docs.cilium.io, policy enforcement "default" mode): a rule selects endpoints by
  ``endpointSelector`` (``nodeSelector`` rules are host policies, not pods). Endpoint labels are the pod's
  labels plus ``io.kubernetes.pod.namespace``, ``io.cilium.k8s.policy.serviceaccount`` and
  ``io.cilium.k8s.namespace.labels.<key>``; selector keys may carry the source prefix ``k8s:`` or ``any:``.
  A namespaced policy selects only endpoints of its own namespace. A rule with a non-empty ``ingress`` or
  ``ingressDeny`` (``egress``/``egressDeny``) section isolates that direction, unless
  ``enableDefaultDeny.<direction>`` is false; an empty rule (``- {}``) allows nothing. An allow rule allows
  all when it has no ``toPorts`` and names the entity ``all`` or ``world`` (everything outside the
  cluster, the internet included) or CIDRs that together cover every address (as above). Deny rules never allow.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from .podspec import as_dict, as_list
from .scope import K8sObject, K8sScope, labels_of, meta
from .selectors import cidrs_cover_everything, policy_types, rule_allows_all, selector_matches
from .shapes import rejected

NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
SERVICE_ACCOUNT_LABEL = "io.cilium.k8s.policy.serviceaccount"
NAMESPACE_LABELS_PREFIX = "io.cilium.k8s.namespace.labels."
_SOURCES = ("k8s:", "any:")
_ALL_ENTITIES = {"all", "world"}
POLICY_KINDS = ("NetworkPolicy", "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy")


def _key(k: Any) -> str | None:
    """A Cilium selector key without its label source (k8s:app -> app); None for sources pods never have."""
    key = str(k)
    for src in _SOURCES:
        if key.startswith(src):
            return key[len(src):]
    return None if ":" in key else key  # reserved:, container:, cidr: ... are not pod labels


def _normalise_selector(selector: Any) -> dict[str, Any] | None:
    """A Cilium selector with plain keys, or None when it names a label source pods do not have."""
    if selector is None:
        return None
    sel = as_dict(selector)
    labels = {}
    for k, v in as_dict(sel.get("matchLabels")).items():
        key = _key(k)
        if key is None:
            return None
        labels[key] = v
    exprs = []
    for e in as_list(sel.get("matchExpressions")):
        e = dict(as_dict(e))
        key = _key(e.get("key"))
        if key is None:
            return None
        e["key"] = key
        exprs.append(e)
    return {"matchLabels": labels, "matchExpressions": exprs}


def endpoint_labels(pod_labels: dict[str, str], namespace: str, service_account: str | None,
                    namespace_labels: dict[str, str]) -> dict[str, str]:
    """The labels Cilium gives a pod's endpoint (without source prefixes)."""
    out = dict(pod_labels)
    out[NAMESPACE_LABEL] = namespace
    if service_account:
        out[SERVICE_ACCOUNT_LABEL] = service_account
    for k, v in namespace_labels.items():
        out[NAMESPACE_LABELS_PREFIX + k] = v
    return out


def _namespace_part(selector: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A normalised selector split into its namespace requirements and the rest."""
    ns_req: dict[str, Any] = {"matchLabels": {}, "matchExpressions": []}
    rest: dict[str, Any] = {"matchLabels": {}, "matchExpressions": []}
    for k, v in selector["matchLabels"].items():
        target = ns_req if k == NAMESPACE_LABEL or k.startswith(NAMESPACE_LABELS_PREFIX) else rest
        target["matchLabels"][k] = v
    for e in selector["matchExpressions"]:
        k = str(e.get("key"))
        target = ns_req if k == NAMESPACE_LABEL or k.startswith(NAMESPACE_LABELS_PREFIX) else rest
        target["matchExpressions"].append(e)
    return ns_req, rest


def _ns_labels(namespace: str, labels: dict[str, str]) -> dict[str, str]:
    out = {NAMESPACE_LABEL: namespace}
    out.update({NAMESPACE_LABELS_PREFIX + k: v for k, v in labels.items()})
    return out


def _cidr_contains(cidr: Any, ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(str(cidr), strict=False)
    except ValueError:
        return False


def _port_matches(port_spec: dict[str, Any], port: int, protocol: str) -> bool | None:
    """Whether a NetworkPolicy/Cilium port entry covers ``port``/``protocol`` (None: a named port)."""
    proto = str(port_spec.get("protocol") or "TCP").upper()
    if proto not in (protocol, "ANY"):
        return False
    p = port_spec.get("port")
    if p is None or p == "" or p == "0" or p == 0:
        return True
    try:
        start = int(p)
    except (TypeError, ValueError):
        return None  # a named port: resolved against the destination, unknown here
    end = port_spec.get("endPort")
    try:
        end = int(end) if end not in (None, "", 0, "0") else start
    except (TypeError, ValueError):
        end = start
    return start <= port <= end


@dataclass
class PolicyRule:
    """One rule of a policy: a NetworkPolicy's spec, or a Cilium policy's spec / specs[i]."""

    obj: K8sObject
    path: str  # evidence prefix of the rule, e.g. NetworkPolicy/deny.spec or CiliumNetworkPolicy/x.specs[1]
    body: dict[str, Any]
    # the selector and the isolated directions, read once: a rule is asked by every pod of its namespace
    _memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def kind(self) -> str:
        return self.obj.kind

    @property
    def label(self) -> str:
        return f"{self.obj.kind}/{self.obj.name}"

    @property
    def is_cilium(self) -> bool:
        return self.obj.kind != "NetworkPolicy"

    @property
    def selector_path(self) -> str:
        return f"{self.path}.{'endpointSelector' if self.is_cilium else 'podSelector'}"

    def _selector(self) -> dict[str, Any] | None:
        memo = self._memo
        if "selector" not in memo:
            memo["selector"] = self._read_selector()
        return memo["selector"]

    def _read_selector(self) -> dict[str, Any] | None:
        if not self.is_cilium:
            # podSelector is a struct, not a pointer: absent or null decodes to {}, every pod of the namespace
            sel = self.body.get("podSelector")
            return as_dict(sel) if isinstance(sel, dict) or sel is None else None
        if "nodeSelector" in self.body and "endpointSelector" not in self.body:
            return None  # a host policy
        return _normalise_selector(self.body.get("endpointSelector"))

    # -- selection --
    def selects(self, namespace: str, pod_labels: dict[str, str], service_account: str | None,
                namespace_labels: dict[str, str]) -> bool:
        sel = self._selector()
        if sel is None:
            return False
        if self.obj.namespace is not None and self.obj.namespace != namespace:
            return False
        if not self.is_cilium:
            return selector_matches(sel, pod_labels)
        return selector_matches(sel, endpoint_labels(pod_labels, namespace, service_account, namespace_labels))

    def applies_to_namespace(self, namespace: str, namespace_labels: dict[str, str]) -> bool:
        """Whether the rule selects (some) pods of ``namespace``: its namespace requirements hold there."""
        if self.obj.namespace is not None:
            return self.obj.namespace == namespace and self._selector() is not None
        sel = self._selector()
        if sel is None:
            return False
        ns_req, _ = _namespace_part(sel)
        return selector_matches(ns_req, _ns_labels(namespace, namespace_labels))

    def selects_whole_namespace(self, namespace: str, namespace_labels: dict[str, str]) -> bool:
        """Whether the rule selects every pod of ``namespace`` (no requirement but the namespace's)."""
        sel = self._selector()
        if sel is None or not self.applies_to_namespace(namespace, namespace_labels):
            return False
        _, rest = (_namespace_part(sel) if self.is_cilium else ({}, sel))
        return not as_dict(rest.get("matchLabels")) and not as_list(rest.get("matchExpressions"))

    # -- directions --
    def isolates(self, direction: str) -> bool:
        """Whether the pods it selects are in default deny for ``direction`` ('ingress' / 'egress')."""
        memo = self._memo
        if direction not in memo:
            memo[direction] = self._isolates(direction)
        return memo[direction]

    def _isolates(self, direction: str) -> bool:
        if not self.is_cilium:
            return ("Ingress" if direction == "ingress" else "Egress") in policy_types({"spec": self.body})
        if not (as_list(self.body.get(direction)) or as_list(self.body.get(f"{direction}Deny"))):
            return False
        return as_dict(self.body.get("enableDefaultDeny")).get(direction) is not False

    def allow_rules(self, direction: str) -> list[tuple[str, dict[str, Any]]]:
        if not self.is_cilium and not self.isolates(direction):
            return []  # a NetworkPolicy's rules of a direction outside its policyTypes are not in force
        return [(f"{self.path}.{direction}[{i}]", as_dict(r)) for i, r in enumerate(as_list(self.body.get(direction)))]

    def deny_rules(self, direction: str) -> list[tuple[str, dict[str, Any]]]:
        if not self.is_cilium:
            return []
        key = f"{direction}Deny"
        return [(f"{self.path}.{key}[{i}]", as_dict(r)) for i, r in enumerate(as_list(self.body.get(key)))]

    def allow_all(self, direction: str) -> list[tuple[str, dict[str, Any]]]:
        """The allow rules of ``direction`` that allow all traffic."""
        if not self.is_cilium:
            peers = "from" if direction == "ingress" else "to"
            return [(p, r) for p, r in self.allow_rules(direction) if rule_allows_all(r, peers)]
        side = "from" if direction == "ingress" else "to"
        out = []
        for p, r in self.allow_rules(direction):
            if as_list(r.get("toPorts")):
                continue
            entities = {str(e) for e in as_list(r.get(f"{side}Entities"))}
            blocks = [(c, None) for c in as_list(r.get(f"{side}CIDR"))]
            blocks += [(as_dict(c).get("cidr"), as_dict(c).get("except")) for c in as_list(r.get(f"{side}CIDRSet"))]
            if entities & _ALL_ENTITIES or cidrs_cover_everything(blocks):
                out.append((p, r))
        return out

    # -- reaching an address --
    def egress_to(self, ip: str, port: int, protocol: str = "TCP") -> tuple[bool | None, list[str]]:
        """Whether the egress rules let a selected pod reach ``ip:port`` (None: cannot tell), with the paths of
        the rules that decide. Deny rules win over allow rules (Cilium)."""
        for p, r in self.deny_rules("egress"):
            if self._cilium_peer_covers(r, "to", ip) and self._ports_cover(r, port, protocol) is not False:
                return False, [p]
        unknown: list[str] = []
        for p, r in self.allow_rules("egress"):
            peer = self._peer_covers(r, ip)
            ports = self._ports_cover(r, port, protocol)
            if peer and ports:
                return True, [p]
            if peer is not False and ports is not False:
                unknown.append(p)
        return (None, unknown) if unknown else (False, [])

    def _ports_cover(self, rule: dict[str, Any], port: int, protocol: str) -> bool | None:
        if self.is_cilium:
            entries = [as_dict(pp) for tp in as_list(rule.get("toPorts")) for pp in as_list(as_dict(tp).get("ports"))]
            if not as_list(rule.get("toPorts")):
                return True
        else:
            entries = [as_dict(pp) for pp in as_list(rule.get("ports"))]
            if not entries:
                return True
        results = [_port_matches(e, port, protocol) for e in entries]
        if any(r is True for r in results):
            return True
        return None if any(r is None for r in results) else False

    def _peer_covers(self, rule: dict[str, Any], ip: str) -> bool | None:
        if self.is_cilium:
            return self._cilium_peer_covers(rule, "to", ip)
        peers = as_list(rule.get("to"))
        if not peers:
            return True
        for peer in peers:
            block = as_dict(as_dict(peer).get("ipBlock"))
            if block and _cidr_contains(block.get("cidr"), ip) and \
                    not any(_cidr_contains(e, ip) for e in as_list(block.get("except"))):
                return True
        return False  # pod and namespace selectors reach pods, not an address outside the cluster

    def _cilium_peer_covers(self, rule: dict[str, Any], side: str, ip: str) -> bool | None:
        entities = {str(e) for e in as_list(rule.get(f"{side}Entities"))}
        if entities & _ALL_ENTITIES:
            return True
        for c in as_list(rule.get(f"{side}CIDR")):
            if _cidr_contains(c, ip):
                return True
        for c in as_list(rule.get(f"{side}CIDRSet")):
            c = as_dict(c)
            if _cidr_contains(c.get("cidr"), ip) and not any(_cidr_contains(e, ip) for e in as_list(c.get("except"))):
                return True
        # toFQDNs reaches the addresses its names resolve to: names, not the link-local metadata address
        if any(as_list(rule.get(k)) for k in (f"{side}Entities", f"{side}CIDR", f"{side}CIDRSet", f"{side}Endpoints",
                                               f"{side}Services", f"{side}Groups", f"{side}Nodes", f"{side}FQDNs")):
            return False
        # a rule with only ports (layer 4 only) allows every peer on those ports; an empty rule allows nothing
        return True if as_list(rule.get("toPorts")) else False


# Network plugins apply no pod selector to a pod on the node's network (Azure NPM, Calico and Cilium treat its traffic
# as the node's: the Kubernetes documentation, "NetworkPolicy and hostNetwork pods"), so no policy isolates it.
HOST_NETWORK_EXPECTED = "false: a pod on the node's network is not subject to network policies"


def rules_of(obj: K8sObject) -> list[PolicyRule]:
    prefix = f"{obj.kind}/{obj.name}"
    if obj.kind == "NetworkPolicy":
        return [PolicyRule(obj, f"{prefix}.spec", as_dict(obj.body.get("spec")))]
    out = []
    if isinstance(obj.body.get("spec"), dict):
        out.append(PolicyRule(obj, f"{prefix}.spec", obj.body["spec"]))
    for i, r in enumerate(as_list(obj.body.get("specs"))):
        if isinstance(r, dict):
            out.append(PolicyRule(obj, f"{prefix}.specs[{i}]", r))
    return out


NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # the API server sets it on every namespace, to its name


def namespace_labels(scope: K8sScope, namespace: str) -> dict[str, str]:
    """A namespace's labels as the cluster has them: its object's, and the name label the API server always sets
    (a manifest does not write it; a namespace only implied by other objects has it too)."""
    ns = scope.get("Namespace", None, namespace)
    return {**(labels_of(meta(ns.body)) if ns is not None else {}), NAMESPACE_NAME_LABEL: namespace}


def policy_rules(scope: K8sScope, namespace: str) -> list[PolicyRule] | str:
    """Every rule that may select pods of ``namespace``, or why the policies cannot be known (a gap). Once per
    namespace of a scope: every workload of the namespace asks (the list is shared: callers must not change it)."""
    key = ("policy_rules", namespace)
    if key not in scope.memo:
        scope.memo[key] = _policy_rules(scope, namespace)
    return scope.memo[key]


def _policy_rules(scope: K8sScope, namespace: str) -> list[PolicyRule] | str:
    gaps = [g for g in (scope.gap(k) for k in POLICY_KINDS) if g]
    if gaps:
        return "network policies cannot be checked: " + "; ".join(gaps)
    objs: list[K8sObject] = [*scope.of("NetworkPolicy", namespace), *scope.of("CiliumNetworkPolicy", namespace),
                             *scope.of("CiliumClusterwideNetworkPolicy")]
    for o in objs:  # read as absent, a malformed rule list would isolate (or open) the namespace unseen
        bad = rejected(o.resource)
        if bad is not None:
            return (f"network policies cannot be checked: {o.kind} {o.name} has a shape the API server rejects "
                    f"(so it is not in force, and what is in force is unknown): {bad}")
    ns_labels = namespace_labels(scope, namespace)
    return [r for o in objs for r in rules_of(o) if r.obj.namespace is not None
            or r.applies_to_namespace(namespace, ns_labels)]
