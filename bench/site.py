"""`make bench`: playbooks/site.yml on the local cluster, side by side with a plain `kubectl apply -f` + HTTP baseline.

Per run (BENCH_SITE_RUNS, default 3), on fresh clusters started as `make demo` starts them (profile 1.30, gke nodes,
stack 8, ready_delay 0.3, alert_speed 1):

1. site.yml converges cluster A (every stage, the event generator on); its requests are counted.
2. What the run created is read back from A: the objects behind every Kubernetes write in the request log (server-set
   fields stripped) and the saved objects from the Kibana emulator.
3. site.yml again on A (idempotence: writes to the API server and to Kibana, both meant to be 0, and the objects
   whose resourceVersion moved), then the Kibana stage alone (Kibana requests, of which writes, and API-server requests).
4. The baseline on a fresh cluster B: one `kubectl apply -f` of the objects read back, `kubectl rollout status` on
   the workloads, then a Kibana login and one `POST .../api/saved_objects/<type>/<id>?overwrite=true` per saved
   object, through the API server's service proxy as the roles reach Kibana.

Timings are reported, never asserted. bench/results/site.json keeps every run's figures and any write found on a re-run.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import os
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Iterator

import yaml

from localcluster import cli
from localcluster.pytest_plugin import LocalCluster

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
SITE_RUNS = int(os.environ.get("BENCH_SITE_RUNS", "3"))
KIBANA_ONLY = ("-e", "falco_efk_stage_prerequisites=false", "-e", "falco_efk_stage_efk=false", "-e", "falco_efk_stage_falco=false")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
MANAGED_BY = "app.kubernetes.io/managed-by=seclog.falco_efk"
# What the API server sets, and what appliers add, rather than what anyone asked for.
SERVER_SET_METADATA = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink")
ADDED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration", "deprecated.daemonset.template.generation")
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")
# The order a person writing one manifest would use (Helm's install order): what others refer to first.
KIND_ORDER = ("Namespace", "PriorityClass", "ServiceAccount", "Secret", "ConfigMap", "ClusterRole", "ClusterRoleBinding", "Role",
              "RoleBinding", "Service", "PodDisruptionBudget", "DaemonSet", "StatefulSet", "Deployment")
SAVED_OBJECT_TYPES = ("index-pattern", "search", "visualization", "dashboard")
KIBANA_NAMESPACE, KIBANA_SERVICE, KIBANA_PORT = "logging", "kibana-logging", 5601
PASSWORD_SECRET = "elasticsearch-logging-elastic"


@contextlib.contextmanager
def fresh_cluster() -> Iterator[LocalCluster]:
    """A cluster as `make demo` starts one (`localcluster up` defaults: ready_delay 0.3, alert_speed 1), with stack 8;
    stopped and its directory removed afterwards."""
    directory = tempfile.mkdtemp(prefix="bench-site-")
    server, endpoints = cli.start(directory, profile="1.30", nodes="gke", stack="8", ready_delay=0.3, alert_speed=1.0)
    try:
        yield LocalCluster(server, endpoints, directory)
    finally:
        cli.stop(server)
        shutil.rmtree(directory, ignore_errors=True)


def site(cluster: LocalCluster, *args: str) -> tuple[float, dict[str, int]]:
    """Run playbooks/site.yml as tests/e2e/conftest.py does; (wall seconds, recap). A failed run stops the benchmark."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    command = [os.path.join(BIN, "ansible-playbook"), os.path.join(ROOT, "playbooks", "site.yml"),
               "-e", f"falco_efk_kubeconfig={cluster.kubeconfig}", "-e", "falco_event_generator=true", *args]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"site.yml {' '.join(args)} failed ({result.returncode}):\n{(result.stdout + result.stderr)[-4000:]}")
    match = re.search(r"localhost\s*:\s*(ok=.*)", result.stdout.split("PLAY RECAP")[-1])
    recap = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))} if match else {}
    return seconds, recap


def api_writes(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Requests that changed the cluster: as LocalCluster.writes (no dry runs, access reviews or service proxy)."""
    return [r for r in log if r["method"] in WRITE_METHODS and not r["dry_run"] and not r["path"].endswith("reviews")
            and "/proxy/" not in r["path"]]


def breakdown(log: list[dict[str, Any]]) -> dict[str, int]:
    """The logged requests by what they were for: discovery, access reviews, service proxy, or verb on objects."""
    def purpose(entry: dict[str, Any]) -> str:
        path = entry["path"]
        if "/proxy/" in path:
            return "service proxy"
        if path.endswith("reviews"):
            return "access reviews"
        if entry["method"] == "GET" and (path == "/version" or path.startswith("/openapi/")
                                         or re.fullmatch(r"/api(/[^/]+)?|/apis(/[^/]+){0,2}", path)):
            return "discovery"
        return entry["method"]
    return dict(collections.Counter(purpose(entry) for entry in log).most_common())


def kibana_requests(cluster: LocalCluster) -> list[dict[str, Any]]:
    """The Kibana emulator's own request log."""
    return list(cluster.cluster.stack.kibana_hooks.requests)


def kibana_writes(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Writes to Kibana's objects, as tests/e2e/test_kibana_dashboards.py counts them: logging in and out, and searches
    (a POST to Kibana's console proxy), are not writes."""
    return [r for r in log if r["method"] in ("POST", "PUT", "DELETE") and "/internal/security/" not in r["path"]
            and "/api/security/" not in r["path"] and r["path"] != "/api/console/proxy"]


def clear_logs(cluster: LocalCluster) -> None:
    """Empty the API server's and Kibana's request logs."""
    cluster.clear_requests()
    cluster.cluster.stack.kibana_hooks.serve("DELETE", "requests", {}, {})


def clean(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as someone would write it: no status, no server-set metadata, no applier annotations, no allocated IPs."""
    obj = json.loads(json.dumps(obj))
    obj.pop("status", None)
    metadata = obj["metadata"]
    for name in SERVER_SET_METADATA:
        metadata.pop(name, None)
    annotations = {k: v for k, v in (metadata.get("annotations") or {}).items() if k not in ADDED_ANNOTATIONS}
    if annotations:
        metadata["annotations"] = annotations
    else:
        metadata.pop("annotations", None)
    spec = obj.get("spec")
    if obj["kind"] == "Service" and isinstance(spec, dict):
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
    if obj["kind"] == "Namespace":
        obj.pop("spec", None)  # finalizers: [kubernetes], set by the server
    for template in (spec or {}).get("volumeClaimTemplates") or ():
        template.pop("status", None)
    return obj


def objects_written(cluster: LocalCluster, log: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str], list[str]]:
    """Every object the logged writes created or changed, cleaned, in the order one manifest would hold them; the
    resourceVersion of each (by its API path); and problems met while reading them back.

    A named write (PUT, PATCH) names its object; a create (POST to a collection) does not, so the collection is listed
    by the roles' label and the objects nobody owns are taken, as many as there were creates (else a problem is said).
    """
    creates = collections.Counter(r["path"] for r in api_writes(log) if r["method"] == "POST" and r["code"] == 201)
    found: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    versions: dict[str, str] = {}
    listed: set[str] = set()
    problems = []
    for entry in api_writes(log):
        if entry["method"] == "DELETE" or entry["code"] >= 300 or entry["path"] in listed:
            continue
        if entry["method"] == "POST":
            code, body, _headers = cluster.http("GET", entry["path"] + "?labelSelector=" + urllib.parse.quote(MANAGED_BY))
            if code != 200:
                problems.append(f"GET {entry['path']}: {code}")
                continue
            api_version, kind = body["apiVersion"], body["kind"][:-len("List")]
            items = [(f"{entry['path']}/{item['metadata']['name']}", dict(item, apiVersion=api_version, kind=kind))
                     for item in body["items"] if not item["metadata"].get("ownerReferences")]
            if len(items) != creates[entry["path"]]:
                problems.append(f"{entry['path']}: {creates[entry['path']]} create(s), {len(items)} labelled object(s) found")
            listed.add(entry["path"])
        else:
            code, item, _headers = cluster.http("GET", entry["path"])
            if code != 200:
                problems.append(f"GET {entry['path']}: {code}")
                continue
            items = [(entry["path"], item)]
        for path, item in items:
            key = (item["apiVersion"], item["kind"], item["metadata"].get("namespace", ""), item["metadata"]["name"])
            if key not in found:
                found[key] = clean(item)
                versions[path] = item["metadata"]["resourceVersion"]
    ordered = sorted(found.values(), key=lambda o: KIND_ORDER.index(o["kind"]) if o["kind"] in KIND_ORDER else len(KIND_ORDER))
    return ordered, versions, problems


def changed_versions(cluster: LocalCluster, versions: dict[str, str]) -> list[str]:
    """The objects (by API path) whose resourceVersion is no longer the one read back: what a write really changed."""
    changed = []
    for path, version in versions.items():
        code, item, _headers = cluster.http("GET", path)
        now = item["metadata"]["resourceVersion"] if code == 200 else f"HTTP {code}"
        if now != version:
            changed.append(f"{path}: resourceVersion {version} -> {now}")
    return changed


def elastic_password(objects: list[dict[str, Any]]) -> str:
    """elastic's password, from the efk stage's Secret among the objects."""
    for obj in objects:
        if obj["kind"] == "Secret" and obj["metadata"]["name"] == PASSWORD_SECRET:
            return base64.b64decode(obj["data"]["password"]).decode()
    raise RuntimeError(f"no Secret {PASSWORD_SECRET} among the objects site.yml wrote")


def saved_objects(cluster: LocalCluster, password: str) -> list[dict[str, Any]]:
    """The Kibana objects of the converged cluster, read from the Kibana emulator over HTTP (its own URL, as elastic)."""
    query = urllib.parse.urlencode([("type", t) for t in SAVED_OBJECT_TYPES] + [("per_page", "1000")])
    request = urllib.request.Request(f"{cluster.endpoints['kibana']['url']}/api/saved_objects/_find?{query}",
                                     headers={"Authorization": "Basic " + base64.b64encode(f"elastic:{password}".encode()).decode()})
    with urllib.request.urlopen(request, timeout=30) as answer:
        found = json.load(answer)["saved_objects"]
    # References first, as a script replaying them would order them.
    found.sort(key=lambda o: (SAVED_OBJECT_TYPES.index(o["type"]), o["id"]))
    return [{"type": o["type"], "id": o["id"], "attributes": o["attributes"], "references": o.get("references", [])} for o in found]


def kubectl(cluster: LocalCluster, *args: str) -> None:
    """The PyPI kubectl against ``cluster`` (its discovery cache under the cluster's own directory, so it starts cold)."""
    # kubectl 1.35+ watches with WatchList (sendInitialEvents=true) and waits for the bookmark that ends the initial
    # events; the local cluster ignores the parameter (a 1.30 kube-apiserver refuses it, and client-go falls back to
    # list and watch), so `rollout status` would wait forever: ask for list and watch from the start.
    env = dict(os.environ, KUBECONFIG=cluster.kubeconfig, HOME=cluster.dir, KUBE_FEATURE_WatchListClient="false")
    result = subprocess.run([os.path.join(BIN, "kubectl"), *args], capture_output=True, text=True, env=env, timeout=600, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def kibana_replay(cluster: LocalCluster, password: str, objects: list[dict[str, Any]]) -> None:
    """Log in to Kibana through the API server's service proxy, then POST each object with overwrite=true."""
    context = ssl.create_default_context(cafile=cluster.endpoints["kubernetes"]["ca"])
    prefix = f"{cluster.url}/api/v1/namespaces/{KIBANA_NAMESPACE}/services/{KIBANA_SERVICE}:{KIBANA_PORT}/proxy"
    headers = {"Authorization": "Bearer " + cluster.endpoints["kubernetes"]["admin_token"], "Content-Type": "application/json",
               "kbn-xsrf": "true"}

    def post(path: str, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        request = urllib.request.Request(prefix + path, data=json.dumps(body).encode(), method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, context=context, timeout=30) as answer:
                return json.load(answer), dict(answer.headers)
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"baseline: POST {path}: {err.code} {err.read()[:500]!r}") from err

    login = {"providerType": "basic", "providerName": "basic", "currentURL": prefix[len(cluster.url):] + "/login",
             "params": {"username": "elastic", "password": password}}
    _body, answer_headers = post("/internal/security/login", login)
    headers["Cookie"] = answer_headers["Set-Cookie"].split(";")[0]
    for obj in objects:
        post(f"/api/saved_objects/{obj['type']}/{obj['id']}?overwrite=true", {"attributes": obj["attributes"], "references": obj["references"]})


def baseline(cluster: LocalCluster, objects: list[dict[str, Any]], saved: list[dict[str, Any]], password: str) -> float:
    """Apply the objects in one `kubectl apply -f`, wait for the workloads' rollouts, replay the Kibana objects; seconds."""
    everything = os.path.join(cluster.dir, "site-objects.yaml")
    workloads = os.path.join(cluster.dir, "site-workloads.yaml")
    with open(everything, "w", encoding="utf-8") as handle:
        yaml.safe_dump_all(objects, handle, sort_keys=False)
    with open(workloads, "w", encoding="utf-8") as handle:
        yaml.safe_dump_all([o for o in objects if o["kind"] in WORKLOADS], handle, sort_keys=False)
    started = time.perf_counter()
    kubectl(cluster, "apply", "-f", everything)
    kubectl(cluster, "rollout", "status", "-f", workloads, "--timeout=120s")
    kibana_replay(cluster, password, saved)
    return time.perf_counter() - started


def generator_rate(cluster: LocalCluster, speed: float = 360.0, seconds: float = 10.0) -> float:
    """Falco alerts an hour on the cluster site.yml left (the event generator on): the alert stream sped up ``speed`` times
    for ``seconds``, the alerts Elasticsearch received counted. The generator's loop (its arguments and privileges,
    tests/contracts/event-generator.yml) sets the rate; the few background alerts of the other pods are included."""
    stack = cluster.cluster.stack
    query = {"exists": {"field": "rule"}}
    stack.config.alert_speed = speed
    try:
        time.sleep(1.0)  # the first sped-up tick delivers
        before, started = stack.es.count("logstash-*", query), time.perf_counter()
        time.sleep(seconds)
        after, elapsed = stack.es.count("logstash-*", query), time.perf_counter() - started
    finally:
        stack.config.alert_speed = 1.0
    return (after - before) / (elapsed * speed / 3600.0)


def one_run() -> dict[str, Any]:
    """site.yml, its re-run and the Kibana stage alone on one fresh cluster, then the baseline on another."""
    run: dict[str, Any] = {}
    with fresh_cluster() as cluster:
        run["site_seconds"], run["site_recap"] = site(cluster)
        log = cluster.requests()
        run["site_requests"] = len(log)
        run["site_proxy_requests"] = sum(1 for r in log if "/proxy/" in r["path"])
        run["site_breakdown"] = breakdown(log)
        run["site_writes"] = len(api_writes(log))
        run["site_kibana_requests"] = len(kibana_requests(cluster))
        objects, versions, run["readback_problems"] = objects_written(cluster, log)
        password = elastic_password(objects)
        saved = saved_objects(cluster, password)
        run["objects"] = [f"{o['kind']} {o['metadata'].get('namespace', '-')}/{o['metadata']['name']}" for o in objects]
        run["saved_objects"] = [f"{o['type']}/{o['id']}" for o in saved]

        clear_logs(cluster)
        run["rerun_seconds"], run["rerun_recap"] = site(cluster)
        log, kibana_log = cluster.requests(), kibana_requests(cluster)
        run["rerun_requests"] = len(log)
        run["rerun_breakdown"] = breakdown(log)
        run["rerun_writes"] = [f"{r['method']} {r['path']} ({r['content_type']}) -> {r['code']}" for r in api_writes(log)]
        run["rerun_kibana_writes"] = [f"{r['method']} {r['path']} -> {r['code']}" for r in kibana_writes(kibana_log)]
        run["rerun_changed_objects"] = changed_versions(cluster, versions)

        clear_logs(cluster)
        run["kibana_stage_seconds"], run["kibana_stage_recap"] = site(cluster, *KIBANA_ONLY)
        log, kibana_log = cluster.requests(), kibana_requests(cluster)
        run["kibana_stage_api_requests"] = len(log)
        run["kibana_stage_kibana_requests"] = len(kibana_log)
        run["kibana_stage_kibana_by_request"] = dict(collections.Counter(f"{r['method']} {r['path']}" for r in kibana_log))
        run["kibana_stage_kibana_writes"] = [f"{r['method']} {r['path']} -> {r['code']}" for r in kibana_writes(kibana_log)]
        run["generator_alerts_per_hour"] = generator_rate(cluster)

    with fresh_cluster() as cluster:
        run["baseline_seconds"] = baseline(cluster, objects, saved, password)
        log = cluster.requests()
        run["baseline_requests"] = len(log)
        run["baseline_proxy_requests"] = sum(1 for r in log if "/proxy/" in r["path"])
        run["baseline_breakdown"] = breakdown(log)
        run["baseline_writes"] = len(api_writes(log))
    return run


def bench_site() -> tuple[list[dict[str, Any]], list[str]]:
    """The rows of the table, and notes to print under it (writes found on a re-run, read-back problems)."""
    runs = []
    for number in range(SITE_RUNS):
        print(f"bench: site.yml vs baseline, run {number + 1} of {SITE_RUNS} (fresh clusters)", file=sys.stderr, flush=True)
        runs.append(one_run())
    if not runs:
        return [], []

    def median(key: str) -> float:
        return statistics.median(len(r[key]) if isinstance(r[key], list) else r[key] for r in runs)

    def worst(key: str) -> int:
        return max(len(r[key]) for r in runs)

    kubernetes, kibana = len(runs[-1]["objects"]), len(runs[-1]["saved_objects"])
    objects = kubernetes + kibana
    site_s, base_s = median("site_seconds"), median("baseline_seconds")

    def per_object(prefix: str) -> tuple[str, float]:
        total, proxied = median(f"{prefix}_requests"), median(f"{prefix}_proxy_requests")
        return f"({total:.0f} = {total - proxied:.0f} + {proxied:.0f} to Kibana via proxy) / {objects}", total / objects

    site_req, base_req = per_object("site"), per_object("baseline")
    rows = [
        {"name": "site.yml converge, fresh cluster (all stages)", "value": site_s, "unit": "s", "digits": 1, "target": ""},
        {"name": "baseline kubectl apply -f + rollout status + HTTP", "value": base_s, "unit": "s", "digits": 1, "target": ""},
        {"name": "ratio site.yml / baseline", "value": site_s / base_s, "unit": "x", "digits": 1, "target": ""},
        {"name": f"site.yml API requests per object {site_req[0]}", "value": site_req[1], "unit": "", "digits": 1, "target": ""},
        {"name": f"baseline API requests per object {base_req[0]}", "value": base_req[1], "unit": "", "digits": 1, "target": ""},
        {"name": "site.yml re-run on the converged cluster", "value": median("rerun_seconds"), "unit": "s", "digits": 1, "target": ""},
        {"name": "re-run / first run", "value": statistics.median(r["rerun_seconds"] / r["site_seconds"] for r in runs), "unit": "x",
         "digits": 2, "target": ""},
        {"name": "re-run: API-server writes (worst run)", "value": worst("rerun_writes"), "unit": "", "target": "0"},
        {"name": "re-run: objects whose resourceVersion changed", "value": worst("rerun_changed_objects"), "unit": "", "target": "0"},
        {"name": "re-run: Kibana writes (worst run)", "value": worst("rerun_kibana_writes"), "unit": "", "target": "0"},
        {"name": "Kibana stage alone, converged dashboard", "value": median("kibana_stage_seconds"), "unit": "s", "digits": 1, "target": ""},
        {"name": "Kibana stage alone: Kibana requests", "value": int(median("kibana_stage_kibana_requests")), "unit": "", "target": ""},
        {"name": "Kibana stage alone: Kibana writes (worst run)", "value": worst("kibana_stage_kibana_writes"), "unit": "",
         "target": "0 (reads only)"},
        {"name": "Kibana stage alone: API-server requests", "value": int(median("kibana_stage_api_requests")), "unit": "", "target": ""},
        {"name": "Falco alerts an hour with the event generator (3 nodes)", "value": median("generator_alerts_per_hour"), "unit": "/h",
         "digits": 0, "target": "runbook: about 2,800"},
    ]
    notes = [f"site.yml vs baseline: {objects} objects = {kubernetes} Kubernetes + {kibana} Kibana saved objects; API requests are "
             "all the API server logged, the service proxy's included (site.yml reaches Kibana through it, and so does the baseline).",
             "The baseline does NOT run the preflight, check the Falco rules, patch apiVersions, generate credentials (it copies "
             "the Secrets), wait for Elasticsearch health, Kibana status or a logstash-* index (only `kubectl rollout status`), "
             "or read Kibana objects before writing them (one login, then a blind POST ...?overwrite=true per object; the "
             "index-pattern through saved_objects, where site.yml uses data_views)."]
    for key in ("site", "baseline", "rerun"):
        notes.append(f"{key} API requests by purpose (run {len(runs)}): "
                     + ", ".join(f"{purpose} {count}" for purpose, count in runs[-1][f"{key}_breakdown"].items()))
    for key in ("rerun_writes", "rerun_changed_objects", "rerun_kibana_writes", "kibana_stage_kibana_writes", "readback_problems"):
        # The same list in every run is said once.
        seen: dict[tuple[str, ...], list[int]] = {}
        for number, run in enumerate(runs, 1):
            if run[key]:
                seen.setdefault(tuple(run[key]), []).append(number)
        for lines, numbers in seen.items():
            notes.append(f"{key} (run {', '.join(map(str, numbers))} of {len(runs)}):")
            notes.extend("  " + line for line in lines)
    out = os.path.join(ROOT, "bench", "results")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "site.json"), "w", encoding="utf-8") as handle:
        json.dump({"runs": runs, "time": time.time(), "rows": rows}, handle, indent=2)
    return rows, notes
