"""Workload practices beyond the Pod Security Standards: secrets and credentials in the environment,
security contexts, read-only root filesystems, images (allowed registries, pinned), resource limits,
service account tokens, naked pods and the default namespace.

Evidence never carries an environment variable's literal value: only its name and path.
"""

from __future__ import annotations

from typing import Any, Mapping

from ...k8s import kinds
from ...k8s.checks import BEYOND_RULES, CLUSTER_ACCESS, CONTAINER_SCOPE, SEVERAL_OBJECTS, RESOURCES_SCOPE, WORKLOAD_ADMISSION, ABSENT, Findings, cite, gap_text, k8s_control, object_of, scope_of, unknown
from ...k8s.podspec import RESOURCE_GROUPS, as_dict, as_list, pod_view
from ...k8s.rules import IMAGE_REFERENCE, KubeRule, ipv6_image_reference
from ...k8s.shapes import ZERO_QUANTITY
from ...k8s.sensitive import DEFAULT_KEY_NAMES, DEFAULT_VALUES, SensitiveRules
from ...policy.conditions import Verdict
from ...targets import Target
from ..model import Mappings, Parameter, Severity
from .k8s_pod_security import EPHEMERAL_NOTE, NO_PRIVILEGE_ESCALATION, not_windows

W = kinds.WORKLOAD
REDACTED = "<literal value, not shown>"


# -- secrets and credentials in env ----------------------------------------------------------------------

def literal_credentials(target: Target, params: Mapping[str, Any]) -> Verdict:
    """Literal credentials in container env values (every container) or in a ConfigMap's data."""
    rules = SensitiveRules.from_params(params)
    f = Findings()
    if target.match_type == kinds.CONFIG_MAP:
        data = as_dict(target.body.get("data"))
        binary = as_dict(target.body.get("binaryData"))
        for key, value in data.items():
            why = rules.judge(key, value) if isinstance(value, str) else None
            f.check(why is None, f"data.{key}", "equals", "no literal credential (use a Secret)",
                    f"{REDACTED} in {key!r} ({why})" if why else "not a credential")
        for key in binary:
            key_name = rules.name_matches(str(key))
            f.check(key_name is None, f"binaryData.{key}", "equals", "no credential-named binary data (use a Secret)",
                    f"{REDACTED} in {str(key)!r} (a credential-looking name, contains {key_name!r})" if key_name
                    else "not a credential")
        if not (f.good or f.bad):
            f.ok("data", "contains no", "literal credentials", "no data")
        return f.verdict()
    for c in pod_view(target).containers():
        flagged = False
        for i, e in enumerate(as_list(c.body.get("env"))):
            e = as_dict(e)
            name = str(e.get("name", ""))
            why = rules.judge(name, e.get("value"))
            if why:
                flagged = True
                f.fail(c.p(f"env[{i}].value"), "equals", "a reference (valueFrom) for credentials, not a literal",
                       f"{REDACTED} in {name!r} ({why})")
        if not flagged:
            f.ok(c.p("env"), "contains no", "literal credentials", "none")
    if not (f.good or f.bad):
        f.ok(pod_view(target).p("containers"), "contains no", "containers", "none")
    return f.verdict()


# -- security context, filesystem -------------------------------------------------------------------------

# -- the object rules (Python and Gatekeeper Rego from one declaration) ----------------------------------

def _rule(*checks: dict[str, Any], **extra: Any) -> KubeRule:
    return KubeRule({"kinds": "workloads", "checks": list(checks), **extra})


SECRETS_IN_ENV = _rule({"scope": "containers", "require": {"allOf": [
    {"each": "env", "require": {"field": "valueFrom.secretKeyRef", "empty": True}},
    {"each": "envFrom", "require": {"field": "secretRef", "empty": True}}]}})
# The four essentials, each the container's value, else the pod's.
SECURITY_CONTEXT = _rule({"scope": "containers", "require": {"allOf": [
    {"anyOf": [{"field": "securityContext.runAsNonRoot", "equals": True},
               {"allOf": [{"field": "securityContext.runAsNonRoot", "exists": False},
                          {"field": "$pod.securityContext.runAsNonRoot", "equals": True}]},
               {"field": "securityContext.runAsUser", "greaterOrEquals": 1},
               {"allOf": [{"field": "securityContext.runAsUser", "exists": False},
                          {"field": "$pod.securityContext.runAsUser", "greaterOrEquals": 1}]}]},
    NO_PRIVILEGE_ESCALATION,
    {"anyOf": [{"allOf": [{"field": "securityContext.seccompProfile", "empty": False},
                          {"field": "securityContext.seccompProfile.type", "in": ["RuntimeDefault", "Localhost"]}]},
               {"allOf": [{"field": "securityContext.seccompProfile", "empty": True},
                          {"field": "$pod.securityContext.seccompProfile.type", "in": ["RuntimeDefault", "Localhost"]}]}]},
    {"field": "securityContext.capabilities.drop", "empty": False}]}},
    applies=[not_windows("allowPrivilegeEscalation, seccompProfile and capabilities (three of the four settings "
                         "checked)")])
READ_ONLY_ROOT = _rule({"scope": "containers", "require": {
    "field": "securityContext.readOnlyRootFilesystem", "equals": True}},
    applies=[not_windows("readOnlyRootFilesystem")])
NO_IMAGE = {"field": "image", "exists": False}
# A malformed reference (an empty tag, a digest that is none) names no image the runtime can pull: its registry, tag
# and digest are no verdict's to pass (rules.IMAGE_REFERENCE), so it fails, with the image as evidence. A registry
# host that is an IPv6 literal ("[fd00::1]:5000/app:1.0") is well formed (distribution/reference from v0.6).
WELL_FORMED_IMAGE = {"anyOf": [{"field": "image", "matches": IMAGE_REFERENCE}, ipv6_image_reference("image")]}
ALLOWED_REGISTRIES = _rule({
    "scope": "containers", "unknown_when": NO_IMAGE,
    "unknown_reason": "{item} has no image (set by a default or mutating webhook at admission)",
    "require": {"allOf": [WELL_FORMED_IMAGE, {"field": "image", "fromRegistry": {"param": "allowedRegistries"}}]}})
PINNED_IMAGES = _rule({
    "scope": "containers", "unknown_when": NO_IMAGE, "unknown_reason": "{item} has no image",
    "require": {"allOf": [WELL_FORMED_IMAGE, {"anyOf": [
        {"field": {"image": "image", "part": "digest"}, "exists": True},
        {"allOf": [{"field": "$params.requireDigest", "notEquals": True},
                   {"field": {"image": "image", "part": "tag"}, "exists": True},
                   {"field": {"image": "image", "part": "tag"}, "notEquals": "latest"}]}]}]}})


def _resources(field: str, resource: str) -> KubeRule:
    """Every container and init container sets resources.<field>.<resource> (ephemeral containers may not set
    resources at all). A request defaults to the limit when only the limit is set (Kubernetes does so). Zero, in any
    spelling of a resource.Quantity, is not set: a zero limit sets none (the kubelet sets no CFS quota for 0
    millicores, no memory cgroup limit for 0 bytes), and Kubernetes counts only requests above zero (the QoS class:
    GetPodQOS in pkg/apis/core/helper/qos; a pod whose requests are all zero is BestEffort)."""
    value: Any = f"resources.{field}.{resource}"
    if field == "requests":
        value = [value, f"resources.limits.{resource}"]
    return _rule({"scope": "containers", "groups": list(RESOURCE_GROUPS), "require": {"allOf": [
        {"field": value, "exists": True}, {"field": value, "notIn": [0]},
        {"field": value, "notMatches": ZERO_QUANTITY}]}})


# The account a pod runs as: serviceAccountName when not empty, else the deprecated alias serviceAccount (the API
# server's conversion), else default (the ServiceAccount admission plugin); an empty string names none.
DEDICATED_SERVICE_ACCOUNT = _rule({"scope": "pod", "require": {"anyOf": [
    {"allOf": [{"field": "serviceAccountName", "empty": False},
               {"field": "serviceAccountName", "notEquals": "default"}]},
    {"allOf": [{"field": "serviceAccountName", "empty": True}, {"field": "serviceAccount", "empty": False},
               {"field": "serviceAccount", "notEquals": "default"}]}]}})
# Only Pods: a controller is not a naked pod (not applicable in Python; not matched by the constraint).
NAKED_POD = KubeRule({"kinds": ["Pod"], "applies": [
    {"when": {"field": "$object.kind", "equals": "Pod"}, "reason": "{value} is a controller, not a naked pod"}],
    "checks": [{"scope": "object", "require": {"field": "metadata.ownerReferences", "empty": False}}]})


# -- service accounts -------------------------------------------------------------------------------------

def _service_account_name(target: Target) -> tuple[str, str | None]:
    v = pod_view(target)
    for key in ("serviceAccountName", "serviceAccount"):
        name = v.spec.get(key)
        if isinstance(name, str) and name:
            return name, v.p(key)
    return "default", None


def token_automount(target: Target, params: Mapping[str, Any]) -> Verdict:
    f = Findings()
    if target.match_type == kinds.SERVICE_ACCOUNT:
        # CIS 4.1.6 reviews service account objects too: unset, the token is mounted into every pod that says nothing
        value = target.body.get("automountServiceAccountToken", ABSENT)
        f.check(value is False, "automountServiceAccountToken", "equals", False, value)
        return f.verdict()
    v = pod_view(target)
    pod_value = v.spec.get("automountServiceAccountToken", ABSENT)
    if pod_value is not ABSENT and pod_value is not None:  # null is unset: the ServiceAccount decides
        f.check(pod_value is False, v.p("automountServiceAccountToken"), "equals", False, pod_value)
        return f.verdict()
    scope = scope_of(target)
    ns = target.namespace
    sa_name, _ = _service_account_name(target)
    sa = scope.get("ServiceAccount", ns, sa_name)
    if sa is not None:
        prefix = cite(target, sa.resource, f"ServiceAccount/{sa_name}")
        value = sa.body.get("automountServiceAccountToken", ABSENT)
        f.check(value is False, f"{prefix}.automountServiceAccountToken", "equals", False, value)
        f.check(value is False, v.p("automountServiceAccountToken"), "equals",
                "false (or unset with the ServiceAccount's false)", ABSENT)
        return f.verdict()
    known_absent, why = scope.absent_reason("ServiceAccount", ns, sa_name)
    if known_absent or (sa_name == "default" and not scope.is_snapshot):
        detail = why if known_absent else (
            "the default ServiceAccount is not among the manifests; Kubernetes creates it with "
            "automountServiceAccountToken unset, so the token is mounted")
        f.fail(v.p("automountServiceAccountToken"), "equals", False, ABSENT)
        f.fail(f"ServiceAccount {sa_name}", "equals", "automountServiceAccountToken false", detail)
        return f.verdict()
    return unknown(f"spec.automountServiceAccountToken is unset and {why}",
                   [*f.good])


# Kubernetes' own objects in default: the API server's Service, Endpoints and EndpointSlice, the root CA bundle
# published in every namespace, the default ServiceAccount; and Events, which Kubernetes writes about objects.
BUILTIN_DEFAULT_NS = {("Service", "kubernetes"), ("ConfigMap", "kube-root-ca.crt"), ("Endpoints", "kubernetes"),
                      ("EndpointSlice", "kubernetes"), ("ServiceAccount", "default")}


def default_namespace(target: Target, params: Mapping[str, Any]) -> Verdict:
    obj = object_of(target)
    f = Findings()
    if obj is None:
        return unknown("not an object of this scope")
    if obj.namespace_assumed:
        return unknown("metadata.namespace is not set: the namespace is chosen at apply time (kubectl -n, the "
                       "current context, Helm --namespace), so whether it is 'default' is unknown")
    ns = obj.namespace
    f.check(ns != "default", "metadata.namespace", "notEquals", "default", ns)
    return f.verdict()


def _builtin_in_default(target: Target, params: Mapping[str, Any]) -> str | None:
    obj = object_of(target)
    if obj is not None and obj.namespace == "default" and (obj.kind, obj.name) in BUILTIN_DEFAULT_NS:
        return f"{obj.kind} default/{obj.name} is created by Kubernetes itself"
    if obj is not None and obj.kind == "Event":
        return "Events are written by Kubernetes about other objects, in their namespace"
    return None


POD_PRACTICE = "Workload hardening"
DEFAULT_REGISTRIES = ["mcr.microsoft.com", "*.azurecr.io"]


# A LimitRange default is applied by the API server to each Pod it admits, never to a controller's template: the
# resources controls judge what the workload's own spec asks for (manifests and templates alike; a live snapshot's
# admitted Pods carry the filled-in values and pass).
LIMIT_RANGE_NOTE = (" A LimitRange default of the namespace fills in a missing value in each Pod as the API server "
                    "admits it (never in a controller's template): this control judges what the workload's own spec "
                    "sets, since the default belongs to the namespace and can change or go without the workload "
                    "changing; the admitted Pods of a live snapshot carry the filled-in value and pass.")

CONTROLS = [
    k8s_control(
        id="AKS-122", exclusions=WORKLOAD_ADMISSION, tags=(CONTAINER_SCOPE,), title="Secrets are mounted as files, not passed as environment variables",
        severity=Severity.MEDIUM, section="CIS 4.5",
        rationale=(
            "Environment variables are easy to leak: they show in process listings, crash dumps, debug endpoints "
            "and logs of anything that prints its environment, and they are inherited by child processes. A secret "
            "mounted as a file can be read only by processes that open it, and is updated when the Secret changes."),
        remediation=(
            "Replace env[*].valueFrom.secretKeyRef and envFrom[*].secretRef with a secret volume (or the Key Vault "
            "Secrets Store CSI driver) and read the value from the file."),
        references=("https://kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-files-from-a-pod",),
        mappings=Mappings(cis_aks=("4.5.1",), kubescape=("C-0207",), mitre=("T1552.007",)),
        rule=SECRETS_IN_ENV),
    k8s_control(
        id="AKS-123", exclusions=WORKLOAD_ADMISSION, tags=(CONTAINER_SCOPE,),
        title="No credentials are written literally into environment variables or ConfigMaps",
        severity=Severity.HIGH, section="CIS 4.5",
        rationale=(
            "A password, key or token written as a literal env value lives in the manifest, in source control, in "
            "the cluster's etcd as plain pod spec (readable by anyone who can read pods, not only Secrets) and in "
            "every rendered Helm release; in a ConfigMap it is readable by anyone who can read configmaps and is not "
            "protected like a Secret. A name flags a value when it contains a sensitive key name (PASSWORD, SECRET, "
            "TOKEN, a whole-word KEY ...) and the value is a literal: a file path (the secret mounted as a file, the "
            "remedy), a reference ($(VAR), a Key Vault reference), a switch, a number or a URL without credentials "
            "is not a credential. A value is flagged whatever its name when it looks like a private key, an AWS key, "
            "a JWT, a bearer or basic authorization token (any case), an Azure connection string or SAS signature. "
            "The values are never shown. The key names and value patterns are kubescape's data inputs of the same "
            "names (sensitiveKeyNames, sensitiveValues, sensitiveKeyNamesAllowed, sensitiveValuesAllowed), set with "
            "--control-param or --control-config."),
        remediation=(
            "Move the value into a Secret (or Azure Key Vault via the Secrets Store CSI driver), mount it as a file, "
            "and rotate the credential, which has been exposed."),
        mappings=Mappings(kubescape=("C-0012",), mitre=("T1552.001",)),
        types=(W, kinds.CONFIG_MAP), check=literal_credentials, policy_gap=gap_text(BEYOND_RULES.format(
            what="credential heuristics over names and values (whole-word name fragments, value patterns, allow-lists)")),
        parameters=(
            Parameter("sensitiveKeyNames", list(DEFAULT_KEY_NAMES),
                      "Fragments of env variable and ConfigMap key names that mark a credential (case-insensitive; "
                      "a fragment shorter than five characters matches only a whole word of the name).",
                      type="Array"),
            Parameter("sensitiveValues", list(DEFAULT_VALUES),
                      "Regular expressions of values that are credentials whatever their name.", type="Array",
                      schema={"items": {"format": "regex"}}),
            Parameter("sensitiveKeyNamesAllowed", [], "Names (fragments) never flagged, e.g. PUBLIC_KEY_ID.",
                      type="Array"),
            Parameter("sensitiveValuesAllowed", [], "Regular expressions of values never flagged.", type="Array",
                      schema={"items": {"format": "regex"}}))),
    k8s_control(
        id="AKS-124", exclusions=WORKLOAD_ADMISSION, tags=(CONTAINER_SCOPE,), title="Pods and containers apply a security context", severity=Severity.MEDIUM,
        section="CIS 4.6",
        rationale=(
            "CIS 4.6.2 asks for security contexts on pods and containers. Checked as the four settings that matter "
            "most for every container (container value, else the pod's): a non-root user (runAsNonRoot or a "
            "non-zero runAsUser), allowPrivilegeEscalation false (not privileged, no SYS_ADMIN: either makes it true), a RuntimeDefault or Localhost seccomp profile, "
            "and dropped capabilities. The Pod Security Standards controls check each in detail. A Windows pod "
            "(spec.os.name: windows) may not set three of them (the API server rejects it), so the control does not "
            "apply to it."),
        remediation=(
            "Set spec.securityContext (runAsNonRoot: true, seccompProfile.type: RuntimeDefault) and each container's "
            "securityContext (allowPrivilegeEscalation: false, capabilities.drop: [ALL])."),
        references=("https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",),
        mappings=Mappings(cis_aks=("4.6.2",), mitre=("T1611",)),
        mapping_note=("kubescape C-0211 bundles eleven rules (fsGroup, fsGroupChangePolicy, supplementalGroups and "
                      "seLinuxOptions set on every pod, NET_RAW dropped by name, a RuntimeDefault seccomp profile ...; "
                      "one, set-systctls-params, reads a misspelt field and fails every workload), and C-0055 passes "
                      "any one Linux hardening: neither checks these four settings, so neither is mapped. Group ids "
                      "(runAsGroup, fsGroup, supplementalGroups) are AKS-154; seLinuxOptions values AKS-111."),
        rule=SECURITY_CONTEXT),
    k8s_control(
        id="AKS-125", exclusions=WORKLOAD_ADMISSION, tags=(CONTAINER_SCOPE,), title="Containers run with a read-only root filesystem", severity=Severity.MEDIUM,
        section=POD_PRACTICE,
        rationale=(
            "A writable root filesystem lets an attacker who gets code execution drop tools, modify binaries and "
            "persist across process restarts within the container. With readOnlyRootFilesystem the image stays "
            "immutable; writable paths are explicit emptyDir or volume mounts. A Windows pod (spec.os.name: "
            "windows) may not set readOnlyRootFilesystem (the API server rejects it): the control does not apply."),
        remediation=(
            "Set securityContext.readOnlyRootFilesystem: true in every container and init container; mount an "
            "emptyDir where the application needs to write (/tmp, caches)."),
        mappings=Mappings(kubescape=("C-0017",), azure_policy=("df49d893-a74c-421d-bc95-c663042e5b80",), mitre=("T1036",)),
        rule=READ_ONLY_ROOT,
       builtin_deviation=EPHEMERAL_NOTE + " It exempts no Windows pod, which may not set readOnlyRootFilesystem."),
    k8s_control(
        id="AKS-126", exclusions=WORKLOAD_ADMISSION, tags=(CONTAINER_SCOPE,), title="Images come from allowed registries", severity=Severity.HIGH, section="CIS 5.1",
        rationale=(
            "Images from arbitrary public registries can be replaced, typo-squatted or carry malware, and are not "
            "scanned by the organisation's pipeline. Pulling only from approved registries (Azure Container Registry "
            "instances, Microsoft Container Registry) keeps the supply chain under control. An image without a "
            "registry host is Docker Hub; a malformed reference (such as an empty tag) comes from no registry and "
            "fails. A host that is an IPv6 literal ([fd00::1]:5000/app:1.0) is well formed (distribution/reference "
            "reads it from v0.6, the version Kubernetes and containerd use)."),
        remediation=(
            "Import the images into an approved registry (az acr import) and reference them there; set the control "
            "parameter allowedRegistries to the registries you approve (globs, e.g. myacr.azurecr.io)."),
        mappings=Mappings(cis_aks=("5.1.4",), kubescape=("C-0078",), azure_policy=("febd0533-8e55-448f-b837-bd0e06f16469",),
                          mitre=("T1195.002",)),
        mapping_note=("allowedRegistries is kubescape's imageRepositoryAllowList (registry hosts or host/path "
                      "prefixes); kubescape's default list is empty, this control's default allows Microsoft's and "
                      "Azure Container Registry's."),
        rule=ALLOWED_REGISTRIES,
        parameters=(Parameter("allowedRegistries", DEFAULT_REGISTRIES,
                              "Registry hosts (globs, e.g. *.azurecr.io) or host/path prefixes (with '/', e.g. "
                              "myacr.azurecr.io/team/*) images may come from. A registry addressed by an IPv6 literal "
                              "is written with '?' for each bracket ('?fd00::1?:5000'): in a glob, [...] is a class "
                              "of characters.", type="Array"),),
       builtin_deviation=EPHEMERAL_NOTE,
        builtin_parameters={"febd0533-8e55-448f-b837-bd0e06f16469": {"allowedContainerImagesRegex": "^(mcr[.]microsoft[.]com|[^/]+[.]azurecr[.]io)/.+$"}}),
    k8s_control(
        id="AKS-127", exclusions=WORKLOAD_ADMISSION, tags=(CONTAINER_SCOPE,), title="Images are pinned to a version tag or digest (not latest)", severity=Severity.MEDIUM,
        section=POD_PRACTICE,
        rationale=(
            "An image without a tag, or tagged latest, changes under the workload: two nodes can run different code, "
            "a rollback does not roll back, and what was scanned is not what runs. A version tag, or better a digest, "
            "makes the deployment reproducible and auditable; with requireDigest only a digest passes, since a tag "
            "can be pushed again with other content. A malformed reference (an empty tag as in 'nginx:', a digest that "
            "is not 64 lower-case hex digits after sha256:) is no pin: the kubelet refuses it (InvalidImageName), and "
            "it fails, with the image as evidence."),
        remediation="Reference images as registry/repository:version or registry/repository@sha256:<digest>.",
        parameters=(Parameter("requireDigest", False,
                              "Require a digest (@sha256:...): a tag, even a version, can be moved to other content.",
                              type="Boolean"),),
        mappings=Mappings(azure_policy=("021f8078-41a0-40e6-81b6-c6597da9f3ee",), mitre=("T1195.002",)),
        mapping_note=("kubescape C-0075 fails a latest tag only when imagePullPolicy is not Always; an unpinned "
                      "image fails here whatever the pull policy, so C-0075 is not mapped."),
        rule=PINNED_IMAGES),
    k8s_control(
        id="AKS-128", exclusions=WORKLOAD_ADMISSION, tags=(RESOURCES_SCOPE,), title="Containers set a memory limit", severity=Severity.MEDIUM, section=POD_PRACTICE,
        rationale=(
            "A container without a memory limit can consume the node's memory until the kernel kills other "
            "workloads (or system daemons): a noisy neighbour or a denial of service. A limit confines the damage "
            "to the container itself." + LIMIT_RANGE_NOTE),
        remediation="Set resources.limits.memory in every container and init container (and a LimitRange as default).",
        mappings=Mappings(kubescape=("C-0271",), azure_policy=("e345eecc-fa47-480f-9e88-67dcc122b164",), mitre=("T1496",)),
        mapping_note="kubescape C-0004 asks for the memory limit and request together: the request is AKS-161.",
        rule=_resources("limits", "memory"),
       builtin_deviation=("The built-in takes a zero memory limit (0Mi, 00Gi) for a limit, which sets none (the kubelet "
                          "sets no memory cgroup limit for zero), and cannot parse a decimal quantity (0.5Gi), which it denies."),
       builtin_parameters={"e345eecc-fa47-480f-9e88-67dcc122b164": {"cpuLimit": "64", "memoryLimit": "1024Gi"}}),
    k8s_control(
        id="AKS-129", exclusions=WORKLOAD_ADMISSION, tags=(RESOURCES_SCOPE,), title="Containers set a CPU limit", severity=Severity.LOW, section=POD_PRACTICE,
        rationale=(
            "A container without a CPU limit can starve other workloads on its node under load or when "
            "compromised (crypto-mining). Azure Policy's resource-limit built-in requires CPU and memory limits; "
            "where CPU limits are deliberately not used, waive this control for the workloads concerned." + LIMIT_RANGE_NOTE),
        remediation="Set resources.limits.cpu in every container and init container (and a LimitRange as default).",
        mappings=Mappings(kubescape=("C-0270",), azure_policy=("e345eecc-fa47-480f-9e88-67dcc122b164",), mitre=("T1496",)),
        mapping_note="kubescape C-0050 asks for the CPU limit and request together: the request is AKS-160.",
        rule=_resources("limits", "cpu"),
       builtin_deviation=("The built-in takes a zero CPU limit (0m) for a limit, which sets none (the kubelet "
                          "sets no CFS quota for zero), and cannot parse a decimal quantity (0.05), which it denies."),
       builtin_parameters={"e345eecc-fa47-480f-9e88-67dcc122b164": {"cpuLimit": "64", "memoryLimit": "1024Gi"}}),
    k8s_control(
        id="AKS-160", exclusions=WORKLOAD_ADMISSION, tags=(RESOURCES_SCOPE,),
        title="Containers request CPU", severity=Severity.LOW, section=POD_PRACTICE,
        rationale=(
            "The scheduler places pods by their requests: a container without a CPU request is placed as if it "
            "needed none, lands on crowded nodes and is the first throttled; without requests a namespace's quota "
            "cannot be enforced either. A request defaults to the limit when only the limit is set (Kubernetes "
            "does so). Ephemeral containers may not set resources and are not asked." + LIMIT_RANGE_NOTE),
        remediation="Set resources.requests.cpu in every container and init container (or a LimitRange default).",
        mappings=Mappings(kubescape=("C-0268",), azure_policy=("03a4ecdb-0684-4039-be91-2762979e1bc8",), mitre=("T1496",)),
        rule=_resources("requests", "cpu")),
    k8s_control(
        id="AKS-161", exclusions=WORKLOAD_ADMISSION, tags=(RESOURCES_SCOPE,),
        title="Containers request memory", severity=Severity.MEDIUM, section=POD_PRACTICE,
        rationale=(
            "A container without a memory request is placed as if it needed no memory and is among the first "
            "evicted or killed when the node runs short; node memory is overcommitted without anyone knowing. A "
            "request defaults to the limit when only the limit is set (Kubernetes does so). Ephemeral containers "
            "may not set resources and are not asked." + LIMIT_RANGE_NOTE),
        remediation="Set resources.requests.memory in every container and init container (or a LimitRange default).",
        mappings=Mappings(kubescape=("C-0269",), azure_policy=("03a4ecdb-0684-4039-be91-2762979e1bc8",), mitre=("T1496",)),
        rule=_resources("requests", "memory")),
    k8s_control(
        id="AKS-130", exclusions=WORKLOAD_ADMISSION, title="Service account tokens are mounted only where necessary", severity=Severity.MEDIUM,
        section="CIS 4.1",
        rationale=(
            "Every pod gets a token for its service account unless automounting is disabled. A compromised "
            "container can use that token against the API server with whatever the account is granted. The pod's "
            "automountServiceAccountToken decides; when unset, the ServiceAccount's does (joined within the scope); "
            "when both are unset the token is mounted. CIS 4.1.6 reviews service account objects as well: each "
            "ServiceAccount other than default (AKS-144 asks the same of it) passes only with "
            "automountServiceAccountToken: false, and workloads that need the API set true on their pods."),
        remediation=(
            "Set automountServiceAccountToken: false on the pod spec (or on its ServiceAccount) for workloads that "
            "do not call the Kubernetes API."),
        mappings=Mappings(cis_aks=("4.1.6",), kubescape=("C-0034", "C-0190"), azure_policy=("423dd1ba-798e-40e4-9c4d-b6902674b423",),
                          mitre=("T1552.007",)),
        types=(W, kinds.SERVICE_ACCOUNT), check=token_automount, policy_gap=gap_text(SEVERAL_OBJECTS.format(
            what="the pod and, where the pod leaves it unset, its ServiceAccount"), "423dd1ba-798e-40e4-9c4d-b6902674b423"),
       builtin_deviation=("The built-in reads the pod's automountServiceAccountToken only: a pod that leaves it unset under a ServiceAccount that disables automounting passes here (the pod inherits it) and fails the built-in.")),
    k8s_control(
        id="AKS-131", exclusions=WORKLOAD_ADMISSION, title="Workloads use a dedicated service account, not 'default'", severity=Severity.LOW,
        section="CIS 4.1",
        rationale=(
            "Workloads that share the namespace's default service account share its permissions: granting one "
            "workload API access grants it to all, and its token identifies no one. CIS 4.1.5 and 5.2.1 ask for "
            "dedicated service accounts."),
        remediation="Create a ServiceAccount per workload and set spec.serviceAccountName in the pod template.",
        mappings=Mappings(cis_aks=("4.1.5", "5.2.1"), mitre=("T1078.001",)),
        mapping_note=("kubescape C-0189 judges the default ServiceAccounts and the namespaces (AKS-144), not the "
                      "workloads that use them, so it is mapped there."),
        rule=DEDICATED_SERVICE_ACCOUNT),
    k8s_control(
        id="AKS-132", exclusions=WORKLOAD_ADMISSION, title="Pods are managed by a controller (no naked pods)", severity=Severity.LOW,
        section=POD_PRACTICE,
        rationale=(
            "A pod created directly is not rescheduled when its node fails, is not updated by rollouts and escapes "
            "the review that controller templates get. Azure Policy flags naked pods; controllers (Deployments, "
            "StatefulSets, DaemonSets, Jobs) are not applicable."),
        remediation="Run the workload as a Deployment, StatefulSet, DaemonSet or Job instead of a bare Pod.",
        mappings=Mappings(kubescape=("C-0073",), azure_policy=("65280eef-c8b4-425e-9aec-af55e55bf581",), mitre=("T1610",)),
        types=W, rule=NAKED_POD),
    k8s_control(
        id="AKS-133", exclusions=CLUSTER_ACCESS, title="The default namespace is not used", severity=Severity.LOW, section="CIS 4.6",
        rationale=(
            "Objects in the default namespace get no administrative boundary: RBAC, network policies, quotas and "
            "Pod Security Admission labels are rarely set there, and everything deployed without a namespace lands "
            "there. CIS 4.6.3 covers every namespaced kind, so every object of a built-in namespaced kind is checked "
            "(workloads, Services, ConfigMaps, Secrets, PersistentVolumeClaims, PodDisruptionBudgets, "
            "HorizontalPodAutoscalers, Leases, EndpointSlices, NetworkPolicies, RBAC ...); custom resources are not. "
            "Kubernetes' own objects there (Service, Endpoints and EndpointSlice kubernetes, ConfigMap "
            "kube-root-ca.crt, ServiceAccount default, Events) are not applicable. A live snapshot holds the kinds "
            "the collector reads. A manifest without metadata.namespace is unknown, not failed: it lands in the "
            "namespace chosen at apply time (kubectl -n, the context's namespace, helm --namespace), default only "
            "when none is chosen."),
        remediation="Create namespaces per application or team and deploy into them (metadata.namespace).",
        mappings=Mappings(cis_aks=("4.6.3",), kubescape=("C-0212", "C-0061"), azure_policy=("9f061a12-e40d-4183-a00e-171812443373",)),
        mapping_note=("kubescape C-0061 warns of pods 'without explicit namespace assignment'; a manifest that leaves "
                      "metadata.namespace out is unknown here (never passed), one that names default fails."),
        types=kinds.NAMESPACED_TYPES, check=default_namespace, applies=_builtin_in_default,
        policy_gap=gap_text("a manifest that leaves metadata.namespace out lands in the namespace chosen at apply time, "
                            "unknown offline, and Kubernetes' own objects in default are told apart by kind and name",
                            "9f061a12-e40d-4183-a00e-171812443373"),
       builtin_deviation=("The built-in matches Pods, Services and ServiceAccounts only; this control checks every namespaced built-in kind (ConfigMaps, Secrets, PersistentVolumeClaims ...).")),
]
