"""The images' contracts in the kubelet simulation: a container that would exit on a real node crash-loops here with its
image's own message, one whose probe cannot pass stays unready with the kubelet's event, one the kubelet would refuse is
refused, and one that runs degraded sends degraded alerts."""

from __future__ import annotations

import base64
import datetime
import time

import pytest
from kubernetes import client

from localcluster import alerts
from localcluster.pytest_plugin import wait_for, workload

import contracts

NS = "images"
FALCO = "docker.io/falcosecurity/falco:0.44.1"


@pytest.fixture(name="api", scope="module")
def api_fixture(localcluster):
    api = localcluster.api_client()
    client.CoreV1Api(api).create_namespace({"metadata": {"name": NS}})
    return api


def _pods(api, name):
    return client.CoreV1Api(api).list_namespaced_pod(NS, label_selector=f"app={name}").items


def _crashing(api, name):
    return [p for p in _pods(api, name) if p.status.container_statuses and p.status.container_statuses[0].state.waiting
            and p.status.container_statuses[0].state.waiting.reason == "CrashLoopBackOff"]


def _create(api, obj, *config_maps, secrets=()):
    core = client.CoreV1Api(api)
    for config_map in config_maps:
        core.create_namespaced_config_map(NS, config_map)
    for secret in secrets:
        core.create_namespaced_secret(NS, secret)
    create = {"DaemonSet": client.AppsV1Api(api).create_namespaced_daemon_set, "Deployment": client.AppsV1Api(api).create_namespaced_deployment,
              "StatefulSet": client.AppsV1Api(api).create_namespaced_stateful_set}[obj["kind"]]
    create(NS, obj)


def _falco(name, mounts, volumes, **container):
    obj = workload("DaemonSet", name, {"app": name}, image=FALCO)
    spec = obj["spec"]["template"]["spec"]
    spec["tolerations"] = [{"operator": "Exists"}]
    spec["volumes"] = volumes
    spec["containers"][0].update(name="falco", args=["/usr/bin/falco", "-U"], securityContext={"privileged": True},
                                 env=[{"name": "FALCO_HOSTNAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                                 volumeMounts=mounts, **container)
    return obj


HOST = [{"name": "proc", "mountPath": "/host/proc", "readOnly": True}, {"name": "sys", "mountPath": "/sys/kernel", "readOnly": True}]
HOST_VOLUMES = [{"name": "proc", "hostPath": {"path": "/proc"}}, {"name": "sys", "hostPath": {"path": "/sys/kernel"}}]


def test_a_falco_whose_config_d_hides_the_container_plugin_crash_loops_saying_so(api):
    # 0.1.0's DaemonSet: an emptyDir over /etc/falco/config.d and no load_plugins of its own.
    mounts = HOST + [{"name": "config-d", "mountPath": "/etc/falco/config.d"}]
    _create(api, _falco("hidden-plugin", mounts, HOST_VOLUMES + [{"name": "config-d", "emptyDir": {}}],
                        terminationMessagePolicy="FallbackToLogsOnError"))
    pods = wait_for(lambda: _crashing(api, "hidden-plugin"), timeout=20)
    status = pods[0].status.container_statuses[0]
    assert pods[0].status.phase == "Running" and not status.ready and status.restart_count >= 1
    assert status.state.waiting.reason == "CrashLoopBackOff" and "restarting failed container=falco" in status.state.waiting.message
    assert status.last_state.terminated.exit_code == 1
    assert status.last_state.terminated.message.strip() == \
        "Error: Plugin requirement not satisfied, must load one of: container (>= 0.4.0)"
    daemonset = client.AppsV1Api(api).read_namespaced_daemon_set("hidden-plugin", NS)
    assert (daemonset.status.number_ready or 0) == 0


def test_without_fallback_to_logs_the_status_keeps_no_message_as_a_kubelet(api):
    mounts = HOST + [{"name": "config-d", "mountPath": "/etc/falco/config.d"}]
    _create(api, _falco("silent-crash", mounts, HOST_VOLUMES + [{"name": "config-d", "emptyDir": {}}]))
    pods = wait_for(lambda: _crashing(api, "silent-crash"), timeout=20)
    assert pods[0].status.container_statuses[0].last_state.terminated.message is None


def test_a_loader_asked_for_a_driver_it_does_not_know_keeps_the_pod_initializing(api):
    obj = _falco("bad-loader", HOST, HOST_VOLUMES)
    obj["spec"]["template"]["spec"]["initContainers"] = [{
        "name": "falco-driver-loader", "image": "docker.io/falcosecurity/falco-driver-loader:0.44.1", "args": ["ebpf"],
        "securityContext": {"privileged": True}, "terminationMessagePolicy": "FallbackToLogsOnError"}]
    _create(api, obj)
    pods = wait_for(lambda: [p for p in _pods(api, "bad-loader") if p.status.init_container_statuses
                             and p.status.init_container_statuses[0].state.waiting], timeout=20)
    init = pods[0].status.init_container_statuses[0]
    assert pods[0].status.phase == "Pending" and init.state.waiting.reason == "CrashLoopBackOff"
    assert init.last_state.terminated.message.strip() == "Unknown driver: ebpf"
    assert pods[0].status.container_statuses[0].state.waiting.reason == "PodInitializing"


def _tls_secret(name, dns_names):
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key()).serial_number(7)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), False).sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    return {"metadata": {"name": name}, "type": "kubernetes.io/tls",
            "data": {k: base64.b64encode(pem).decode() for k in ("ca.crt", "tls.crt", "tls.key")}}


PROBE_ON_LOOPBACK = 'curl -fsS --cacert config/certs/ca.crt -u "elastic:${ELASTIC_PASSWORD}" "https://127.0.0.1:9200/_cluster/health"'


def test_an_elasticsearch_probe_that_cannot_verify_its_certificate_never_gets_ready_and_says_why(api):
    config = {"metadata": {"name": "es-config"}, "data": {"elasticsearch.yml": (
        "discovery.type: single-node\nxpack.security.enabled: true\nxpack.security.http.ssl.enabled: true\n"
        "xpack.security.http.ssl.key: certs/tls.key\nxpack.security.http.ssl.certificate: certs/tls.crt\n"
        "xpack.security.http.ssl.certificate_authorities: [certs/ca.crt]\n")}}
    obj = workload("StatefulSet", "es-probe", {"app": "es-probe"}, replicas=1, image="docker.elastic.co/elasticsearch/elasticsearch:8.19.10")
    spec = obj["spec"]["template"]["spec"]
    spec["volumes"] = [{"name": "config", "configMap": {"name": "es-config"}}, {"name": "certs", "secret": {"secretName": "es-certs"}}]
    spec["containers"][0].update(name="elasticsearch", volumeMounts=[
        {"name": "config", "mountPath": "/usr/share/elasticsearch/config/elasticsearch.yml", "subPath": "elasticsearch.yml"},
        {"name": "certs", "mountPath": "/usr/share/elasticsearch/config/certs"}],
        readinessProbe={"exec": {"command": ["bash", "-c", PROBE_ON_LOOPBACK]}})
    _create(api, obj, config, secrets=[_tls_secret("es-certs", ["es-probe.images.svc"])])
    pods = wait_for(lambda: [p for p in _pods(api, "es-probe") if p.status.phase == "Running"], timeout=20)
    time.sleep(0.5)
    pod = client.CoreV1Api(api).read_namespaced_pod(pods[0].metadata.name, NS)
    assert not pod.status.container_statuses[0].ready and pod.status.container_statuses[0].state.running
    events = [e for e in client.CoreV1Api(api).list_namespaced_event(NS).items if e.involved_object.name == pod.metadata.name]
    assert [(e.reason, e.type) for e in events] == [("Unhealthy", "Warning")]
    assert events[0].message == ("Readiness probe failed: curl: (60) SSL: no alternative certificate subject name matches target host "
                                 "name '127.0.0.1'")


def test_kibana_717_running_as_non_root_without_a_uid_is_refused_by_the_kubelet(api):
    obj = workload("Deployment", "kibana-717", {"app": "kibana-717"}, replicas=1, image="docker.elastic.co/kibana/kibana:7.17.29")
    obj["spec"]["template"]["spec"]["containers"][0].update(
        name="kibana", securityContext={"runAsNonRoot": True}, resources={"limits": {"memory": "1Gi"}},
        env=[{"name": "ELASTICSEARCH_HOSTS", "value": "http://es:9200"}, {"name": "NODE_OPTIONS", "value": "--max-old-space-size=768"}])
    _create(api, obj)
    pods = wait_for(lambda: [p for p in _pods(api, "kibana-717") if p.status.container_statuses], timeout=20)
    waiting = pods[0].status.container_statuses[0].state.waiting
    assert pods[0].status.phase == "Pending" and waiting.reason == "CreateContainerConfigError"
    assert "container has runAsNonRoot and image has non-numeric user (kibana)" in waiting.message


def test_a_pod_that_keeps_its_images_contracts_runs_ready(api):
    config = {"metadata": {"name": "falco-ok"}, "data": {"50-local.yaml": "json_output: true\n"}}
    mounts = HOST + [{"name": "config", "mountPath": "/etc/falco/config.d/50-local.yaml", "subPath": "50-local.yaml"},
                     {"name": "runtime", "mountPath": "/host/run/containerd", "readOnly": True}]
    _create(api, _falco("falco-ok", mounts, HOST_VOLUMES + [{"name": "config", "configMap": {"name": "falco-ok"}},
                                                            {"name": "runtime", "hostPath": {"path": "/run/containerd"}}]), config)
    apps = client.AppsV1Api(api)
    wait_for(lambda: (apps.read_namespaced_daemon_set("falco-ok", NS).status.number_ready or 0) == 3, timeout=20)


def test_falco_without_the_runtime_socket_sends_alerts_without_pod_names():
    pod = alerts.FalcoPod(node="n1", pod_name="falco-x", namespace="falco", pod_uid="u", container_id="containerd://" + "c" * 64)
    stream = alerts.AlertStream(seed=3)
    whole = stream.alerts([pod], 0, 3600, frozenset({"n1"}))
    blind = stream.alerts([alerts.FalcoPod(**{**pod.__dict__, "degrades": frozenset({"no_pod_metadata"})})], 0, 3600, frozenset({"n1"}))
    assert len(whole) == len(blind) > 100
    assert {d["output_fields"]["k8s.pod.name"] for d in whole} != {None}
    assert {d["output_fields"]["k8s.pod.name"] for d in blind} == {None} and "k8s_pod_name=<NA>" in blind[0]["output"]


def test_falco_with_text_output_sends_no_fields_and_below_its_priority_nothing():
    pod = alerts.FalcoPod(node="n1", pod_name="falco-x", namespace="falco", pod_uid="u", container_id="containerd://" + "c" * 64)
    stream = alerts.AlertStream(seed=3)
    text = stream.alerts([alerts.FalcoPod(**{**pod.__dict__, "degrades": frozenset({"no_fields"})})], 0, 3600, frozenset({"n1"}))
    assert text and all("rule" not in d and d["log"][2] == ":" for d in text)
    loud = stream.alerts([alerts.FalcoPod(**{**pod.__dict__, "minimum_priority": "critical"})], 0, 3600, frozenset({"n1"}))
    assert loud and {d["priority"] for d in loud} == {"Critical"}


def test_the_generators_loop_sets_its_alert_rate_and_rules():
    has = {"container", "network", "root", "writable_root", "CHOWN", "DAC_OVERRIDE", "FOWNER", "NET_RAW", "SETGID", "SETUID"}
    loop = contracts.generator.loop(["run", "--all", "^syscall", "--loop"], has, "notice")
    weights: dict = {}
    for (rule, _priority), count in loop.alerts.items():
        weights[rule] = weights.get(rule, 0) + count
    pod = alerts.FalcoPod(node="n1", pod_name="falco-x", namespace="falco", pod_uid="u", container_id="containerd://" + "c" * 64,
                          minimum_priority="notice")
    stream = alerts.AlertStream(seed=11, background_rate=0)
    hours = 4
    docs = stream.alerts([pod], 0, hours * 3600, frozenset({"n1"}), loops={"n1": alerts.GeneratorLoop(loop.per_hour, weights)})
    # A Poisson count: within five standard deviations of the loop's rate.
    expected = loop.per_hour * hours
    assert abs(len(docs) - expected) < 5 * expected ** 0.5
    assert {d["rule"] for d in docs} == set(weights)
