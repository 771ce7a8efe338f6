"""Pod Security Admission as kube-apiserver 1.23+ runs it: the Pod Security Standards checks and the admission decisions.

The checks follow kubernetes/pod-security-admission ``policy/check_*.go`` at tag v0.30.14 (the staging copy of
kubernetes v1.30.14, the release our newest profile emulates), one Python function per Go check, with the same
reasons, details, pluralisation and ordering:

- ``policy/registry.go``: which checks a level:version runs; baseline checks run at restricted too unless a restricted
  check overrides them (``capabilities_restricted`` replaces ``capabilities_baseline``, ``restrictedVolumes`` replaces
  ``hostPathVolumes``, ``seccompProfile_restricted`` replaces ``seccompProfile_baseline``); checks run sorted by ID,
  baseline IDs first; a version newer than the newest check (``latest`` included) gets the newest checks.
- ``policy/checks.go``: the aggregate detail ``reason (detail), reason (detail)``.
- ``policy/visitor.go``: init containers, then containers, then ephemeral containers.
- ``api/helpers.go``: ``PolicyToEvaluate`` (labels -> enforce/audit/warn level and version; an invalid enforce level is
  evaluated as ``restricted``, an invalid warn or audit level as ``privileged``, an invalid version as ``latest``;
  warn follows an explicitly stricter enforce level), ``ParseVersion`` (``latest`` or ``v1.<minor>``).
- ``admission/admission.go`` and ``admission/response.go``: pods are refused (403, ``violates PodSecurity ...``);
  pod controllers (Deployment, DaemonSet, StatefulSet, ReplicaSet, Job, CronJob, ReplicationController, PodTemplate)
  are never refused, only warned (``would violate PodSecurity ...``); a pod update is only checked when an image or
  the number of containers changes; namespace labels are validated on create and update (422), and a namespace whose
  enforce level becomes stricter warns about the existing pods that violate it.
- ``admission/api/v1/defaults.go``: the default configuration is privileged:latest in every mode, with no exemptions
  (kube-system included).

kube-apiserver serves Pod Security Admission from 1.23 (beta, on by default); older profiles ignore the labels.
See https://kubernetes.io/docs/concepts/security/pod-security-standards/ for the standards themselves.
"""

# Each check mirrors one Go function, branch for branch.
# pylint: disable=too-many-branches,too-many-locals

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from localcluster.errors import ApiError
from localcluster.validation import go_quote, invalid

Obj = dict[str, Any]
Cause = dict[str, str]

PRIVILEGED, BASELINE, RESTRICTED = "privileged", "baseline", "restricted"
LEVELS = (PRIVILEGED, BASELINE, RESTRICTED)
LATEST = "latest"

_PREFIX = "pod-security.kubernetes.io/"
ENFORCE_LABEL, ENFORCE_VERSION_LABEL = _PREFIX + "enforce", _PREFIX + "enforce-version"
AUDIT_LABEL, AUDIT_VERSION_LABEL = _PREFIX + "audit", _PREFIX + "audit-version"
WARN_LABEL, WARN_VERSION_LABEL = _PREFIX + "warn", _PREFIX + "warn-version"

# The first release whose kube-apiserver enforces the labels (PodSecurity beta, on by default).
FIRST_RELEASE = (1, 23)

# (group, resource) of the objects the admission plugin evaluates besides pods (DefaultPodSpecExtractor).
POD_CONTROLLERS = frozenset({("", "replicationcontrollers"), ("", "podtemplates"), ("apps", "replicasets"), ("apps", "deployments"),
                             ("apps", "statefulsets"), ("apps", "daemonsets"), ("batch", "jobs"), ("batch", "cronjobs")})

_LATEST_MINOR = 10 ** 6  # "latest" is newer than any v1.x
_VERSION = re.compile(r"^v1\.([0-9]|[1-9][0-9]*)$")


# --------------------------------------------------------------------------------------------
# Helpers (policy/helpers.go)


def _join_quote(items: list[str]) -> str:
    return '"' + '", "'.join(items) + '"' if items else ""


def _pluralize(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def _containers(spec: Obj) -> Iterator[Obj]:
    """visitContainers: init containers, containers, ephemeral containers."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or ()


def _security(obj: Obj) -> Obj | None:
    """A securityContext, or None when it is absent or null (a nil pointer in Go)."""
    context = obj.get("securityContext")
    return context if isinstance(context, dict) else None


def _windows(spec: Obj) -> bool:
    return ((spec.get("os") or {}).get("name")) == "windows"


def _setters(pod_bad: bool, containers: list[str]) -> list[str]:
    """``pod`` and/or ``container(s) "a", "b"``, as the checks name who set a forbidden value."""
    setters = ["pod"] if pod_bad else []
    if containers:
        setters.append(f'{_pluralize("container", "containers", len(containers))} {_join_quote(containers)}')
    return setters


def _setting(spec: Obj, forbidden: Callable[[Obj | None], bool]) -> list[str]:
    """``_setters`` of the pod and containers whose securityContext (None when unset) holds a ``forbidden`` value."""
    return _setters(forbidden(_security(spec)), [c.get("name", "") for c in _containers(spec) if forbidden(_security(c))])


@dataclass(frozen=True)
class Result:
    """A forbidden CheckResult: the short reason and the optional detail."""

    reason: str
    detail: str = ""

    def text(self) -> str:
        """``reason (detail)``, as AggregateCheckResult.ForbiddenDetail writes one check."""
        return f"{self.reason} ({self.detail})" if self.detail else self.reason


CheckFn = Callable[[Obj, Obj, int], "Result | None"]


# --------------------------------------------------------------------------------------------
# Baseline checks


def _app_armor_profile(meta: Obj, spec: Obj, _minor: int) -> Result | None:
    """check_appArmorProfile.go (1.0+): profile types and the beta annotations."""
    bad_values: set[str] = set()

    def allowed(profile: Any) -> bool:
        return isinstance(profile, dict) and profile.get("type") in ("RuntimeDefault", "Localhost")

    pod_bad = False
    pod_context = _security(spec)
    if pod_context is not None and pod_context.get("appArmorProfile") is not None and not allowed(pod_context["appArmorProfile"]):
        pod_bad = True
        bad_values.add(str((pod_context["appArmorProfile"] or {}).get("type") or ""))
    bad_containers = []
    for container in _containers(spec):
        context = _security(container)
        if context is not None and context.get("appArmorProfile") is not None and not allowed(context["appArmorProfile"]):
            bad_containers.append(container.get("name", ""))
            bad_values.add(str((context["appArmorProfile"] or {}).get("type") or ""))
    setters = _setters(pod_bad, bad_containers)
    annotations = []
    for key, value in ((meta or {}).get("annotations") or {}).items():
        if key.startswith("container.apparmor.security.beta.kubernetes.io/") and not (
                not value or value == "runtime/default" or value.startswith("localhost/")):
            annotations.append(f"{key}={go_quote(value)}")
    values = sorted(bad_values)
    if annotations:
        values += sorted(annotations)
        setters.append(_pluralize("annotation", "annotations", len(annotations)))
    if setters:
        return Result(_pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(values)),
                      f'{" and ".join(setters)} must not set AppArmor profile type to {_join_quote(values)}')
    return None


_DEFAULT_CAPABILITIES = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
                                   "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})


def _capabilities_baseline(_meta: Obj, spec: Obj, _minor: int) -> Result | None:
    """check_capabilities_baseline.go (1.0+): only the container runtime's default capabilities may be added."""
    bad_containers, non_default = [], set()
    for container in _containers(spec):
        context = _security(container)
        if context is None or context.get("capabilities") is None:
            continue
        added = [str(c) for c in (context["capabilities"] or {}).get("add") or () if str(c) not in _DEFAULT_CAPABILITIES]
        if added:
            non_default.update(added)
            bad_containers.append(container.get("name", ""))
    if bad_containers:
        return Result("non-default capabilities",
                      f'{_pluralize("container", "containers", len(bad_containers))} {_join_quote(bad_containers)} must not include '
                      f'{_join_quote(sorted(non_default))} in securityContext.capabilities.add')
    return None


def _host_namespaces(_meta: Obj, spec: Obj, _minor: int) -> Result | None:
    """check_hostNamespaces.go (1.0+)."""
    shared = [f"{name}=true" for name in ("hostNetwork", "hostPID", "hostIPC") if spec.get(name)]
    return Result("host namespaces", ", ".join(shared)) if shared else None


def _host_path_volumes(_meta: Obj, spec: Obj, _minor: int) -> Result | None:
    """check_hostPathVolumes.go (1.0+)."""
    names = [v.get("name", "") for v in spec.get("volumes") or () if v.get("hostPath") is not None]
    if names:
        return Result("hostPath volumes", f'{_pluralize("volume", "volumes", len(names))} {_join_quote(names)}')
    return None


def _host_ports(_meta: Obj, spec: Obj, _minor: int) -> Result | None:
    """check_hostPorts.go (1.0+): the ports are a sorted set of strings, as sets.String.List() sorts them."""
    bad_containers, ports = [], set()
    for container in _containers(spec):
        used = [str(int(p.get("hostPort"))) for p in container.get("ports") or () if p.get("hostPort")]
        if used:
            ports.update(used)
            bad_containers.append(container.get("name", ""))
    if bad_containers:
        count = len(bad_containers)
        return Result("hostPort", f'{_pluralize("container", "containers", count)} {_join_quote(bad_containers)} '
                                  f'{_pluralize("uses", "use", count)} {_pluralize("hostPort", "hostPorts", len(ports))} '
                                  f'{", ".join(sorted(ports))}')
    return None


def _privileged(_meta: Obj, spec: Obj, _minor: int) -> Result | None:
    """check_privileged.go (1.0+)."""
    bad = [c.get("name", "") for c in _containers(spec) if (_security(c) or {}).get("privileged") is True]
    if bad:
        return Result("privileged", f'{_pluralize("container", "containers", len(bad))} {_join_quote(bad)} '
                                    "must not set securityContext.privileged=true")
    return None


def _proc_mount(_meta: Obj, spec: Obj, _minor: int) -> Result | None:
    """check_procMount.go (1.0+): procMount may only be Default."""
    bad, types = [], set()
    for container in _containers(spec):
        mount = (_security(container) or {}).get("procMount")
        if mount is not None and mount != "Default":
            bad.append(container.get("name", ""))
            types.add(str(mount))
    if bad:
        return Result("procMount", f'{_pluralize("container", "containers", len(bad))} {_join_quote(bad)} '
                                   f"must not set securityContext.procMount to {_join_quote(sorted(types))}")
    return None


_SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})


def _se_linux_options(_meta: Obj, spec: Obj, _minor: int) -> Result | None:
    """check_seLinuxOptions.go (1.0+): type limited, user and role unset."""
    bad_types: set[str] = set()
    flags = {"user": False, "role": False}

    def valid(options: Obj) -> bool:
        ok = True
        kind = str(options.get("type") or "")
        if kind not in _SELINUX_TYPES:
            ok = False
            bad_types.add(kind)
        for key in ("user", "role"):
            if options.get(key):
                ok = False
                flags[key] = True
        return ok

    pod_context = _security(spec)
    pod_bad = pod_context is not None and pod_context.get("seLinuxOptions") is not None and not valid(pod_context["seLinuxOptions"])
    bad_containers = []
    for container in _containers(spec):
        context = _security(container)
        if context is not None and context.get("seLinuxOptions") is not None and not valid(context["seLinuxOptions"]):
            bad_containers.append(container.get("name", ""))
    setters = _setters(pod_bad, bad_containers)
    if not setters:
        return None
    data = []
    if bad_types:
        data.append(f'{_pluralize("type", "types", len(bad_types))} {_join_quote(sorted(bad_types))}')
    if flags["user"]:
        data.append("user may not be set")
    if flags["role"]:
        data.append("role may not be set")
    return Result("seLinuxOptions", f'{" and ".join(setters)} set forbidden securityContext.seLinuxOptions: {"; ".join(data)}')


_SECCOMP_TYPES = ("RuntimeDefault", "Localhost")


def _seccomp_type(profile: Any) -> str:
    return str((profile or {}).get("type") or "") if isinstance(profile, dict) else ""


def _seccomp_baseline(meta: Obj, spec: Obj, minor: int) -> Result | None:
    """check_seccompProfile_baseline.go: the alpha annotations before 1.19, the seccompProfile fields from 1.19."""
    if minor < 19:
        annotations = (meta or {}).get("annotations") or {}
        forbidden = set()

        def check(key: str) -> None:
            if key in annotations:
                value = annotations[key]
                if not (value in ("runtime/default", "docker/default") or value.startswith("localhost/")):
                    forbidden.add(f"{key}={go_quote(value)}")

        check("seccomp.security.alpha.kubernetes.io/pod")
        for container in _containers(spec):
            check("container.seccomp.security.alpha.kubernetes.io/" + container.get("name", ""))
        if forbidden:
            return Result("seccompProfile", f'forbidden {_pluralize("annotation", "annotations", len(forbidden))} '
                                            f'{", ".join(sorted(forbidden))}')
        return None
    bad_values = set()
    pod_context = _security(spec)
    pod_bad = False
    if pod_context is not None and pod_context.get("seccompProfile") is not None:
        kind = _seccomp_type(pod_context["seccompProfile"])
        if kind not in _SECCOMP_TYPES:
            pod_bad = True
            bad_values.add(kind)
    bad_containers = []
    for container in _containers(spec):
        context = _security(container)
        if context is not None and context.get("seccompProfile") is not None:
            kind = _seccomp_type(context["seccompProfile"])
            if kind not in _SECCOMP_TYPES:
                bad_containers.append(container.get("name", ""))
                bad_values.add(kind)
    setters = _setters(pod_bad, bad_containers)
    if setters:
        return Result("seccompProfile", f'{" and ".join(setters)} must not set securityContext.seccompProfile.type to '
                                        f"{_join_quote(sorted(bad_values))}")
    return None


_SAFE_SYSCTLS_1_0 = ("kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range",
                     "net.ipv4.ip_unprivileged_port_start")
_SAFE_SYSCTLS_1_27 = _SAFE_SYSCTLS_1_0 + ("net.ipv4.ip_local_reserved_ports",)
_SAFE_SYSCTLS_1_29 = _SAFE_SYSCTLS_1_27 + ("net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                                           "net.ipv4.tcp_keepalive_probes")


def _sysctls(_meta: Obj, spec: Obj, minor: int) -> Result | None:
    """check_sysctls.go: the safe set grew in 1.27 and 1.29; forbidden names are listed in spec order."""
    allowed = _SAFE_SYSCTLS_1_29 if minor >= 29 else _SAFE_SYSCTLS_1_27 if minor >= 27 else _SAFE_SYSCTLS_1_0
    names = [str(s.get("name", "")) for s in (_security(spec) or {}).get("sysctls") or () if s.get("name", "") not in allowed]
    return Result("forbidden sysctls", ", ".join(names)) if names else None


def _windows_host_process(_meta: Obj, spec: Obj, _minor: int) -> Result | None:
    """check_windowsHostProcess.go (1.0+)."""
    def host_process(context: Obj | None) -> bool:
        return ((context or {}).get("windowsOptions") or {}).get("hostProcess") is True

    setters = _setting(spec, host_process)
    if setters:
        return Result("hostProcess", f'{" and ".join(setters)} must not set securityContext.windowsOptions.hostProcess=true')
    return None


# --------------------------------------------------------------------------------------------
# Restricted checks


def _allow_privilege_escalation(_meta: Obj, spec: Obj, minor: int) -> Result | None:
    """check_allowPrivilegeEscalation.go (1.8+; Windows pods exempt from 1.25)."""
    if minor >= 25 and _windows(spec):
        return None
    bad = [c.get("name", "") for c in _containers(spec) if (_security(c) or {}).get("allowPrivilegeEscalation") is not False]
    if bad:
        return Result("allowPrivilegeEscalation != false", f'{_pluralize("container", "containers", len(bad))} {_join_quote(bad)} '
                                                           "must set securityContext.allowPrivilegeEscalation=false")
    return None


def _capabilities_restricted(_meta: Obj, spec: Obj, minor: int) -> Result | None:
    """check_capabilities_restricted.go (1.22+; Windows pods exempt from 1.25): drop ALL, add at most NET_BIND_SERVICE."""
    if minor >= 25 and _windows(spec):
        return None
    missing_drop, adding, forbidden = [], [], set()
    for container in _containers(spec):
        context = _security(container)
        if context is None or context.get("capabilities") is None:
            missing_drop.append(container.get("name", ""))
            continue
        capabilities = context["capabilities"] or {}
        if "ALL" not in (capabilities.get("drop") or ()):
            missing_drop.append(container.get("name", ""))
        added = [str(c) for c in capabilities.get("add") or () if c != "NET_BIND_SERVICE"]
        if added:
            forbidden.update(added)
            adding.append(container.get("name", ""))
    details = []
    if missing_drop:
        details.append(f'{_pluralize("container", "containers", len(missing_drop))} {_join_quote(missing_drop)} '
                       'must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f'{_pluralize("container", "containers", len(adding))} {_join_quote(adding)} '
                       f"must not include {_join_quote(sorted(forbidden))} in securityContext.capabilities.add")
    return Result("unrestricted capabilities", "; ".join(details)) if details else None


# Volume sources in the order restrictedVolumes_1_0 tests them; the first eight are allowed.
_ALLOWED_VOLUMES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret")
_RESTRICTED_VOLUMES = ("hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs", "rbd",
                       "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte", "azureDisk",
                       "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos")


def _restricted_volumes(_meta: Obj, spec: Obj, _minor: int) -> Result | None:
    """check_restrictedVolumes.go (1.0+; overrides hostPathVolumes).

    A volume without any source is defaulted to emptyDir by kube-apiserver before admission, so it is allowed.
    """
    bad, types = [], set()
    for volume in spec.get("volumes") or ():
        if any(volume.get(key) is not None for key in _ALLOWED_VOLUMES):
            continue
        kind = next((key for key in _RESTRICTED_VOLUMES if volume.get(key) is not None), None)
        if kind is None:
            continue
        bad.append(volume.get("name", ""))
        types.add(kind)
    if bad:
        count = len(bad)
        return Result("restricted volume types", f'{_pluralize("volume", "volumes", count)} {_join_quote(bad)} '
                                                 f'{_pluralize("uses", "use", count)} '
                                                 f'{_pluralize("restricted volume type", "restricted volume types", len(types))} '
                                                 f"{_join_quote(sorted(types))}")
    return None


def _run_as_non_root(_meta: Obj, spec: Obj, _minor: int) -> Result | None:
    """check_runAsNonRoot.go (1.0+): true on the pod, or on every container."""
    pod_context = _security(spec)
    pod_value = pod_context.get("runAsNonRoot") if pod_context is not None else None
    pod_bad, pod_true = pod_value is False, pod_value is True
    explicit, implicit = [], []
    for container in _containers(spec):
        value = (_security(container) or {}).get("runAsNonRoot")
        if value is not None:
            if value is False:
                explicit.append(container.get("name", ""))
        elif not pod_true:
            implicit.append(container.get("name", ""))
    setters = _setters(pod_bad, explicit)
    if setters:
        return Result("runAsNonRoot != true", f'{" and ".join(setters)} must not set securityContext.runAsNonRoot=false')
    if implicit:
        return Result("runAsNonRoot != true", f'pod or {_pluralize("container", "containers", len(implicit))} {_join_quote(implicit)} '
                                              "must set securityContext.runAsNonRoot=true")
    return None


def _run_as_user(_meta: Obj, spec: Obj, _minor: int) -> Result | None:
    """check_runAsUser.go (1.23+): runAsUser must not be 0."""
    def root(context: Obj | None) -> bool:
        value = (context or {}).get("runAsUser")
        return value is not None and not isinstance(value, bool) and value == 0

    setters = _setting(spec, root)
    if setters:
        return Result("runAsUser=0", f'{" and ".join(setters)} must not set runAsUser=0')
    return None


def _seccomp_restricted(_meta: Obj, spec: Obj, minor: int) -> Result | None:
    """check_seccompProfile_restricted.go (1.19+; Windows pods exempt from 1.25; overrides seccompProfile_baseline)."""
    if minor >= 25 and _windows(spec):
        return None
    bad_values = set()
    pod_bad = pod_set = False
    pod_context = _security(spec)
    if pod_context is not None and pod_context.get("seccompProfile") is not None:
        kind = _seccomp_type(pod_context["seccompProfile"])
        if kind in _SECCOMP_TYPES:
            pod_set = True
        else:
            pod_bad = True
            bad_values.add(kind)
    explicit, implicit = [], []
    for container in _containers(spec):
        context = _security(container)
        if context is not None and context.get("seccompProfile") is not None:
            kind = _seccomp_type(context["seccompProfile"])
            if kind not in _SECCOMP_TYPES:
                explicit.append(container.get("name", ""))
                bad_values.add(kind)
        elif not pod_set:
            implicit.append(container.get("name", ""))
    setters = _setters(pod_bad, explicit)
    if setters:
        return Result("seccompProfile", f'{" and ".join(setters)} must not set securityContext.seccompProfile.type to '
                                        f"{_join_quote(sorted(bad_values))}")
    if implicit:
        return Result("seccompProfile", f'pod or {_pluralize("container", "containers", len(implicit))} {_join_quote(implicit)} '
                                        'must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"')
    return None


# --------------------------------------------------------------------------------------------
# The registry (policy/registry.go)


@dataclass(frozen=True)
class _Check:
    id: str
    level: str
    minimum: int  # the first v1.<minor> the check applies to
    run: CheckFn
    overrides: tuple[str, ...] = ()  # baseline checks it replaces at restricted, from its own minimum version on


_CHECKS = (
    _Check("appArmorProfile", BASELINE, 0, _app_armor_profile),
    _Check("capabilities_baseline", BASELINE, 0, _capabilities_baseline),
    _Check("hostNamespaces", BASELINE, 0, _host_namespaces),
    _Check("hostPathVolumes", BASELINE, 0, _host_path_volumes),
    _Check("hostPorts", BASELINE, 0, _host_ports),
    _Check("privileged", BASELINE, 0, _privileged),
    _Check("procMount", BASELINE, 0, _proc_mount),
    _Check("seLinuxOptions", BASELINE, 0, _se_linux_options),
    _Check("seccompProfile_baseline", BASELINE, 0, _seccomp_baseline),
    _Check("sysctls", BASELINE, 0, _sysctls),
    _Check("windowsHostProcess", BASELINE, 0, _windows_host_process),
    _Check("allowPrivilegeEscalation", RESTRICTED, 8, _allow_privilege_escalation),
    _Check("capabilities_restricted", RESTRICTED, 22, _capabilities_restricted, ("capabilities_baseline",)),
    _Check("restrictedVolumes", RESTRICTED, 0, _restricted_volumes, ("hostPathVolumes",)),
    _Check("runAsNonRoot", RESTRICTED, 0, _run_as_non_root),
    _Check("runAsUser", RESTRICTED, 23, _run_as_user),
    _Check("seccompProfile_restricted", RESTRICTED, 19, _seccomp_restricted, ("seccompProfile_baseline",)),
)
# Sorted by ID within each level (Go sorts bytes: upper case first), baseline first, as populate() orders them.
_ORDER = sorted((c for c in _CHECKS if c.level == BASELINE), key=lambda c: c.id) + \
    sorted((c for c in _CHECKS if c.level == RESTRICTED), key=lambda c: c.id)
CHECK_IDS = tuple(c.id for c in _ORDER)


def parse_version(version: str) -> int | None:
    """The minor of ``v1.<minor>``, ``_LATEST_MINOR`` for ``latest``, None when the text is neither (ParseVersion)."""
    if version == LATEST:
        return _LATEST_MINOR
    match = _VERSION.match(version or "")
    return int(match.group(1)) if match else None


def evaluate(pod_spec: Obj, level: str, version: str = LATEST, metadata: Obj | None = None) -> list[tuple[str, str]]:
    """The checks a pod violates at ``level`` (privileged, baseline or restricted) and policy ``version``.

    Returns ``(check ID, "reason (detail)")`` pairs in the order kube-apiserver reports them; ``[]`` when the pod is
    allowed. ``metadata`` (the pod's or template's) is read for the AppArmor and pre-1.19 seccomp annotations.
    An unparsable version is evaluated as ``latest``, as ParseVersion falls back.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown Pod Security level {level!r}; known: {', '.join(LEVELS)}")
    if level == PRIVILEGED:
        return []
    minor = parse_version(version)
    minor = _LATEST_MINOR if minor is None else minor
    spec = pod_spec or {}
    active = [c for c in _ORDER if c.minimum <= minor and (level == RESTRICTED or c.level == BASELINE)]
    overridden = {o for c in active if c.level == RESTRICTED for o in c.overrides}
    out = []
    for check in active:
        if check.id in overridden:
            continue
        result = check.run(metadata or {}, spec, minor)
        if result is not None:
            out.append((check.id, result.text()))
    return out


def forbidden_detail(violations: list[tuple[str, str]]) -> str:
    """AggregateCheckResult.ForbiddenDetail: every violation, joined with ``, ``."""
    return ", ".join(text for _unused, text in violations)


def forbidden_reason(violations: list[tuple[str, str]]) -> str:
    """AggregateCheckResult.ForbiddenReason: the reasons without their details."""
    return ", ".join(text.split(" (", 1)[0] for _unused, text in violations)


# --------------------------------------------------------------------------------------------
# Namespace policy (api/helpers.go)


@dataclass(frozen=True)
class LevelVersion:
    """A level and a policy version, written ``baseline:latest`` or ``restricted:v1.25``."""

    level: str = PRIVILEGED
    version: str = LATEST

    def __str__(self) -> str:
        return f"{self.level}:{self.version}"


@dataclass(frozen=True)
class Policy:
    """The enforce, audit and warn modes of a namespace."""

    enforce: LevelVersion = LevelVersion()
    audit: LevelVersion = LevelVersion()
    warn: LevelVersion = LevelVersion()

    def fully_privileged(self) -> bool:
        """All three modes privileged."""
        return PRIVILEGED == self.enforce.level == self.audit.level == self.warn.level


def _strictness(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else 0


def _label_cause(label: str, value: str, detail: str) -> Cause:
    return invalid(f"metadata.labels[{label}]", value, detail)  # field.Invalid(labelsPath.Key(label), value, detail)


def policy_to_evaluate(labels: dict[str, str] | None) -> tuple[Policy, list[Cause]]:
    """PolicyToEvaluate: a namespace's labels as the policy to run, and the label errors (422 causes).

    A valid policy always comes back: an invalid enforce level is evaluated as restricted, invalid audit and warn
    levels as privileged (fail open), an invalid version as latest. Warn follows an explicitly set, stricter enforce
    level (and its version) unless a warn label is set.
    """
    labels = labels or {}
    causes: list[Cause] = []
    modes = {"enforce": LevelVersion(), "audit": LevelVersion(), "warn": LevelVersion()}
    level_error = "must be one of " + ", ".join(LEVELS)
    has_enforce_level = False
    for mode, level_label, version_label, fail_open in (("enforce", ENFORCE_LABEL, ENFORCE_VERSION_LABEL, False),
                                                        ("audit", AUDIT_LABEL, AUDIT_VERSION_LABEL, True),
                                                        ("warn", WARN_LABEL, WARN_VERSION_LABEL, True)):
        level, version = PRIVILEGED, LATEST
        if level_label in labels:
            value = labels[level_label]
            if value in LEVELS:
                level = value
                has_enforce_level = has_enforce_level or mode == "enforce"
            else:
                causes.append(_label_cause(level_label, value, level_error))
                level = PRIVILEGED if fail_open else RESTRICTED
        if version_label in labels:
            value = labels[version_label]
            if parse_version(value) is None:
                causes.append(_label_cause(version_label, value, 'must be "latest" or "v1.x"'))
            else:
                version = value
        modes[mode] = LevelVersion(level, version)
    if WARN_LABEL not in labels and has_enforce_level and _strictness(modes["enforce"].level) > _strictness(modes["warn"].level):
        version = modes["warn"].version if WARN_VERSION_LABEL in labels else modes["enforce"].version
        modes["warn"] = LevelVersion(modes["enforce"].level, version)
    return Policy(**modes), causes


# --------------------------------------------------------------------------------------------
# Admission (admission/admission.go)


def served(profile: str) -> bool:
    """Whether the profile's kube-apiserver runs Pod Security Admission (1.23 and later)."""
    major, _unused, minor = profile.partition(".")
    return (int(major), int(minor or 0)) >= FIRST_RELEASE


@dataclass
class Decision:
    """What admission makes of a request: ``forbidden`` (the 403 text after ``is forbidden: ``) or None, and warnings."""

    forbidden: str | None = None
    warnings: list[str] = field(default_factory=list)


def _labels(namespace: Obj | None) -> dict[str, str]:
    return ((namespace or {}).get("metadata") or {}).get("labels") or {}


def _evaluate_pod(policy: Policy, meta: Obj, spec: Obj, enforce: bool) -> Decision:
    """EvaluatePod: enforce (pods only) refuses; warn adds a warning to a request that is let through."""
    decision = Decision()
    cache: dict[LevelVersion, list[tuple[str, str]]] = {}

    def run(level_version: LevelVersion) -> list[tuple[str, str]]:
        if level_version not in cache:
            cache[level_version] = evaluate(spec, level_version.level, level_version.version, meta)
        return cache[level_version]

    if enforce:
        violations = run(policy.enforce)
        if violations:
            decision.forbidden = f'violates PodSecurity "{policy.enforce}": {forbidden_detail(violations)}'
            return decision
    violations = run(policy.warn)
    if violations:
        decision.warnings.append(f'would violate PodSecurity "{policy.warn}": {forbidden_detail(violations)}')
    return decision


def _significant_update(pod: Obj, old: Obj) -> bool:
    """isSignificantPodUpdate: container counts or images changed, or an ephemeral container came or changed image."""
    spec, old_spec = pod.get("spec") or {}, old.get("spec") or {}
    for key in ("containers", "initContainers"):
        new_list, old_list = spec.get(key) or [], old_spec.get(key) or []
        if len(new_list) != len(old_list):
            return True
        if any(a.get("image") != b.get("image") for a, b in zip(new_list, old_list)):
            return True
    previous = {c.get("name"): c for c in old_spec.get("ephemeralContainers") or ()}
    return any(c.get("name") not in previous or c.get("image") != previous[c.get("name")].get("image")
               for c in spec.get("ephemeralContainers") or ())


def admit_pod(namespace: Obj | None, pod: Obj, old: Obj | None = None) -> Decision:
    """ValidatePod for a create (``old`` None) or update of a pod in ``namespace`` (the Namespace object)."""
    policy, causes = policy_to_evaluate(_labels(namespace))
    if not causes and policy.fully_privileged():
        return Decision()
    if old is not None and not _significant_update(pod, old):
        return Decision()
    return _evaluate_pod(policy, pod.get("metadata") or {}, pod.get("spec") or {}, enforce=True)


def pod_template(group: str, resource: str, obj: Obj) -> tuple[Obj, Obj] | None:
    """(metadata, spec) of the pod template a pod controller embeds (DefaultPodSpecExtractor), or None."""
    if resource == "podtemplates" and group == "":
        template = obj.get("template")
    elif resource == "cronjobs":
        template = (((obj.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}).get("template")
    else:
        template = (obj.get("spec") or {}).get("template")
    if not isinstance(template, dict):
        return None
    return template.get("metadata") or {}, template.get("spec") or {}


def admit_controller(namespace: Obj | None, group: str, resource: str, obj: Obj) -> Decision:
    """ValidatePodController: never refuses; warns when the pod template violates the namespace's warn level."""
    if (group, resource) not in POD_CONTROLLERS:
        return Decision()
    policy, causes = policy_to_evaluate(_labels(namespace))
    if not causes and policy.warn.level == PRIVILEGED and policy.audit.level == PRIVILEGED:
        return Decision()
    template = pod_template(group, resource, obj)
    if template is None:
        return Decision()
    return _evaluate_pod(policy, template[0], template[1], enforce=False)


def admit_namespace(namespace: Obj, old: Obj | None, pods: list[Obj]) -> tuple[list[Cause], list[str]]:
    """ValidateNamespace: the label errors that make a create or update invalid (422), and, when an update makes the
    enforce level stricter, warnings about the existing ``pods`` that violate it (EvaluatePodsInNamespace)."""
    name = (namespace.get("metadata") or {}).get("name", "")
    policy, causes = policy_to_evaluate(_labels(namespace))
    if old is None:
        return causes, []
    old_policy, old_causes = policy_to_evaluate(_labels(old))
    if causes and (not old_causes or causes != old_causes):
        return causes, []
    new, before = policy.enforce, old_policy.enforce
    if new == before or new.level == PRIVILEGED or (new.version == before.version and _strictness(new.level) <= _strictness(before.level)):
        return [], []
    counts: dict[str, list[Any]] = {}  # reasons -> [lexically first pod name, pod count]
    order: list[str] = []
    for pod in pods:
        violations = evaluate(pod.get("spec") or {}, new.level, new.version, pod.get("metadata") or {})
        if not violations:
            continue
        reason = forbidden_reason(violations)
        pod_name = (pod.get("metadata") or {}).get("name", "")
        if reason not in counts:
            counts[reason] = [pod_name, 0]
            order.append(reason)
        elif pod_name < counts[reason][0]:
            counts[reason][0] = pod_name
        counts[reason][1] += 1
    if not order:
        return [], []
    warnings = [f'existing pods in namespace "{name}" violate the new PodSecurity enforce level "{new}"']
    decorated = []
    for reason in order:
        first, count = counts[reason]
        if count == 1:
            decorated.append(f"{first}: {reason}")
        elif count == 2:
            decorated.append(f"{first} (and 1 other pod): {reason}")
        else:
            decorated.append(f"{first} (and {count - 1} other pods): {reason}")
    return [], warnings + sorted(decorated)


def forbidden_error(resource: str, name: str, text: str) -> ApiError:
    """admission.NewForbidden as the PodSecurity plugin answers: 403 ``pods "name" is forbidden: <text>``."""
    return ApiError(403, "Forbidden", forbidden_message(resource, name, text), {"name": name, "kind": resource})


def forbidden_message(resource: str, name: str, text: str) -> str:
    """``pods "name" is forbidden: violates PodSecurity ...``: the message clients (and controllers' events) show."""
    return f'{resource} "{name}" is forbidden: {text}'
