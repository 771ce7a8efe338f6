"""Every manifest the roles render keeps the contracts of the images it runs (tests/contracts), for every driver, version and
option set that changes them; and the contracts themselves are complete, cited and able to fail.

The roles are rendered offline (their ``render`` task files, no cluster) in one ansible-playbook run.
"""

from __future__ import annotations

import base64
import copy
import datetime
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

import contracts
from contracts import Cluster, Node, core, elastic, fluentd, generator
from tls import certificate_secret

from ansible_collections.seclog.falco_efk.plugins.module_utils import tls

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)

CONTAINERD = Node(name="ubuntu", runtime="containerd", kernel="5.15.0-1067-gke")
COS = Node(name="cos", runtime="containerd", kernel="6.1.100+", cos=True)
OLD_KERNEL = Node(name="old-kernel", runtime="containerd", kernel="4.15.0-1027-gke")
DOCKER_115 = Node(name="docker-1.15", runtime="docker", kernel="4.15.0-1069-gke")
DOCKER_18 = Node(name="docker-1.8", runtime="docker", kernel="4.13.0-1019-gcp")
K3S = Node(name="k3s", runtime="containerd", kernel="6.8.0", socket="/run/k3s/containerd/containerd.sock")

# name: (role, variables, Kubernetes minor, the nodes it must work on, Elasticsearch major)
VARIANTS = {
    "falco-modern_ebpf-1.37": ("falco", {}, 37, [CONTAINERD, COS], None),
    "falco-modern_ebpf-1.30": ("falco", {"falco_server_minor": 30}, 30, [CONTAINERD, COS], None),
    "falco-modern_ebpf-1.29-annotation": ("falco", {"falco_server_minor": 29}, 29, [CONTAINERD, COS], None),
    "falco-kmod": ("falco", {"falco_driver": "kmod"}, 37, [CONTAINERD, OLD_KERNEL], None),
    "falco-auto": ("falco", {"falco_driver": "auto"}, 37, [CONTAINERD, OLD_KERNEL, COS], None),
    "falco-kmod-1.15-docker": ("falco", {"falco_driver": "kmod", "falco_server_minor": 15, "falco_node_runtimes": ["docker"],
                                         "falco_psp_enabled": True}, 15, [DOCKER_115], None),
    "falco-kmod-1.8-docker": ("falco", {"falco_driver": "kmod", "falco_server_minor": 8, "falco_node_runtimes": ["docker"],
                                        "falco_psp_enabled": True, "falco_priority_class_usable": False}, 8, [DOCKER_18], None),
    "falco-0.42": ("falco", {"falco_version": "0.42.1"}, 37, [CONTAINERD], None),
    "falco-k3s": ("falco", {"falco_node_runtimes": ["k3s"]}, 33, [K3S], None),
    "falco-generator": ("falco", {"falco_event_generator": True, "falco_event_generator_sleep": "800ms",
                                  "falco_minimum_priority": "informational"}, 37, [CONTAINERD], None),
    "efk-8": ("efk", {}, 37, [CONTAINERD], 8),
    "efk-7.17": ("efk", {"efk_elasticsearch_version": "7.17.29"}, 37, [CONTAINERD], 7),
    "efk-8-three-nodes-tls": ("efk", {"efk_elasticsearch_replicas": 3, "efk_elasticsearch_tls_secret": "es-certs",
                                      "efk_elasticsearch_http_tls": True, "efk_elasticsearch_persistence": False,
                                      "efk_elasticsearch_sysctl_init_container": False, "efk_elasticsearch_mmap": False,
                                      "efk_elasticsearch_anti_affinity": "hard"}, 37, [CONTAINERD], 8),
    "efk-7.17-three-nodes-tls": ("efk", {"efk_elasticsearch_version": "7.17.29", "efk_elasticsearch_replicas": 3,
                                         "efk_elasticsearch_tls_secret": "es-certs", "efk_elasticsearch_http_tls": True}, 37,
                                 [CONTAINERD], 7),
    "efk-8-no-security": ("efk", {"efk_elasticsearch_security": False}, 37, [CONTAINERD], 8),
    "efk-8-large": ("efk", {"efk_elasticsearch_memory": "16Gi", "efk_kibana_memory": "2Gi", "efk_namespace": "security-logs",
                            "falco_namespace": "falco"}, 37, [CONTAINERD], 8),
}

PLAY = """- name: Render variant {name}
  ansible.builtin.include_role:
    name: seclog.falco_efk.{role}
    tasks_from: render
  vars: {vars}
- name: Write variant {name}
  ansible.builtin.copy:
    content: "{{{{ ({expression}) | to_nice_json }}}}"
    dest: {dest}
    mode: "0600"
"""


@pytest.fixture(name="rendered", scope="module")
def rendered_fixture(tmp_path_factory):
    """{variant: [objects]} for every variant, rendered by the roles in one ansible-playbook run."""
    out = tmp_path_factory.mktemp("contracts")
    tasks = []
    for name, (role, variables, _minor, _nodes, _major) in VARIANTS.items():
        expression = ("efk_objects.values() | flatten" if role == "efk" else "falco_objects + falco_generator_objects")
        tasks.append(PLAY.format(name=name, role=role, vars=json.dumps(variables), expression=expression, dest=out / f"{name}.json"))
    playbook = out / "render.yml"
    playbook.write_text("- name: Render the roles' objects\n  hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
                        + "".join("    " + line + "\n" for task in tasks for line in task.splitlines()))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    run = subprocess.run([os.path.join(BIN, "ansible-playbook"), str(playbook)], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    found = {}
    for name, (_role, variables, _minor, _nodes, _major) in VARIANTS.items():
        objects = json.loads((out / f"{name}.json").read_text())
        namespace = variables.get("efk_namespace", "logging")
        if variables.get("efk_elasticsearch_tls_secret"):
            service = f"elasticsearch-logging.{namespace}.svc"
            objects.append(certificate_secret(namespace, [service, "elasticsearch-logging-headless." + namespace + ".svc"]))
        elif any(o["kind"] == "StatefulSet" and any(v.get("secret", {}).get("secretName") == "elasticsearch-logging-certs"
                                                    for v in o["spec"]["template"]["spec"]["volumes"]) for o in objects):
            objects.append(generated_certificate_secret(namespace))
        found[name] = objects
    return found


def generated_certificate_secret(namespace: str) -> dict:
    """The Secret seclog.falco_efk.tls_certificates creates by default, made by the same functions."""
    service = f"elasticsearch-logging.{namespace}.svc"
    names = ["elasticsearch-logging", f"elasticsearch-logging.{namespace}", service, f"{service}.cluster.local"]
    files = tls.new_secret_files(namespace, service, names, ["127.0.0.1"], datetime.datetime.now(datetime.timezone.utc), 3650, 730)
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": "elasticsearch-logging-certs", "namespace": namespace}, "data": tls.encode_secret_data(files)}


def _violations(rendered, name, objects=None):
    _role, _variables, minor, nodes, major = VARIANTS[name]
    return contracts.check_objects(rendered[name] if objects is None else objects, Cluster(kubernetes=(1, minor), elasticsearch_major=major),
                                   nodes=nodes)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_rendered_manifest_keeps_its_images_contracts(rendered, name):
    assert [str(v) for v in _violations(rendered, name)] == []


def test_the_variants_cover_every_image_of_every_role(rendered):
    images = {contracts.contract_for(c["image"])[0] for objects in rendered.values() for o in objects if o["kind"] in contracts.WORKLOAD_KINDS
              for c in o["spec"]["template"]["spec"].get("initContainers", []) + o["spec"]["template"]["spec"]["containers"]}
    assert images == set(contracts.CONTRACTS.values())


# --------------------------------------------------------------------------------------------- the contracts catch defects

def _only(objects, kind, name=None):
    return next(o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name))


def _container(objects, kind, name=None):
    return _only(objects, kind, name)["spec"]["template"]["spec"]["containers"][0]


def _edit_config(objects, name, key, edit):
    config_map = _only(objects, "ConfigMap", name)
    config_map["data"][key] = edit(config_map["data"][key])


def _falco_config(edit):
    def change(objects):
        _edit_config(objects, "falco-config", "50-seclog.yaml", lambda text: yaml.safe_dump(edit(yaml.safe_load(text))))
    return change


def _without_mount(path):
    def change(objects):
        container = _container(objects, "DaemonSet", "falco")
        container["volumeMounts"] = [m for m in container["volumeMounts"] if m["mountPath"] != path]
    return change


def _sockets_at_their_host_paths(objects):
    container = _container(objects, "DaemonSet", "falco")
    for mount in container["volumeMounts"]:
        if mount["name"].startswith("runtime-"):
            mount["mountPath"] = mount["mountPath"].removeprefix("/host")


def _no_apparmor_exemption(objects):
    del _container(objects, "DaemonSet", "falco")["securityContext"]["appArmorProfile"]


def _drop_load_plugins(config):
    config.pop("load_plugins")
    return config


def _probe_on_loopback(objects):
    probe = _container(objects, "StatefulSet")["readinessProbe"]["exec"]["command"]
    probe[2] = re.sub(r"--resolve \S+ ", "", probe[2]).replace("https://elasticsearch-logging.logging.svc", "https://127.0.0.1")


def _fluent_conf(edit):
    def change(objects):
        _edit_config(objects, "fluentd-es-config", "fluent.conf", edit)
    return change


def _without_section(label):
    return lambda text: re.sub(r"<label " + re.escape(label) + r">.*?</label>\n", "", text, flags=re.S)


def _kibana_without_heap(objects):
    container = _container(objects, "Deployment", "kibana-logging")
    container["env"] = [e for e in container["env"] if e["name"] != "NODE_OPTIONS"]


def _generator_without_capabilities(objects):
    _container(objects, "Deployment", "falco-event-generator")["securityContext"]["capabilities"]["add"] = []


# 0.1.0's defects, one each, on today's manifests: the contract names the fact and says what the image would.
DEFECTS = [
    ("falco-modern_ebpf-1.37", _falco_config(_drop_load_plugins), "plugin_required",
     "Error: Plugin requirement not satisfied, must load one of: container (>= 0.4.0)"),
    ("falco-modern_ebpf-1.37", _without_mount("/etc/falco/config.d"), "plugin_registered_once",
     "found another plugin with name container. Aborting."),
    ("falco-modern_ebpf-1.37", _sockets_at_their_host_paths, "runtime_socket", "k8s.pod.name and k8s.ns.name are null"),
    ("falco-modern_ebpf-1.37", _no_apparmor_exemption, "apparmor", "container fields come out null"),
    ("falco-modern_ebpf-1.37", _without_mount("/sys/kernel"), "tracefs", "TOCTOU mitigation may not properly work"),
    ("falco-modern_ebpf-1.37", _falco_config(lambda c: dict(c, json_output=False)), "json_output", "JSON lines on stdout"),
    ("falco-kmod", _without_mount("/host/dev"), "driver_privileges", "error opening device /host/dev/falco0"),
    ("falco-generator", _generator_without_capabilities, "capabilities", "SETUID and SETGID"),
    ("efk-8-three-nodes-tls", _probe_on_loopback, "probe_certificate",
     "no alternative certificate subject name matches target host name '127.0.0.1'"),
    ("efk-8", _fluent_conf(_without_section("@FLUENT_LOG")), "own_logs", "<label @FLUENT_LOG>"),
    ("efk-8", _fluent_conf(_without_section("@ERROR")), "error_label", "<label @ERROR>"),
    ("efk-8", _fluent_conf(lambda t: t.replace("  sniffer_class_name Fluent::Plugin::ElasticsearchSimpleSniffer\n", "")), "sniffer",
     "pod IPs"),
    ("efk-8", _fluent_conf(lambda t: re.sub(r"<filter kubernetes\.var\.log\.containers\.[^>]*>", "<filter kubernetes.**>", t)),
     "json_lifted_for_falco_only", "1000-field limit"),
    ("efk-8", _kibana_without_heap, "heap", "OOMKilled"),
    ("efk-8", _fluent_conf(lambda t: re.sub(r"<filter [^>]*>\n  @type dedot\n[^<]*</filter>\n", "", t)), "falco_fields_dedotted",
     "container.image.repository"),
    ("efk-8", _fluent_conf(lambda t: t.replace("  de_dot_nested true\n", "")), "falco_fields_dedotted", "de_dot_nested true"),
]


@pytest.mark.parametrize("variant, change, fact, says", DEFECTS, ids=[f"{d[0]}-{d[2]}" for d in DEFECTS])
def test_the_contracts_catch_what_would_break_a_real_container(rendered, variant, change, fact, says):
    objects = copy.deepcopy(rendered[variant])
    change(objects)
    found = _violations(rendered, variant, objects)
    assert [v.fact for v in found] == [fact], [str(v) for v in found]
    assert says in found[0].message


def test_a_falco_old_enough_to_lack_load_plugins_crashes_on_the_image_own_message(rendered):
    objects = copy.deepcopy(rendered["falco-modern_ebpf-1.37"])
    _falco_config(_drop_load_plugins)(objects)
    [violation] = _violations(rendered, "falco-modern_ebpf-1.37", objects)
    assert violation.effect == "crash" and violation.container == "falco"
    assert any("falco_rules.yaml @falco-rules-5.1.0" in source for source in violation.sources)


# --------------------------------------------------------------------------------------------- the contracts themselves

@pytest.mark.parametrize("name", sorted(contracts.CONTRACTS.values()))
def test_every_fact_is_cited_says_what_breaks_and_is_checked(name):
    data = contracts.load(name)
    assert data["checked"] and data["sources"] and data["image"] in contracts.CONTRACTS
    checker = contracts.CHECKS[name]
    for key, item in data["facts"].items():
        assert item["effect"] in core.EFFECTS, key
        assert item.get("what"), key
        assert item["sources"] and set(item["sources"]) <= set(data["sources"]), key
        if item["effect"] in ("crash", "unready", "refused"):
            assert item.get("says") or any(k.startswith("says_") for k in item), f"{name} {key}: what does the container say?"
        if item["effect"] == "degraded":
            assert item.get("degrades"), key
        assert callable(getattr(checker, key, None)), f"{name} fact {key} has no check"
    checks = {n for n in vars(checker) if not n.startswith("_") and n != "violations" and callable(getattr(checker, n))}
    assert checks <= set(data["facts"]), f"checks without a fact: {checks - set(data['facts'])}"


@pytest.mark.parametrize("name", sorted(contracts.CONTRACTS.values()))
def test_every_source_names_a_repository_a_path_and_a_version(name):
    for key, source in contracts.load(name)["sources"].items():
        assert re.match(r"^[\w.-]+/[\w.-]+ \S+", source), (key, source)


def test_docs_upstream_lists_every_image_with_its_checked_versions():
    with open(os.path.join(ROOT, "docs", "upstream.md"), encoding="utf-8") as handle:
        text = handle.read()
    for name in contracts.CONTRACTS.values():
        data = contracts.load(name)
        assert data["image"] in text, name
        for version in data["checked"]:
            assert str(version) in text, (name, version)


@pytest.mark.parametrize("image, repository, tag", [
    ("docker.io/falcosecurity/falco:0.44.1", "falcosecurity/falco", "0.44.1"),
    ("falcosecurity/falco-driver-loader:0.44.1", "falcosecurity/falco-driver-loader", "0.44.1"),
    ("docker.elastic.co/elasticsearch/elasticsearch:8.19.10", "elasticsearch/elasticsearch", "8.19.10"),
    ("mirror.example:5000/kibana/kibana@sha256:" + "0" * 64, "kibana/kibana", ""),
    ("busybox", "library/busybox", ""),
])
def test_images_are_known_by_repository_whatever_the_registry(image, repository, tag):
    assert core.split_image(image) == (repository, tag)


def test_a_volume_over_a_directory_hides_the_image_files_and_a_sub_path_mount_adds_one():
    pod = core.Pod({"spec": {"volumes": [{"name": "d", "emptyDir": {}}, {"name": "c", "configMap": {"name": "cm"}}]}}, "ns",
                   Cluster(configmaps={("ns", "cm"): {"a.yaml": "x: 1\n"}}))
    image = {"/etc/app/conf.d/image.yaml": {"yaml": {"y": 2}}, "/etc/app/main.yaml": {}}
    bare = pod.files({"volumeMounts": []}, image)
    assert bare.listdir("/etc/app/conf.d") == ["image.yaml"]
    masked = pod.files({"volumeMounts": [{"name": "d", "mountPath": "/etc/app/conf.d"},
                                         {"name": "c", "mountPath": "/etc/app/conf.d/a.yaml", "subPath": "a.yaml"}]}, image)
    assert masked.listdir("/etc/app/conf.d") == ["a.yaml"] and masked.yaml("/etc/app/conf.d/a.yaml") == {"x": 1}
    assert masked.lookup("/etc/app/main.yaml") == ("image", {})


@pytest.mark.parametrize("pattern, tag, matches", [
    ("kubernetes.**", "kubernetes.var.log.containers.a_b_c-1.log", True),
    ("kubernetes.var.log.containers.falco-*_logging_falco-*.log", "kubernetes.var.log.containers.falco-x2x9k_logging_falco-00.log", True),
    ("kubernetes.var.log.containers.falco-*_logging_falco-*.log", "kubernetes.var.log.containers.shop-1_default_shop-00.log", False),
    ("kubernetes.var.log.containers.falco-*_logging_falco-*.log", "kubernetes.var.log.containers.falco-x_falco_falco-00.log", False),
    ("a.{b,c}.d", "a.c.d", True),
    ("**", "fluent.warn", True),
])
def test_fluentd_match_patterns(pattern, tag, matches):
    assert fluentd.tag_matches(pattern, tag) is matches


def test_a_probe_that_resolves_the_service_name_to_loopback_asks_for_the_name():
    script = 'curl -fsS --cacert ca.crt --resolve es.ns.svc:9200:127.0.0.1 -u "elastic:${P}" "https://es.ns.svc:9200/_cluster/health"'
    words = core.probe_command({"exec": {"command": ["bash", "-c", script]}})
    curl = core.parse_curl(words)
    assert (curl.host, curl.connects_to(), curl.insecure, curl.user) == ("es.ns.svc", "127.0.0.1", False, "elastic:${P}")


def test_certificate_names_are_matched_as_tls_clients_match_them():
    secret = certificate_secret("ns", ["es.ns.svc", "*.es-headless.ns.svc"])
    pem = base64.b64decode(secret["data"]["tls.crt"]).decode()
    assert elastic.certificate_matches(pem, "es.ns.svc") and elastic.certificate_matches(pem, "es-0.es-headless.ns.svc")
    assert not elastic.certificate_matches(pem, "127.0.0.1") and not elastic.certificate_matches(pem, "es.ns.svc.cluster.local")


# --------------------------------------------------------------------------------------------- the event generator's rate

def test_a_loop_of_every_syscall_action_gives_about_3300_alerts_an_hour_at_notice():
    has = {"container", "network", "root", "writable_root", "CHOWN", "DAC_OVERRIDE", "FOWNER", "NET_RAW", "SETGID", "SETUID"}
    loop = generator.loop(["run", "--all", "^syscall", "--loop"], has, "notice")
    # 23 default actions after 0.1 s each, 12.4 s of their own (ssh's 5 s timeout, a 6 s child), 43 more with --all (4.3 s, 3 s).
    assert loop.seconds == pytest.approx(22.0)
    # 20 alerts: not the two that need a privileged container, not System user interactive (informational), plus the two
    # "Read sensitive file untrusted" the traversal and the trusted-after-startup child also raise.
    assert sum(loop.alerts.values()) == 20 and round(loop.per_hour) == 3273
    assert loop.alerts[("Read sensitive file untrusted", "warning")] == 3


def test_the_generator_without_root_or_capabilities_gives_fewer_alerts_and_its_sleep_slows_it():
    able = {"container", "network", "root", "writable_root", "NET_RAW", "SETUID", "SETGID"}
    full = generator.loop(["run", "^syscall", "--loop"], able)
    bare = generator.loop(["run", "^syscall", "--loop"], {"container", "network"})
    slow = generator.loop(["run", "^syscall", "--loop", "--sleep=800ms"], able)
    assert sum(bare.alerts.values()) < sum(full.alerts.values()) and bare.per_hour < full.per_hour
    assert slow.seconds == pytest.approx(full.seconds + 23 * 0.7) and slow.per_hour < full.per_hour
