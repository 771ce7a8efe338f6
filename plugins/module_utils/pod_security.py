# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Pod Security Standards level a set of rendered objects needs, and why.

A namespace's ``pod-security.kubernetes.io/enforce`` label should be the strictest level every pod in it passes, so a
namespace is only as permissive as its most demanding pod, and the report says which pod that is and for what.

The checks follow the Pod Security Standards (kubernetes.io/docs/concepts/security/pod-security-standards) as the
reference admission controller implements them (kubernetes/pod-security-admission, policy/check_*.go), for the fields
the collection's manifests can carry. Pure functions over plain dicts; no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

LEVELS = ("restricted", "baseline", "privileged")
WORKLOADS = ("Pod", "Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job", "CronJob", "ReplicationController")
# Capabilities baseline lets a container add (check_capabilities_baseline.go).
BASELINE_CAPABILITIES = frozenset(("AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                   "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"))
# Volume types restricted allows (check_restrictedVolumes.go).
RESTRICTED_VOLUMES = frozenset(("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                                "projected", "secret"))
SAFE_SYSCTLS = frozenset(("kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                          "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                          "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                          "net.ipv4.tcp_keepalive_probes"))


def pod_spec(obj):
    """The pod spec of a Pod or of a workload's template (a CronJob's job template's), or None."""
    if not isinstance(obj, dict) or obj.get("kind") not in WORKLOADS:
        return None
    spec = obj.get("spec") or {}
    if obj["kind"] == "Pod":
        return spec
    if obj["kind"] == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("spec") or {}


def _containers(spec):
    return [container for key in ("initContainers", "containers", "ephemeralContainers") for container in spec.get(key) or []]


def _names(items):
    return ", ".join('"%s"' % name for name in items)


def baseline_violations(spec):
    """What keeps ``spec`` out of the baseline level, each worded as the admission controller words it."""
    found = []
    host = [flag for flag in ("hostNetwork", "hostPID", "hostIPC") if spec.get(flag)]
    if host:
        found.append("host namespaces (%s)" % ", ".join("%s=true" % flag for flag in host))
    privileged = [c.get("name") for c in _containers(spec) if (c.get("securityContext") or {}).get("privileged")]
    if privileged:
        found.append("privileged (%s %s must not set securityContext.privileged=true)"
                     % ("containers" if len(privileged) > 1 else "container", _names(privileged)))
    for container in _containers(spec):
        added = [cap for cap in ((container.get("securityContext") or {}).get("capabilities") or {}).get("add") or []
                 if cap not in BASELINE_CAPABILITIES]
        if added:
            found.append('non-default capabilities (container "%s" must not include %s in securityContext.capabilities.add)'
                         % (container.get("name"), _names(added)))
    host_path = [v.get("name") for v in spec.get("volumes") or [] if "hostPath" in v]
    if host_path:
        found.append("hostPath volumes (%s %s)" % ("volumes" if len(host_path) > 1 else "volume", _names(host_path)))
    for container in _containers(spec):
        ports = [p.get("hostPort") for p in container.get("ports") or [] if p.get("hostPort")]
        if ports:
            found.append('hostPort (container "%s" uses hostPort %s)' % (container.get("name"), ", ".join(str(p) for p in ports)))
    unconfined = [c.get("name") for c in _containers(spec)
                  if ((c.get("securityContext") or {}).get("seccompProfile") or {}).get("type") == "Unconfined"]
    if ((spec.get("securityContext") or {}).get("seccompProfile") or {}).get("type") == "Unconfined":
        unconfined.insert(0, "pod")
    if unconfined:
        found.append('seccompProfile (%s must not set securityContext.seccompProfile.type to "Unconfined")' % _names(unconfined))
    sysctls = [s.get("name") for s in (spec.get("securityContext") or {}).get("sysctls") or [] if s.get("name") not in SAFE_SYSCTLS]
    if sysctls:
        found.append("forbidden sysctls (%s)" % ", ".join(sysctls))
    return found


def restricted_violations(spec):
    """What keeps ``spec`` (already baseline) out of the restricted level."""
    found = []
    pod_context = spec.get("securityContext") or {}
    volumes = [v.get("name") for v in spec.get("volumes") or [] if not any(kind in v for kind in RESTRICTED_VOLUMES)]
    if volumes:
        found.append("restricted volume types (%s %s)" % ("volumes" if len(volumes) > 1 else "volume", _names(volumes)))
    for container in _containers(spec):
        context = container.get("securityContext") or {}
        name = container.get("name")
        if context.get("allowPrivilegeEscalation") is not False:
            found.append('allowPrivilegeEscalation != false (container "%s" must set securityContext.allowPrivilegeEscalation=false)'
                         % name)
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            found.append('unrestricted capabilities (container "%s" must set securityContext.capabilities.drop=["ALL"])' % name)
        extra = [cap for cap in capabilities.get("add") or [] if cap != "NET_BIND_SERVICE"]
        if extra:
            found.append('unrestricted capabilities (container "%s" must not include %s in securityContext.capabilities.add)'
                         % (name, _names(extra)))
        non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
        if non_root is not True:
            found.append('runAsNonRoot != true (pod or container "%s" must set securityContext.runAsNonRoot=true)' % name)
        if context.get("runAsUser", pod_context.get("runAsUser")) == 0:
            found.append('runAsUser=0 (pod or container "%s" must not set runAsUser=0)' % name)
        seccomp = (context.get("seccompProfile") or pod_context.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            found.append('seccompProfile (pod or container "%s" must set securityContext.seccompProfile.type to "RuntimeDefault" '
                         'or "Localhost")' % name)
    return found


def pod_level(spec):
    """(level, reasons): the strictest level ``spec`` passes, and what keeps it from the next stricter one."""
    baseline = baseline_violations(spec)
    if baseline:
        return "privileged", baseline
    restricted = restricted_violations(spec)
    if restricted:
        return "baseline", restricted
    return "restricted", []


def namespace_level(objects):
    """The strictest level every pod of ``objects`` passes, with what each pod needs beyond restricted.

    Returns ``{"level": ..., "needs": [{"object": "DaemonSet fluentd-es", "level": "privileged", "reasons": [...]}]}``;
    ``needs`` lists only the pods that keep the namespace from restricted, the most demanding first.
    """
    needs = []
    for obj in objects or []:
        spec = pod_spec(obj)
        if spec is None:
            continue
        level, reasons = pod_level(spec)
        if level != "restricted":
            needs.append({"object": "%s %s" % (obj["kind"], (obj.get("metadata") or {}).get("name")), "level": level,
                          "reasons": reasons})
    needs.sort(key=lambda need: -LEVELS.index(need["level"]))
    return {"level": needs[0]["level"] if needs else "restricted", "needs": needs}


def summary(report):
    """One sentence per pod that needs more than restricted: what it needs and why."""
    return ["%s needs %s: %s." % (need["object"], need["level"], "; ".join(need["reasons"])) for need in report["needs"]]
