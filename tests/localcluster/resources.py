"""What each emulated release serves: ``/version``, API groups, resources, discovery bodies.

Three profiles, each the default set a real kube-apiserver of that release served (no alpha
groups, which were off by default):

* ``"1.8"``  GKE 1.8.8-gke.0 (early 2018): ``apps/v1beta2`` is the newest apps version,
  ``extensions/v1beta1`` still serves Deployments, PodSecurityPolicy exists, no ``apps/v1``.
* ``"1.15"`` v1.15.12: ``apps/v1`` preferred but ``apps/v1beta1|2`` and ``extensions`` still
  served (they went away in 1.16), ``batch/v1beta1`` CronJob, ``policy/v1beta1`` PSP.
* ``"1.30"`` v1.30.5: GA groups only, plus the two flowcontrol versions the server still served.

Discovery details that clients notice are reproduced: ``singularName`` is empty for built-in
resources before 1.27, ``/api/v1`` answers without ``apiVersion``, pods/nodes/services carry the
legacy ``proxy`` verb on 1.8 (the root ``/proxy`` paths were removed in 1.10), services have
no ``deletecollection`` before 1.23, scale subresources name the Scale kind of their group version.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

PROFILES = ("1.8", "1.15", "1.30")

_VERSION_INFO = {
    # GKE wrote minor "8+"; clients only read it as a string (kubectl uses gitVersion).
    "1.8": ("1", "8+", "v1.8.8-gke.0", "6e5b33a290a99c067003632e0fd6be0ead48b233", "2018-02-16T18:26:58Z", "go1.8.3b4"),
    "1.15": ("1", "15", "v1.15.12", "e2a822d9f3c2fdb5c9bfbe64313cf9f657f0a725", "2020-05-06T05:17:59Z", "go1.12.17"),
    "1.30": ("1", "30", "v1.30.5", "74e84a90c725047b1328ff3d589fedb1cb7a120e", "2024-09-12T00:17:07Z", "go1.22.6"),
}

ALL = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
NO_COLLECTION = ("create", "delete", "get", "list", "patch", "update", "watch")
STATUS = ("get", "patch", "update")
CREATE = ("create",)
PROXY_SUB = ("create", "delete", "get", "patch", "update")
CONNECT = ("create", "get")


@dataclass(frozen=True)
class Resource:  # pylint: disable=too-many-instance-attributes
    """One served resource of one group version, as discovery lists it.

    ``subresources`` holds ``(name, kind, verbs)``; where the subresource's kind lives in another
    group version (``deployments/scale`` is ``autoscaling/v1`` Scale on ``apps/v1``),
    ``subresource_versions`` holds ``(name, group, version)`` for it.
    """

    group: str
    version: str
    name: str
    singular: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...]
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    subresource_versions: tuple[tuple[str, str, str], ...] = ()

    @property
    def group_version(self) -> str:
        """``v1`` for the core group, ``apps/v1`` otherwise."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        """The kind of a list of these objects (``DeploymentList``)."""
        return self.kind + "List"

    def subresource(self, name: str) -> tuple[str, str, tuple[str, ...]] | None:
        """The ``(name, kind, verbs)`` of subresource ``name`` (``"status"``), or None."""
        for sub in self.subresources:
            if sub[0] == name:
                return sub
        return None

    def subresource_gvk(self, name: str) -> tuple[str, str, str] | None:
        """The ``(group, version, kind)`` a subresource reads and writes, or None if not served."""
        sub = self.subresource(name)
        if sub is None:
            return None
        for sub_name, group, version in self.subresource_versions:
            if sub_name == name:
                return group, version, sub[1]
        return self.group, self.version, sub[1]


# --- the tables -------------------------------------------------------------------------------
# A resource spec: (plural, kind, namespaced, verbs, short names, categories, subresource specs).
# A subresource spec: (name, kind, verbs) or (name, kind, verbs, group, version).

def _r(plural: str, kind: str, verbs: tuple[str, ...] = ALL, short: tuple[str, ...] = (),  # pylint: disable=too-many-arguments,too-many-positional-arguments
       cats: tuple[str, ...] = (),
       subs: tuple[tuple[Any, ...], ...] = (), cluster: bool = False) -> tuple[Any, ...]:
    return (plural, kind, not cluster, verbs, short, cats, subs)


def _status(kind: str) -> tuple[Any, ...]:
    return ("status", kind, STATUS)


def _scale(group: str, version: str) -> tuple[Any, ...]:
    return ("scale", "Scale", STATUS, group, version)


def _core(profile: str) -> list[tuple[Any, ...]]:
    old = profile == "1.8"
    proxy_verb = ("proxy",) if old else ()
    # The legacy "proxy" verb sorts between patch and update, as the 1.8 installer listed it.
    pods_verbs = ALL[:6] + proxy_verb + ALL[6:]
    services_verbs = ALL if profile == "1.30" else NO_COLLECTION
    services_verbs = services_verbs[:-2] + proxy_verb + services_verbs[-2:]
    eviction_version = "v1" if profile == "1.30" else "v1beta1"
    pod_subs: list[tuple[Any, ...]] = [
        ("attach", "PodAttachOptions", CONNECT),
        ("binding", "Binding", CREATE),
        ("eviction", "Eviction", CREATE, "policy", eviction_version),
        ("exec", "PodExecOptions", CONNECT),
        ("log", "Pod", ("get",)),
        ("portforward", "PodPortForwardOptions", CONNECT),
        ("proxy", "PodProxyOptions", PROXY_SUB),
        _status("Pod"),
    ]
    if profile == "1.30":
        pod_subs.insert(2, ("ephemeralcontainers", "Pod", STATUS))
    sa_subs = () if old else (("token", "TokenRequest", CREATE, "authentication.k8s.io", "v1"),)
    return [
        _r("bindings", "Binding", CREATE),
        _r("componentstatuses", "ComponentStatus", ("get", "list"), ("cs",), cluster=True),
        _r("configmaps", "ConfigMap", ALL, ("cm",)),
        _r("endpoints", "Endpoints", ALL, ("ep",)),
        _r("events", "Event", ALL, ("ev",)),
        _r("limitranges", "LimitRange", ALL, ("limits",)),
        _r("namespaces", "Namespace", NO_COLLECTION, ("ns",), cluster=True,
           subs=(("finalize", "Namespace", ("update",)), _status("Namespace"))),
        _r("nodes", "Node", ALL[:6] + proxy_verb + ALL[6:], ("no",), cluster=True,
           subs=(("proxy", "NodeProxyOptions", PROXY_SUB), _status("Node"))),
        _r("persistentvolumeclaims", "PersistentVolumeClaim", ALL, ("pvc",), subs=(_status("PersistentVolumeClaim"),)),
        _r("persistentvolumes", "PersistentVolume", ALL, ("pv",), cluster=True, subs=(_status("PersistentVolume"),)),
        _r("pods", "Pod", pods_verbs, ("po",), ("all",), tuple(pod_subs)),
        _r("podtemplates", "PodTemplate"),
        _r("replicationcontrollers", "ReplicationController", ALL, ("rc",), ("all",),
           (_scale("autoscaling", "v1"), _status("ReplicationController"))),
        _r("resourcequotas", "ResourceQuota", ALL, ("quota",), subs=(_status("ResourceQuota"),)),
        _r("secrets", "Secret"),
        _r("serviceaccounts", "ServiceAccount", ALL, ("sa",), subs=sa_subs),
        _r("services", "Service", services_verbs, ("svc",), ("all",),
           (("proxy", "ServiceProxyOptions", PROXY_SUB), _status("Service"))),
    ]


def _apps(version: str) -> list[tuple[Any, ...]]:
    scale = _scale("autoscaling", "v1") if version == "v1" else _scale("apps", version)
    deployment_subs: tuple[tuple[Any, ...], ...] = (scale, _status("Deployment"))
    if version == "v1beta1":
        deployment_subs = (("rollback", "DeploymentRollback", CREATE),) + deployment_subs
    specs = [
        _r("controllerrevisions", "ControllerRevision"),
        _r("daemonsets", "DaemonSet", ALL, ("ds",), ("all",), (_status("DaemonSet"),)),
        _r("deployments", "Deployment", ALL, ("deploy",), ("all",), deployment_subs),
        _r("replicasets", "ReplicaSet", ALL, ("rs",), ("all",), (scale, _status("ReplicaSet"))),
        _r("statefulsets", "StatefulSet", ALL, ("sts",), ("all",), (scale, _status("StatefulSet"))),
    ]
    if version == "v1beta1":
        # apps/v1beta1 never had DaemonSets or ReplicaSets.
        specs = [spec for spec in specs if spec[0] not in ("daemonsets", "replicasets")]
    return specs


def _extensions() -> list[tuple[Any, ...]]:
    scale = _scale("extensions", "v1beta1")
    return [
        _r("daemonsets", "DaemonSet", ALL, ("ds",), ("all",), (_status("DaemonSet"),)),
        _r("deployments", "Deployment", ALL, ("deploy",), ("all",),
           (("rollback", "DeploymentRollback", CREATE), scale, _status("Deployment"))),
        _r("ingresses", "Ingress", ALL, ("ing",), subs=(_status("Ingress"),)),
        _r("networkpolicies", "NetworkPolicy", ALL, ("netpol",)),
        _r("podsecuritypolicies", "PodSecurityPolicy", ALL, ("psp",), cluster=True),
        _r("replicasets", "ReplicaSet", ALL, ("rs",), ("all",), (scale, _status("ReplicaSet"))),
    ]


def _rbac() -> list[tuple[Any, ...]]:
    return [
        _r("clusterrolebindings", "ClusterRoleBinding", cluster=True),
        _r("clusterroles", "ClusterRole", cluster=True),
        _r("rolebindings", "RoleBinding"),
        _r("roles", "Role"),
    ]


def _authorization() -> list[tuple[Any, ...]]:
    return [
        _r("localsubjectaccessreviews", "LocalSubjectAccessReview", CREATE),
        _r("selfsubjectaccessreviews", "SelfSubjectAccessReview", CREATE, cluster=True),
        _r("selfsubjectrulesreviews", "SelfSubjectRulesReview", CREATE, cluster=True),
        _r("subjectaccessreviews", "SubjectAccessReview", CREATE, cluster=True),
    ]


def _hpa() -> list[tuple[Any, ...]]:
    return [_r("horizontalpodautoscalers", "HorizontalPodAutoscaler", ALL, ("hpa",), ("all",), (_status("HorizontalPodAutoscaler"),))]


def _jobs() -> tuple[Any, ...]:
    return _r("jobs", "Job", ALL, (), ("all",), (_status("Job"),))


def _cronjobs() -> tuple[Any, ...]:
    return _r("cronjobs", "CronJob", ALL, ("cj",), ("all",), (_status("CronJob"),))


def _csr(approval_verbs: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return [_r("certificatesigningrequests", "CertificateSigningRequest", ALL, ("csr",), cluster=True,
               subs=(("approval", "CertificateSigningRequest", approval_verbs), _status("CertificateSigningRequest")))]


def _pdb() -> tuple[Any, ...]:
    return _r("poddisruptionbudgets", "PodDisruptionBudget", ALL, ("pdb",), subs=(_status("PodDisruptionBudget"),))


def _psp() -> tuple[Any, ...]:
    return _r("podsecuritypolicies", "PodSecurityPolicy", ALL, ("psp",), cluster=True)


def _storageclasses() -> tuple[Any, ...]:
    return _r("storageclasses", "StorageClass", ALL, ("sc",), cluster=True)


def _crds(categories: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return [_r("customresourcedefinitions", "CustomResourceDefinition", ALL, ("crd", "crds"), categories,
               (_status("CustomResourceDefinition"),), cluster=True)]


def _apiservices(categories: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return [_r("apiservices", "APIService", ALL, (), categories, (_status("APIService"),), cluster=True)]


def _webhooks(categories: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return [
        _r("mutatingwebhookconfigurations", "MutatingWebhookConfiguration", ALL, (), categories, cluster=True),
        _r("validatingwebhookconfigurations", "ValidatingWebhookConfiguration", ALL, (), categories, cluster=True),
    ]


def _table_1_8() -> list[tuple[str, list[tuple[str, list[tuple[Any, ...]]]]]]:
    return [
        ("", [("v1", _core("1.8"))]),
        ("apiregistration.k8s.io", [("v1beta1", _apiservices(()))]),
        ("extensions", [("v1beta1", _extensions())]),
        ("apps", [("v1beta2", _apps("v1beta2")), ("v1beta1", _apps("v1beta1"))]),
        ("authentication.k8s.io", [("v1", [_r("tokenreviews", "TokenReview", CREATE, cluster=True)]),
                                   ("v1beta1", [_r("tokenreviews", "TokenReview", CREATE, cluster=True)])]),
        ("authorization.k8s.io", [("v1", _authorization()), ("v1beta1", _authorization())]),
        ("autoscaling", [("v1", _hpa()), ("v2beta1", _hpa())]),
        ("batch", [("v1", [_jobs()]), ("v1beta1", [_cronjobs()])]),
        ("certificates.k8s.io", [("v1beta1", _csr(("update",)))]),
        ("networking.k8s.io", [("v1", [_r("networkpolicies", "NetworkPolicy", ALL, ("netpol",))])]),
        ("policy", [("v1beta1", [_pdb(), _psp()])]),
        ("rbac.authorization.k8s.io", [("v1", _rbac()), ("v1beta1", _rbac())]),
        ("storage.k8s.io", [("v1", [_storageclasses()]), ("v1beta1", [_storageclasses()])]),
        ("apiextensions.k8s.io", [("v1beta1", _crds(()))]),
    ]


def _table_1_15() -> list[tuple[str, list[tuple[str, list[tuple[Any, ...]]]]]]:
    tokenreviews = [_r("tokenreviews", "TokenReview", CREATE, cluster=True)]
    leases = [_r("leases", "Lease")]
    priorityclasses = [_r("priorityclasses", "PriorityClass", ALL, ("pc",), cluster=True)]
    storage_v1beta1 = [
        _r("csidrivers", "CSIDriver", cluster=True),
        _r("csinodes", "CSINode", cluster=True),
        _storageclasses(),
        _r("volumeattachments", "VolumeAttachment", cluster=True),
    ]
    return [
        ("", [("v1", _core("1.15"))]),
        ("apiregistration.k8s.io", [("v1", _apiservices(())), ("v1beta1", _apiservices(()))]),
        ("extensions", [("v1beta1", _extensions())]),
        ("apps", [("v1", _apps("v1")), ("v1beta2", _apps("v1beta2")), ("v1beta1", _apps("v1beta1"))]),
        ("events.k8s.io", [("v1beta1", [_r("events", "Event", ALL, ("ev",))])]),
        ("authentication.k8s.io", [("v1", tokenreviews), ("v1beta1", tokenreviews)]),
        ("authorization.k8s.io", [("v1", _authorization()), ("v1beta1", _authorization())]),
        ("autoscaling", [("v1", _hpa()), ("v2beta1", _hpa()), ("v2beta2", _hpa())]),
        ("batch", [("v1", [_jobs()]), ("v1beta1", [_cronjobs()])]),
        ("certificates.k8s.io", [("v1beta1", _csr(("update",)))]),
        ("networking.k8s.io", [("v1", [_r("networkpolicies", "NetworkPolicy", ALL, ("netpol",))]),
                               ("v1beta1", [_r("ingresses", "Ingress", ALL, ("ing",), subs=(_status("Ingress"),))])]),
        ("policy", [("v1beta1", [_pdb(), _psp()])]),
        ("rbac.authorization.k8s.io", [("v1", _rbac()), ("v1beta1", _rbac())]),
        ("storage.k8s.io", [("v1", [_storageclasses(),
                                    _r("volumeattachments", "VolumeAttachment", ALL, cluster=True, subs=(_status("VolumeAttachment"),))]),
                            ("v1beta1", storage_v1beta1)]),
        ("admissionregistration.k8s.io", [("v1beta1", _webhooks(()))]),
        ("apiextensions.k8s.io", [("v1beta1", _crds(()))]),
        ("scheduling.k8s.io", [("v1", priorityclasses), ("v1beta1", priorityclasses)]),
        ("coordination.k8s.io", [("v1", leases), ("v1beta1", leases)]),
        ("node.k8s.io", [("v1beta1", [_r("runtimeclasses", "RuntimeClass", cluster=True)])]),
    ]


def _table_1_30() -> list[tuple[str, list[tuple[str, list[tuple[Any, ...]]]]]]:
    ext = ("api-extensions",)
    flowcontrol = [
        _r("flowschemas", "FlowSchema", cluster=True, subs=(_status("FlowSchema"),)),
        _r("prioritylevelconfigurations", "PriorityLevelConfiguration", cluster=True, subs=(_status("PriorityLevelConfiguration"),)),
    ]
    vap_subs = (_status("ValidatingAdmissionPolicy"),)
    return [
        ("", [("v1", _core("1.30"))]),
        ("apiregistration.k8s.io", [("v1", _apiservices(ext))]),
        ("apps", [("v1", _apps("v1"))]),
        ("events.k8s.io", [("v1", [_r("events", "Event", ALL, ("ev",))])]),
        ("authentication.k8s.io", [("v1", [_r("selfsubjectreviews", "SelfSubjectReview", CREATE, cluster=True),
                                           _r("tokenreviews", "TokenReview", CREATE, cluster=True)])]),
        ("authorization.k8s.io", [("v1", _authorization())]),
        ("autoscaling", [("v2", _hpa()), ("v1", _hpa())]),
        ("batch", [("v1", [_cronjobs(), _jobs()])]),
        ("certificates.k8s.io", [("v1", _csr(STATUS))]),
        ("networking.k8s.io", [("v1", [
            _r("ingressclasses", "IngressClass", cluster=True),
            _r("ingresses", "Ingress", ALL, ("ing",), subs=(_status("Ingress"),)),
            _r("networkpolicies", "NetworkPolicy", ALL, ("netpol",)),
        ])]),
        ("policy", [("v1", [_pdb()])]),
        ("rbac.authorization.k8s.io", [("v1", _rbac())]),
        ("storage.k8s.io", [("v1", [
            _r("csidrivers", "CSIDriver", cluster=True),
            _r("csinodes", "CSINode", cluster=True),
            _r("csistoragecapacities", "CSIStorageCapacity"),
            _storageclasses(),
            _r("volumeattachments", "VolumeAttachment", ALL, cluster=True, subs=(_status("VolumeAttachment"),)),
        ])]),
        ("admissionregistration.k8s.io", [("v1", _webhooks(ext) + [
            _r("validatingadmissionpolicies", "ValidatingAdmissionPolicy", ALL, (), ext, vap_subs, cluster=True),
            _r("validatingadmissionpolicybindings", "ValidatingAdmissionPolicyBinding", ALL, (), ext, cluster=True),
        ])]),
        ("apiextensions.k8s.io", [("v1", _crds(ext))]),
        ("scheduling.k8s.io", [("v1", [_r("priorityclasses", "PriorityClass", ALL, ("pc",), cluster=True)])]),
        ("coordination.k8s.io", [("v1", [_r("leases", "Lease")])]),
        ("node.k8s.io", [("v1", [_r("runtimeclasses", "RuntimeClass", cluster=True)])]),
        ("discovery.k8s.io", [("v1", [_r("endpointslices", "EndpointSlice")])]),
        ("flowcontrol.apiserver.k8s.io", [("v1", flowcontrol), ("v1beta3", flowcontrol)]),
    ]


_TABLES = {"1.8": _table_1_8, "1.15": _table_1_15, "1.30": _table_1_30}

# Objects that kube-apiserver stores once and serves under several groups: (group, plural) -> key.
_SHARED_STORAGE = {
    ("extensions", "deployments"): "apps/deployments",
    ("extensions", "daemonsets"): "apps/daemonsets",
    ("extensions", "replicasets"): "apps/replicasets",
    ("extensions", "networkpolicies"): "networking.k8s.io/networkpolicies",
    ("extensions", "podsecuritypolicies"): "policy/podsecuritypolicies",
    ("extensions", "ingresses"): "networking.k8s.io/ingresses",
}


def _check(profile: str) -> None:
    if profile not in _TABLES:
        raise ValueError(f"unknown profile {profile!r}, expected one of {', '.join(PROFILES)}")


@functools.lru_cache(maxsize=None)
def _served(profile: str) -> tuple[Resource, ...]:
    _check(profile)
    out = []
    for group, versions in _TABLES[profile]():
        for version, specs in versions:
            for plural, kind, namespaced, verbs, short, cats, subs in specs:
                out.append(Resource(
                    group=group, version=version, name=plural, singular=kind.lower(), kind=kind,
                    namespaced=namespaced, verbs=tuple(verbs), short_names=tuple(short), categories=tuple(cats),
                    subresources=tuple((sub[0], sub[1], tuple(sub[2])) for sub in subs),
                    subresource_versions=tuple((sub[0], sub[3], sub[4]) for sub in subs if len(sub) == 5),
                ))
    return tuple(out)


@functools.lru_cache(maxsize=None)
def _groups(profile: str) -> tuple[tuple[str, tuple[str, ...], str], ...]:
    _check(profile)
    return tuple((group, tuple(v for v, _unused in versions), versions[0][0]) for group, versions in _TABLES[profile]())


def served(profile: str) -> list[Resource]:
    """Every top-level resource the profile serves, in discovery order (groups, then versions)."""
    return list(_served(profile))


def lookup(profile: str, group: str, version: str, plural: str) -> Resource | None:
    """The resource ``plural`` of ``group/version``, or None when that release did not serve it."""
    for res in _served(profile):
        if res.name == plural and res.group == group and res.version == version:
            return res
    return None


def lookup_kind(profile: str, group: str, version: str, kind: str) -> Resource | None:
    """The resource serving ``kind`` in ``group/version``, or None when that release did not serve it."""
    for res in _served(profile):
        if res.kind == kind and res.group == group and res.version == version:
            return res
    return None


def groups(profile: str) -> list[tuple[str, list[str], str]]:
    """``(group, versions in preference order, preferred version)``; the core group is ``""``."""
    return [(group, list(versions), preferred) for group, versions, preferred in _groups(profile)]


def group_versions(profile: str) -> list[str]:
    """Every served group version as ``kubectl api-versions`` prints them (``v1``, ``apps/v1``)."""
    return [f"{group}/{version}" if group else version for group, versions, _unused in _groups(profile) for version in versions]


def storage_key(group: str, plural: str) -> str:
    """The identity of the stored objects behind ``group``'s ``plural``, shared across groups/versions.

    ``extensions`` Deployments are the ``apps`` Deployments; every other resource is keyed by its
    own group (``core/pods`` for the core group).
    """
    return _SHARED_STORAGE.get((group, plural)) or f"{group or 'core'}/{plural}"


def version_body(profile: str) -> dict[str, str]:
    """The ``/version`` answer of the release."""
    _check(profile)
    major, minor, git_version, commit, build_date, go_version = _VERSION_INFO[profile]
    return {
        "major": major, "minor": minor, "gitVersion": git_version, "gitCommit": commit, "gitTreeState": "clean",
        "buildDate": build_date, "goVersion": go_version, "compiler": "gc", "platform": "linux/amd64",
    }


def git_version(profile: str) -> str:
    """``v1.30.5`` and the like."""
    return version_body(profile)["gitVersion"]


def api_versions_body(profile: str, server_address: str = "127.0.0.1:6443") -> dict[str, Any]:
    """The ``/api`` answer (``APIVersions``)."""
    _check(profile)
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group_entry(group: str, versions: tuple[str, ...], preferred: str) -> dict[str, Any]:
    return {
        "name": group,
        "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in versions],
        "preferredVersion": {"groupVersion": f"{group}/{preferred}", "version": preferred},
    }


def api_group_list_body(profile: str) -> dict[str, Any]:
    """The ``/apis`` answer (``APIGroupList``), groups in the order kube-apiserver lists them."""
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group_entry(*entry) for entry in _groups(profile) if entry[0]],
    }


def api_group_body(profile: str, group: str) -> dict[str, Any] | None:
    """The ``/apis/<group>`` answer (``APIGroup``), or None (a 404) when the group is not served."""
    for entry in _groups(profile):
        if entry[0] == group and group:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(*entry)}
    return None


def _discovery_entry(profile: str, res: Resource) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": res.name,
        # Built-in resources only got their singular name into discovery in 1.27.
        "singularName": res.singular if profile == "1.30" else "",
        "namespaced": res.namespaced,
        "kind": res.kind,
        "verbs": list(res.verbs),
    }
    if res.short_names:
        entry["shortNames"] = list(res.short_names)
    if res.categories:
        entry["categories"] = list(res.categories)
    return entry


def _subresource_entry(res: Resource, sub: tuple[str, str, tuple[str, ...]]) -> dict[str, Any]:
    name, kind, verbs = sub
    entry: dict[str, Any] = {"name": f"{res.name}/{name}", "singularName": "", "namespaced": res.namespaced}
    for sub_name, group, version in res.subresource_versions:
        if sub_name == name:
            entry["group"] = group
            entry["version"] = version
    entry["kind"] = kind
    entry["verbs"] = list(verbs)
    return entry


def api_resource_list_body(profile: str, group: str, version: str) -> dict[str, Any] | None:
    """The ``/api/v1`` or ``/apis/<group>/<version>`` answer (``APIResourceList``), or None (a 404)."""
    if not any(g == group and version in versions for g, versions, _unused in _groups(profile)):
        return None
    entries = []
    for res in _served(profile):
        if res.group == group and res.version == version:
            entries.append(_discovery_entry(profile, res))
            entries.extend(_subresource_entry(res, sub) for sub in res.subresources)
    entries.sort(key=lambda entry: entry["name"])
    body: dict[str, Any] = {"kind": "APIResourceList"}
    if group:
        # kube-apiserver leaves apiVersion out of /api/v1 but writes it for every named group.
        body["apiVersion"] = "v1"
    body["groupVersion"] = f"{group}/{version}" if group else version
    body["resources"] = entries
    return body
