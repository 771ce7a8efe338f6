# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cluster preflight checks, as pure functions over what the cluster said.

Every check takes plain data (Kubernetes objects as dicts, discovery results) and returns
findings: ``{"id", "severity", "message", "remedy", "objects"}``. Nothing here talks to a
cluster, so each rule is unit-tested over recorded node and discovery data, and the falco role
uses the same driver rules (``driver_for_node``) that the preflight reports on.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

SEVERITIES = ("info", "warning", "error")
DRIVERS = ("modern_ebpf", "kmod", "auto")
MODERN_EBPF_MIN_KERNEL = (5, 8)

# DaemonSets of managed or well-known log shippers that tail the same files Fluentd would.
GKE_LOGGING_AGENTS = ("fluentbit-gke", "fluentbit-gke-big", "fluentbit-gke-max", "fluentd-gcp", "fluentd-gcp-v3.2.0",
                      "stackdriver-logging-agent")
OTHER_LOG_SHIPPERS = ("fluent-bit", "fluentbit", "fluentd", "filebeat", "promtail", "vector", "datadog", "splunk", "logstash",
                      "opentelemetry-collector", "otel-collector", "alloy")

# What the later stages do, as (verb, API group, resource, namespaced) for SelfSubjectAccessReviews.
REQUIRED_ACCESS = (
    ("create", "", "namespaces", False),
    ("get", "", "namespaces", False),
    ("patch", "", "namespaces", False),
    ("create", "rbac.authorization.k8s.io", "clusterroles", False),
    ("escalate", "rbac.authorization.k8s.io", "clusterroles", False),
    ("create", "rbac.authorization.k8s.io", "clusterrolebindings", False),
    ("create", "", "serviceaccounts", True),
    ("create", "", "configmaps", True),
    ("patch", "", "configmaps", True),
    ("create", "", "secrets", True),
    ("get", "", "secrets", True),
    ("create", "", "services", True),
    ("patch", "", "services", True),
    ("create", "", "persistentvolumeclaims", True),
    ("create", "apps", "daemonsets", True),
    ("patch", "apps", "daemonsets", True),
    ("delete", "apps", "daemonsets", True),
    ("create", "apps", "statefulsets", True),
    ("patch", "apps", "statefulsets", True),
    ("delete", "apps", "statefulsets", True),
    ("create", "apps", "deployments", True),
    ("patch", "apps", "deployments", True),
    ("delete", "apps", "deployments", True),
    ("create", "policy", "poddisruptionbudgets", True),
    ("get", "", "services/proxy", True),
)

_CPU = re.compile(r"^([0-9.]+)(m?)$")
_MEMORY = re.compile(r"^([0-9.]+)([KMGTPE]i?|[kmgtpe]|)$")
_MEMORY_FACTORS = {"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
                   "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60, "m": 1e-3}


class PreflightError(ValueError):
    """Bad input to the preflight (a threshold that is no quantity, an unknown driver...)."""


def cpu_millicores(value):
    """``"3920m"`` -> 3920, ``"4"`` -> 4000, ``2`` -> 2000."""
    match = _CPU.match(str(value).strip())
    if not match:
        raise PreflightError("%r is not a CPU quantity (examples: 2, 1500m)" % (value,))
    number = float(match.group(1))
    return int(round(number if match.group(2) else number * 1000))


def memory_mib(value):
    """``"13206396Ki"`` -> 12896, ``"7.5Gi"`` -> 7680, ``"8G"`` -> 7629 (MiB, rounded down)."""
    match = _MEMORY.match(str(value).strip())
    if not match:
        raise PreflightError("%r is not a memory quantity (examples: 7.5Gi, 7680Mi, 8G)" % (value,))
    return int(float(match.group(1)) * _MEMORY_FACTORS[match.group(2)] // 2 ** 20)


def kernel_version(text):
    """``"5.15.0-1067-gke"`` -> (5, 15, 0); ``"6.1.100+"`` -> (6, 1, 100); unknown -> None."""
    match = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def node_summary(node):
    """What the checks need of one Node object."""
    meta, spec, status = node.get("metadata", {}), node.get("spec", {}), node.get("status", {})
    labels = meta.get("labels") or {}
    info = status.get("nodeInfo") or {}
    allocatable = status.get("allocatable") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ())
    os_image = info.get("osImage", "")
    gke_os = labels.get("cloud.google.com/gke-os-distribution", "")
    return {
        "name": meta.get("name", ""),
        "cpu_millicores": cpu_millicores(allocatable.get("cpu", "0")),
        "memory_mib": memory_mib(allocatable.get("memory", "0")),
        "instance_type": labels.get("node.kubernetes.io/instance-type") or labels.get("beta.kubernetes.io/instance-type", ""),
        "os_image": os_image,
        "kernel_version": info.get("kernelVersion", ""),
        "container_runtime": info.get("containerRuntimeVersion", ""),
        "gke_os_distribution": gke_os,
        "gke_node_pool": labels.get("cloud.google.com/gke-nodepool", ""),
        "cos": gke_os == "cos" or "container-optimized os" in os_image.lower(),
        "taints": [dict((k, t[k]) for k in ("key", "value", "effect") if k in t) for t in spec.get("taints") or ()],
        "ready": ready,
        "schedulable": not spec.get("unschedulable", False) and not any(t.get("effect") == "NoSchedule" for t in spec.get("taints") or ()),
    }


def driver_for_node(summary, driver):
    """The Falco driver a node gets, and why it cannot work there (or None when it can).

    One source of truth for the preflight's findings and the falco role's choice:
    ``modern_ebpf`` needs kernel 5.8+ (CO-RE with BTF); ``kmod`` cannot load on Container-Optimized
    OS; ``auto`` takes modern_ebpf where the kernel allows and kmod elsewhere.
    """
    if driver not in DRIVERS:
        raise PreflightError("unknown Falco driver %r: choose one of %s" % (driver, ", ".join(DRIVERS)))
    kernel = kernel_version(summary["kernel_version"])
    modern_ok = kernel is not None and kernel[:2] >= MODERN_EBPF_MIN_KERNEL
    if driver == "auto":
        driver = "modern_ebpf" if modern_ok else "kmod"
    if driver == "modern_ebpf" and not modern_ok:
        return driver, "kernel %s is older than 5.8, which modern_ebpf needs" % (summary["kernel_version"] or "unknown")
    if driver == "kmod" and summary["cos"]:
        return driver, "Container-Optimized OS does not load out-of-tree kernel modules"
    return driver, None


def finding(id_, severity, message, remedy, objects=None):
    """One finding, in the shape the module returns."""
    if severity not in SEVERITIES:
        raise PreflightError("unknown severity %r" % (severity,))
    return {"id": id_, "severity": severity, "message": message, "remedy": remedy, "objects": list(objects or ())}


def is_gke(summaries):
    """Whether the nodes say they are GKE nodes."""
    return any(s["gke_node_pool"] or s["gke_os_distribution"] for s in summaries)


def check_nodes(summaries):
    """No nodes at all, or nodes that are not Ready."""
    if not summaries:
        return [finding("nodes.none", "error", "The cluster lists no nodes, so nothing this collection deploys can run.",
                        "Check the kubeconfig and context, and that the cluster has a node pool.")]
    not_ready = [s["name"] for s in summaries if not s["ready"]]
    if not_ready:
        return [finding("nodes.not_ready", "warning",
                        "%d of %d nodes are not Ready: %s. DaemonSets (Falco, Fluentd) will not become ready there."
                        % (len(not_ready), len(summaries), ", ".join(not_ready)),
                        "Repair or drain and delete those nodes before installing.", not_ready)]
    return []


def _quantities(cpu_millis, mib):
    cpu = "%g" % (cpu_millis / 1000.0) if cpu_millis % 1000 == 0 else "%dm" % cpu_millis
    memory = "%gGi" % (mib / 1024.0) if mib % 1024 == 0 else "%dMi" % mib
    return "%s CPU and %s memory" % (cpu, memory)


def check_elasticsearch_size(summaries, replicas, es_cpu, es_memory, daemons=()):
    """Enough schedulable, ready nodes whose allocatable room holds an Elasticsearch pod's requests, plus the requests of the
    DaemonSet pods (Falco, Fluentd) every node runs; a warning names the nodes that cannot hold one when enough others can."""
    need_cpu = cpu_millicores(es_cpu) + sum(cpu_millicores(d.get("cpu") or 0) for d in daemons)
    need_mib = memory_mib(es_memory) + sum(memory_mib(d.get("memory") or 0) for d in daemons)
    fit = [s for s in summaries if s["ready"] and s["schedulable"] and s["cpu_millicores"] >= need_cpu and s["memory_mib"] >= need_mib]
    small = [s for s in summaries if s not in fit]
    if len(fit) >= replicas and not small:
        return []
    detail = "; ".join("%s (%s): %sm CPU, %s MiB" % (s["name"], s["instance_type"] or "unknown type", s["cpu_millicores"], s["memory_mib"])
                       for s in small[:10])
    more = " and %d more" % (len(small) - 10) if len(small) > 10 else ""
    pod = "An Elasticsearch pod requests %s" % _quantities(cpu_millicores(es_cpu), memory_mib(es_memory))
    if daemons:
        daemon_needs = _quantities(need_cpu - cpu_millicores(es_cpu), need_mib - memory_mib(es_memory))
        pod += ", and the Falco and Fluentd pods on every node %s more" % daemon_needs
    if len(fit) >= replicas:
        return [finding(
            "elasticsearch.small_nodes", "warning",
            "%s: %d node(s) have room for it, enough for %d replica(s), but these cannot hold one: %s%s."
            % (pod, len(fit), replicas, detail, more),
            "Nothing to do unless Elasticsearch should be able to move there; otherwise use larger nodes there.",
            [s["name"] for s in small])]
    return [finding(
        "elasticsearch.node_size", "error",
        "%s; %d schedulable node(s) with that much allocatable room are needed, %d have it.%s"
        % (pod, replicas, len(fit), " Too small: %s%s." % (detail, more) if small else ""),
        "Use larger nodes (an n1-standard-2 or e2-standard-2 holds the defaults), add a node pool of that size, or lower "
        "Elasticsearch's requests (efk_elasticsearch_cpu_request, efk_elasticsearch_memory) or replicas (efk_elasticsearch_replicas).",
        [s["name"] for s in small])]


def check_falco_driver(summaries, driver):
    """Nodes where the chosen Falco driver cannot run."""
    findings, problems, chosen = [], {}, {}
    for summary in summaries:
        used, problem = driver_for_node(summary, driver)
        chosen.setdefault(used, []).append(summary["name"])
        if problem:
            problems.setdefault((used, problem), []).append(summary["name"])
    for (used, problem), names in sorted(problems.items()):
        if used == "kmod":
            remedy = ("Use falco_driver: modern_ebpf (COS kernels are 5.10 or newer), or an Ubuntu node image "
                      "(gcloud container node-pools create ... --image-type=UBUNTU_CONTAINERD).")
        else:
            remedy = ("Upgrade the node image to a kernel of 5.8 or newer, or use falco_driver: kmod (needs kernel headers "
                      "or a prebuilt driver for these kernels).")
        findings.append(finding("falco.driver.%s" % used, "error", "Falco's %s driver cannot run on %d node(s): %s (%s)."
                                % (used, len(names), ", ".join(names[:10]) + (" ..." if len(names) > 10 else ""), problem), remedy, names))
    if "kmod" in chosen and not any(k[0] == "kmod" for k in problems):
        kernels = sorted({s["kernel_version"] for s in summaries if s["name"] in chosen["kmod"]})
        findings.append(finding("falco.driver.kmod_build", "warning",
                                "The kmod driver is built or downloaded per kernel at start; kernels: %s." % ", ".join(kernels),
                                "Make sure a prebuilt driver exists for these kernels or that nodes have kernel headers; otherwise "
                                "prefer modern_ebpf.", chosen["kmod"]))
    if driver == "auto" and summaries:
        findings.append(finding("falco.driver.auto", "info", "With driver auto: " + "; ".join(
            "%s on %d node(s)" % (used, len(names)) for used, names in sorted(chosen.items())) + ".", "", []))
    return findings


def check_logging_agents(daemonsets, gke):
    """Managed (GKE) or other log shippers already tailing the files Fluentd would read."""
    findings = []
    agents = [d for d in daemonsets if _ds_name(d) in GKE_LOGGING_AGENTS and _ds_namespace(d) == "kube-system"]
    if agents:
        names = ["%s/%s" % (_ds_namespace(d), _ds_name(d)) for d in agents]
        findings.append(finding(
            "logging.gke_agent", "warning",
            "GKE's own logging agent is running (%s): it tails /var/log/containers like Fluentd and ships to Cloud Logging, "
            "doubling the node load and the log volume." % ", ".join(names),
            "Turn GKE's system and workload logging off if Elasticsearch is to be the only sink: "
            "gcloud container clusters update CLUSTER --logging=NONE (older clusters: --logging-service=none).", names))
    others = [d for d in daemonsets if d not in agents and any(marker in _ds_name(d) for marker in OTHER_LOG_SHIPPERS)
              and not _ours(d)]
    if others:
        names = ["%s/%s" % (_ds_namespace(d), _ds_name(d)) for d in others]
        findings.append(finding("logging.other_agent", "info",
                                "Other log shippers run as DaemonSets: %s. They can coexist with Fluentd, but each reads every "
                                "container log." % ", ".join(names), "Nothing to do unless node load matters.", names))
    if not gke:
        findings.append(finding("gke.not_gke", "info", "The nodes carry no GKE labels: the GKE-only checks (logging agent, "
                                "cluster-admin grant advice) were skipped.", "", []))
    return findings


def _ds_name(daemonset):
    return daemonset.get("metadata", {}).get("name", "")


def _ds_namespace(daemonset):
    return daemonset.get("metadata", {}).get("namespace", "")


def _ours(daemonset):
    labels = daemonset.get("metadata", {}).get("labels") or {}
    return labels.get("app.kubernetes.io/part-of") == "seclog-falco-efk"


def check_access(reviews):
    """SelfSubjectAccessReview answers: what the caller may not do that the later stages will."""
    denied = [r for r in reviews if not r["allowed"]]
    if not denied:
        return []
    missing = ["%s %s%s%s" % (r["verb"], r["resource"], "." + r["group"] if r["group"] else "",
                              " in " + r["namespace"] if r.get("namespace") else "") for r in denied]
    escalate_only = all(r["verb"] == "escalate" for r in denied)
    remedy = ("Set prerequisites_grant_cluster_admin: true to bind cluster-admin to your user (the runbook's step; on GKE an "
              "IAM role such as roles/container.admin is needed to create that binding), or ask a cluster administrator "
              "for these rights.")
    if escalate_only:
        return [finding("rbac.escalate", "warning",
                        "You may not escalate ClusterRoles: creating Falco's and Fluentd's ClusterRoles succeeds only if you "
                        "already hold every permission they grant (GKE's 'attempt to grant extra privileges').", remedy, missing)]
    return [finding("rbac.missing", "error", "You lack rights the later stages need: %s." % ", ".join(missing), remedy, missing)]


def check_storage(storage_classes, persistence):
    """A default StorageClass when Elasticsearch asks for persistent volumes (None: could not be read)."""
    if not persistence or storage_classes is None:
        return []
    defaults = [sc.get("metadata", {}).get("name") for sc in storage_classes
                if (sc.get("metadata", {}).get("annotations") or {}).get("storageclass.kubernetes.io/is-default-class") == "true"
                or (sc.get("metadata", {}).get("annotations") or {}).get("storageclass.beta.kubernetes.io/is-default-class") == "true"]
    if defaults:
        return []
    names = [sc.get("metadata", {}).get("name") for sc in storage_classes]
    return [finding("storage.no_default_class", "error",
                    "Elasticsearch asks for persistent volumes but the cluster has no default StorageClass%s."
                    % (" (it has: %s)" % ", ".join(names) if names else ""),
                    "Name a class with efk_elasticsearch_storage_class, mark one as default "
                    "(storageclass.kubernetes.io/is-default-class: \"true\"), or use efk_elasticsearch_persistence: false for a throwaway "
                    "emptyDir.", names)]


# The annotation values of namespaces the collection's roles created (the falco role's, the efk role's).
CREATED_BY = ("falco", "seclog.falco_efk")


def check_pod_security(namespace, served, psp_count):
    """Privileged Falco pods against Pod Security Admission (new clusters) or PodSecurityPolicy (old ones)."""
    findings = []
    if namespace is not None:
        labels = namespace.get("metadata", {}).get("labels") or {}
        level = labels.get("pod-security.kubernetes.io/enforce")
        # A namespace the collection created is labelled by its roles at the level their pods need.
        ours = (namespace.get("metadata", {}).get("annotations") or {}).get("seclog.io/created-by") in CREATED_BY
        if level in ("baseline", "restricted") and not ours:
            name = namespace.get("metadata", {}).get("name")
            findings.append(finding("podsecurity.enforced", "error",
                                    "Namespace %s enforces the %s Pod Security Standard, which rejects privileged pods (Falco's) "
                                    "and hostPath volumes (Fluentd's); the collection never relabels a namespace it did not create."
                                    % (name, level),
                                    "Label it privileged yourself (kubectl label namespace %s pod-security.kubernetes.io/enforce="
                                    "privileged --overwrite), or name a namespace the collection creates (falco_namespace, "
                                    "efk_namespace)." % name, [name]))
    psp_served = any("podsecuritypolicies" in served.get(gv, ()) for gv in ("policy/v1beta1", "extensions/v1beta1"))
    if psp_served and psp_count:
        findings.append(finding("podsecurity.psp", "warning",
                                "The cluster has %d PodSecurityPolicies; if their admission controller is on, Falco's "
                                "privileged pods need a PSP that allows them." % psp_count,
                                "Set falco_psp: true so the falco role creates a PodSecurityPolicy and binds it to Falco's "
                                "ServiceAccount.", []))
    return findings


def evaluate(facts, options):
    """All findings for gathered ``facts`` under the module's ``options``, errors first."""
    summaries = facts["nodes"]
    findings = []
    if summaries is not None:  # None: the caller may not list nodes (reported by the module)
        findings += check_nodes(summaries)
        findings += check_elasticsearch_size(summaries, options["es_replicas"], options["es_min_cpu"], options["es_min_memory"],
                                             options.get("daemonset_requests") or ())
        findings += check_falco_driver(summaries, options["falco_driver"])
    findings += check_logging_agents(facts["daemonsets"], is_gke(summaries or ()) or summaries is None)
    findings += check_access(facts["access"])
    findings += check_storage(facts["storage_classes"], options["es_persistence"])
    findings += check_pod_security(facts.get("namespace"), facts["served"], facts.get("psp_count", 0))
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(findings, key=lambda f: (order[f["severity"]], f["id"]))


def failing(findings, fail_on):
    """The findings that fail the run under ``fail_on`` (error, warning or never)."""
    if fail_on == "never":
        return []
    levels = ("error",) if fail_on == "error" else ("error", "warning")
    return [f for f in findings if f["severity"] in levels]


def summary_lines(findings):
    """One readable line per finding, remedy included."""
    lines = []
    for item in findings:
        line = "%s [%s] %s" % (item["severity"].upper(), item["id"], item["message"])
        if item["remedy"]:
            line += " Remedy: " + item["remedy"]
        lines.append(line)
    return lines
