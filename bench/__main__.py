"""`make bench`: speed and size targets, measured on the local cluster and printed as a table.

Targets are reported, never asserted: a slow machine makes a slow number, not a red build.
Results also go to bench/results/<name>.json (git-ignored).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import ssl
import tempfile
import time
import urllib.request
from typing import Any, Callable

from localcluster import cli, resources

from .site import SITE_RUNS, bench_site

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))


def median_of(runs: int, func: Callable[[], Any]) -> tuple[float, Any]:
    """The median wall time of ``runs`` calls (seconds) and the last call's result."""
    times, result = [], None
    for _attempt in range(runs):
        started = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def bench_start_stop() -> list[dict[str, Any]]:
    """In-process start, and `python -m localcluster up`/`down` as `make cluster-up` runs it."""
    rows = []

    def start_stop():
        server, _endpoints = cli.start(tempfile.mkdtemp(prefix="bench-lc-"), "1.30", "gke")
        cli.stop(server)

    seconds, _result = median_of(RUNS, start_stop)
    rows.append({"name": "local cluster start+stop, in process (3 nodes)", "value": seconds, "unit": "s", "target": "< 2 s"})

    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tests"))

    def up_down():
        directory = tempfile.mkdtemp(prefix="bench-lc-")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "localcluster", "up", "--dir", directory], env=env, check=True, capture_output=True)
        up = time.perf_counter() - started
        with open(os.path.join(directory, "endpoints.json"), encoding="utf-8") as handle:
            pid = json.load(handle)["pid"]
        subprocess.run([sys.executable, "-m", "localcluster", "down", "--dir", directory], env=env, check=True, capture_output=True)
        try:
            os.kill(pid, 0)
            left = 1
        except ProcessLookupError:
            left = 0
        return up, left

    ups, lefts = [], 0
    for _attempt in range(RUNS):
        up, left = up_down()
        ups.append(up)
        lefts += left
    rows.append({"name": "`localcluster up` until it answers (subprocess)", "value": statistics.median(ups), "unit": "s", "target": "< 2 s"})
    rows.append({"name": "processes left after `localcluster down`", "value": lefts, "unit": "", "target": "0"})
    return rows


def bench_large_lists() -> list[dict[str, Any]]:
    """5,000 nodes and 20,000 other objects: a full list must answer within a second."""
    server, endpoints = cli.start(tempfile.mkdtemp(prefix="bench-lc-"), "1.30", "gke:5000")
    try:
        store = server.cluster.store
        key = resources.storage_key("", "configmaps")
        for i in range(20000):
            store.create(key, {"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": f"cm-{i:05d}", "namespace": "default", "labels": {"shard": str(i % 10)}},
                               "data": {"key": "value" * 10}}, False)
        context = ssl.create_default_context(cafile=endpoints["kubernetes"]["ca"])
        token = endpoints["kubernetes"]["admin_token"]

        def raw_list(path: str) -> int:
            request = urllib.request.Request(endpoints["kubernetes"]["url"] + path, headers={"Authorization": "Bearer " + token})
            with urllib.request.urlopen(request, context=context, timeout=60) as answer:
                return len(json.load(answer)["items"])

        rows = []
        seconds, count = median_of(RUNS, lambda: raw_list("/api/v1/nodes"))
        rows.append({"name": f"list all nodes ({count})", "value": seconds, "unit": "s", "target": "< 1 s"})
        seconds, count = median_of(RUNS, lambda: raw_list("/api/v1/configmaps"))
        rows.append({"name": f"list all configmaps ({count})", "value": seconds, "unit": "s", "target": "< 1 s"})
        seconds, count = median_of(RUNS, lambda: raw_list("/api/v1/namespaces/default/configmaps?labelSelector=shard%3D3"))
        rows.append({"name": f"list configmaps by label ({count} of 20000)", "value": seconds, "unit": "s", "target": "< 1 s"})
        seconds, count = median_of(RUNS, lambda: raw_list("/api/v1/nodes?limit=500"))
        rows.append({"name": f"first page of nodes (limit 500: {count})", "value": seconds, "unit": "s", "target": ""})
        return rows
    finally:
        cli.stop(server)


def bench_preflight() -> list[dict[str, Any]]:
    """cluster_preflight's gathering and checks on 3 and 5,000 nodes: wall time and API requests."""
    # pylint: disable=import-outside-toplevel
    from ansible_collections.seclog.falco_efk.plugins.module_utils.k8s import Cluster
    from ansible_collections.seclog.falco_efk.plugins.module_utils.preflight import evaluate
    from ansible_collections.seclog.falco_efk.plugins.modules import cluster_preflight

    rows = []
    for nodes in ("gke", "gke:5000"):
        server, endpoints = cli.start(tempfile.mkdtemp(prefix="bench-lc-"), "1.30", nodes)
        try:
            params = {name: None for name in cluster_preflight.argument_spec()}
            params.update(kubeconfig=endpoints["kubernetes"]["kubeconfig"], namespace="logging", es_replicas=1, es_min_cpu="2",
                          es_min_memory="7.5Gi", es_persistence=True, falco_driver="modern_ebpf", fail_on="never", page_size=500)
            module = type("Module", (), {"params": params})()

            def preflight():
                cluster = Cluster(module)
                _facts, data, _unreadable = cluster_preflight.gather(cluster, params)
                evaluate(data, params)
                return cluster.requests

            seconds, requests = median_of(RUNS, preflight)
            count = len(server.cluster.store.items(resources.storage_key("", "nodes")))
            rows.append({"name": f"cluster_preflight on {count} nodes", "value": seconds, "unit": "s", "target": "< 3 s (5,000 nodes)"})
            rows.append({"name": f"cluster_preflight API requests on {count} nodes", "value": requests, "unit": "",
                         "target": "grows with pages (500 nodes each), not nodes"})
        finally:
            cli.stop(server)
    return rows


def bench_api_version_patch() -> list[dict[str, Any]]:
    """Pure conversion throughput: the runbook's manifests, repeated to 10,000 objects."""
    import copy  # pylint: disable=import-outside-toplevel

    import yaml  # pylint: disable=import-outside-toplevel
    from ansible_collections.seclog.falco_efk.plugins.module_utils import api_versions  # pylint: disable=import-outside-toplevel

    fixtures = os.path.join(ROOT, "tests", "e2e", "fixtures", "runbook")
    sample = []
    for name in sorted(os.listdir(fixtures)):
        with open(os.path.join(fixtures, name), encoding="utf-8") as handle:
            sample.extend(doc for doc in yaml.safe_load_all(handle) if doc)
    objects = []
    while len(objects) < 10000:
        for obj in sample:
            clone = copy.deepcopy(obj)
            clone["metadata"]["name"] = f"{obj['metadata']['name']}-{len(objects)}"
            objects.append(clone)
    objects = objects[:10000]
    rows = []
    for release in ("1.8", "1.30"):
        served = api_versions.served_by_release(release)
        seconds, result = median_of(RUNS, lambda served=served: api_versions.patch(objects, served))
        converted = sum(1 for entry in result["report"] if entry["action"] == "converted")
        rows.append({"name": f"api_version_patch, 10,000 runbook objects for {release} ({converted} converted)",
                     "value": round(len(objects) / seconds), "unit": "obj/s", "target": ">= 20,000 obj/s"})
    return rows


def bench_localcluster_internals() -> list[dict[str, Any]]:
    """What used to be timed in tests: node sets, one reconcile over 10,000 pods, and encoding the largest OpenAPI document."""
    # pylint: disable=import-outside-toplevel
    from localcluster import openapi, openapi_proto, simulation
    from localcluster.tests.test_simulation import Cluster, daemonset

    rows = []
    seconds, _nodes = median_of(RUNS, lambda: simulation.node_set("gke:5000", "1.30"))
    rows.append({"name": "build a set of 5,000 nodes", "value": seconds, "unit": "s", "target": "< 0.5 s"})
    cluster = Cluster(nodes="gke:5000", settings=simulation.SimSettings(ready_delay=0.0))
    cluster.create("daemonsets", daemonset())
    cluster.create("daemonsets", daemonset(name="agent"))
    cluster.settle(limit=200)
    seconds, _actions = median_of(RUNS, lambda: simulation.reconcile(cluster.objects(), cluster.now, cluster.settings))
    rows.append({"name": "reconcile, steady, 5,000 nodes and 10,000 pods", "value": seconds, "unit": "s", "target": "< 0.5 s"})
    document = openapi.openapi_v2("1.15")
    seconds, _encoded = median_of(RUNS, lambda: openapi_proto.openapi_v2_protobuf(document))
    rows.append({"name": "encode the 1.15 OpenAPI v2 document as protobuf", "value": seconds, "unit": "s", "target": "< 0.5 s"})
    return rows


def main() -> int:
    """Run every benchmark, print the table, write the JSON."""
    rows = bench_start_stop() + bench_large_lists() + bench_preflight() + bench_api_version_patch() + bench_localcluster_internals()
    site_rows, notes = bench_site()
    rows += site_rows
    width = max(len(r["name"]) for r in rows)
    print(f"{'benchmark':<{width}}  {'median':>11}  target")
    for row in rows:
        if isinstance(row["value"], float):
            value = f"{row['value']:.{row.get('digits', 3)}f}" + (row["unit"] if row["unit"] == "x" else f" {row['unit']}")
        else:
            value = f"{row['value']:,} {row['unit']}"
        print(f"{row['name']:<{width}}  {value.strip():>11}  {row['target']}")
    out = os.path.join(ROOT, "bench", "results")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "localcluster.json"), "w", encoding="utf-8") as handle:
        json.dump({"runs": RUNS, "site_runs": SITE_RUNS, "time": time.time(), "rows": rows}, handle, indent=2)
    print()
    for note in notes:
        print(note)
    print(f"(medians of {RUNS} runs, {SITE_RUNS} for site.yml and its baseline; written to bench/results/localcluster.json"
          + (" and site.json)" if SITE_RUNS else ")"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
