"""`make demo`: the whole sequence on the local cluster, then a summary of what it did.

Starts the local cluster, runs playbooks/site.yml then playbooks/verify.yml against it with the
real modules, prints the playbook output and what the cluster saw (requests, writes, objects),
writes the variables it used to .localcluster/demo-vars.yml so the converge can be repeated by
hand, and stops the cluster unless --keep 1.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import ssl
import subprocess
import sys
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def localcluster(*args: str) -> None:
    """Run ``python -m localcluster`` and stop the demo if it fails."""
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tests"))
    result = subprocess.run([sys.executable, "-m", "localcluster", *args], env=env, check=False)
    if result.returncode != 0:
        sys.exit(f"demo: `localcluster {' '.join(args)}` failed (exit {result.returncode})")


def hook(endpoints: dict, what: str) -> dict:
    """Read one of the local cluster's test hooks as the admin."""
    context = ssl.create_default_context(cafile=endpoints["kubernetes"]["ca"])
    request = urllib.request.Request(endpoints["kubernetes"]["hooks"] + "/" + what,
                                     headers={"Authorization": "Bearer " + endpoints["kubernetes"]["admin_token"]})
    with urllib.request.urlopen(request, context=context, timeout=10) as answer:
        return json.load(answer)


def playbook(name: str, vars_file: str) -> int:
    """Run one of the collection's playbooks against the local cluster, streaming its output."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    print(f"\n=== ansible-playbook playbooks/{name}.yml -e @{os.path.relpath(vars_file, ROOT)}", flush=True)
    return subprocess.run([os.path.join(BIN, "ansible-playbook"), os.path.join(ROOT, "playbooks", f"{name}.yml"), "-e", "@" + vars_file],
                          env=env, cwd=ROOT, check=False).returncode


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", default=os.path.join(ROOT, ".localcluster"))
    parser.add_argument("--profile", default="1.30")
    parser.add_argument("--nodes", default="gke")
    parser.add_argument("--stack", default="8")
    parser.add_argument("--keep", default="0")
    args = parser.parse_args()
    directory = os.path.abspath(args.dir)

    localcluster("up", "--dir", directory, "--profile", args.profile, "--nodes", args.nodes, "--stack", args.stack)
    failed = 0
    try:
        with open(os.path.join(directory, "endpoints.json"), encoding="utf-8") as handle:
            endpoints = json.load(handle)
        vars_file = os.path.join(directory, "demo-vars.yml")
        with open(vars_file, "w", encoding="utf-8") as handle:
            handle.write("---\n# Written by `make demo`: ansible-playbook playbooks/site.yml -e @.localcluster/demo-vars.yml\n")
            handle.write(f"falco_efk_kubeconfig: {endpoints['kubernetes']['kubeconfig']}\n")
            handle.write("# the runbook's alert source, so verify sees alerts arrive\nfalco_event_generator: true\n")
        for name in ("site", "verify"):
            failed = playbook(name, vars_file)
            if failed:
                break
        log = hook(endpoints, "requests")["requests"]
        writes = [r for r in log if r["method"] in ("POST", "PUT", "PATCH", "DELETE") and not r["path"].endswith("reviews")]
        by_verb = collections.Counter("access review" if r["path"].endswith("reviews") else r["verb"] or r["method"].lower() for r in log)
        print("\n=== What the demo did")
        print(f"cluster:  Kubernetes {endpoints['version']} (profile {endpoints['profile']}, nodes '{args.nodes}') at "
              f"{endpoints['kubernetes']['url']}")
        print(f"requests: {len(log)} to the API ({', '.join(f'{v} {n}' for v, n in sorted(by_verb.items()))}); writes: {len(writes)}")
        for entry in writes:
            print(f"  wrote:  {entry['method']} {entry['path']} -> {entry['code']}")
        if "elasticsearch" in endpoints:
            print(f"stack:    Elasticsearch {endpoints['elasticsearch']['version']} at {endpoints['elasticsearch']['url']}, "
                  f"Kibana {endpoints['kibana']['version']} at {endpoints['kibana']['url']}")
            print(f"kibana:   {endpoints['kubernetes']['url']}/api/v1/namespaces/logging/services/kibana-logging/proxy/ "
                  "(through the API server, as in the runbook; user elastic, password: kubectl -n logging get secret "
                  "elasticsearch-logging-elastic -o jsonpath='{.data.password}' | base64 -d)")
            print(f"dashboard: {endpoints['kubernetes']['url']}/api/v1/namespaces/logging/services/kibana-logging/proxy/app/dashboards#/view/"
                  "seclog-falco-dashboard")
        print(f"repeat:   ansible-playbook playbooks/site.yml -e @{os.path.relpath(vars_file, ROOT)}"
              + ("" if args.keep == "1" else "   (after `make cluster-up`, or run `make demo KEEP=1`)"))
        print("result:   " + ("FAILED: see the playbook output above" if failed else "site and verify passed"))
    finally:
        if args.keep != "1":
            localcluster("down", "--dir", directory)
        else:
            print(f"kept:     the local cluster is still up; KUBECONFIG={os.path.join(directory, 'kubeconfig')}; `make cluster-down` stops it")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
