"""``python -m localcluster up|down|serve``: start the local cluster in the background, stop it.

``up`` writes, under ``--dir`` (default ``.localcluster``):
  kubeconfig             the admin user (group system:masters)
  kubeconfig-restricted  a user with no bindings
  endpoints.json         URLs, tokens, CA path and profile, for tests and the demo
  ca.crt, server.crt/key the cluster's own CA and serving certificate
  server.pid, server.log the background process
"""

from __future__ import annotations

import argparse
import base64
import datetime
import ipaddress
import json
import os
import secrets
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any

from . import resources
from .server import ApiServer, Cluster


def make_certificates(directory: str) -> tuple[str, str, str]:
    """A CA and a serving certificate for 127.0.0.1/localhost; returns (ca, cert, key) paths."""
    # pylint: disable=import-outside-toplevel
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localcluster-ca")])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                            encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.DNSName("kubernetes"),
                                                        x509.DNSName("kubernetes.default.svc"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    os.makedirs(directory, exist_ok=True)
    paths = tuple(os.path.join(directory, n) for n in ("ca.crt", "server.crt", "server.key"))
    with open(paths[0], "wb") as handle:
        handle.write(ca_cert.public_bytes(serialization.Encoding.PEM))
    with open(paths[1], "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(os.open(paths[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths  # type: ignore[return-value]


def kubeconfig(url: str, ca_path: str, user: str, token: str) -> dict[str, Any]:
    """A kubeconfig with one cluster, one user and one context named ``localcluster``."""
    with open(ca_path, "rb") as handle:
        ca_data = base64.b64encode(handle.read()).decode()
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": "localcluster", "cluster": {"server": url, "certificate-authority-data": ca_data}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "localcluster", "context": {"cluster": "localcluster", "user": user, "namespace": "default"}}],
        "current-context": "localcluster",
    }


def write_files(directory: str, server: ApiServer, ca_path: str) -> dict[str, Any]:
    """kubeconfigs and endpoints.json for a running server."""
    cluster = server.cluster
    admin, restricted = cluster.token_for("admin"), cluster.token_for("restricted")
    for name, user, token in (("kubeconfig", "admin", admin), ("kubeconfig-restricted", "restricted", restricted)):
        path = os.path.join(directory, name)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
            json.dump(kubeconfig(server.url, ca_path, user, token), handle, indent=2)
    endpoints = {
        "profile": cluster.profile,
        "version": resources.version_body(cluster.profile)["gitVersion"],
        "kubernetes": {"url": server.url, "ca": ca_path, "admin_token": admin, "restricted_token": restricted,
                       "kubeconfig": os.path.join(directory, "kubeconfig"),
                       "kubeconfig_restricted": os.path.join(directory, "kubeconfig-restricted"),
                       "hooks": server.url + "/_localcluster"},
        "pid": os.getpid(),
    }
    if cluster.stack is not None:
        endpoints.update(cluster.stack.endpoints())
    path = os.path.join(directory, "endpoints.json")
    with open(os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        json.dump(endpoints, handle, indent=2)
    os.replace(path + ".tmp", path)
    return endpoints


def start(directory: str, profile: str = "1.30", nodes: str = "gke", port: int = 0, ready_delay: float = 0.3,
          stack: str | None = None, alert_speed: float = 1.0) -> tuple[ApiServer, dict]:
    """Start a cluster in this process (threads), with the logging stack when ``stack`` is "8" or "7.17";
    returns the server and its endpoints."""
    directory = os.path.abspath(directory)
    ca_path, cert, key = make_certificates(directory)
    cluster = Cluster(profile=profile, nodes=nodes, ready_delay=ready_delay)
    server = ApiServer(cluster, ("127.0.0.1", port), cert, key)
    if stack:
        from .stack import Stack, StackConfig  # pylint: disable=import-outside-toplevel
        logging_stack = Stack(cluster, StackConfig(profile=stack, elastic_password=secrets.token_urlsafe(12), alert_speed=alert_speed))
        logging_stack.serve_ingress(cert, key, ca_path)
        logging_stack.start()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="localcluster-http", daemon=True).start()
    cluster.start_simulation()
    return server, write_files(directory, server, ca_path)


def stop(server: ApiServer) -> None:
    """Stop an in-process cluster and its stack."""
    server.cluster.stop()
    if server.cluster.stack is not None:
        server.cluster.stack.stop()
    server.shutdown()
    server.server_close()


def _serve(args: argparse.Namespace) -> int:
    server, _unused = start(args.dir, args.profile, args.nodes, args.port, args.ready_delay,
                            stack=None if args.stack == "none" else args.stack, alert_speed=args.alert_speed)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_args: done.set())
    signal.signal(signal.SIGINT, lambda *_args: done.set())
    done.wait()
    stop(server)
    return 0


def _pid(directory: str) -> int | None:
    try:
        with open(os.path.join(directory, "server.pid"), encoding="utf-8") as handle:
            pid = int(handle.read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _up(args: argparse.Namespace) -> int:
    directory = os.path.abspath(args.dir)
    if _pid(directory):
        print(f"localcluster: already running (pid {_pid(directory)}); `make cluster-down` first to change its profile or nodes")
        return 0
    os.makedirs(directory, exist_ok=True)
    endpoints_path = os.path.join(directory, "endpoints.json")
    if os.path.exists(endpoints_path):
        os.remove(endpoints_path)
    cmd = [sys.executable, "-m", "localcluster", "serve", "--dir", directory, "--profile", args.profile, "--nodes", args.nodes,
           "--ready-delay", str(args.ready_delay), "--stack", args.stack, "--alert-speed", str(args.alert_speed)]
    with open(os.path.join(directory, "server.log"), "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,  # pylint: disable=consider-using-with
                                start_new_session=True, env=dict(os.environ))
    with open(os.path.join(directory, "server.pid"), "w", encoding="utf-8") as handle:
        handle.write(str(proc.pid))
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            with open(os.path.join(directory, "server.log"), encoding="utf-8", errors="replace") as handle:
                print(handle.read()[-3000:], file=sys.stderr)
            print("localcluster: the server exited while starting (its log is above)", file=sys.stderr)
            return 1
        if os.path.exists(endpoints_path) and _ready(endpoints_path):
            with open(endpoints_path, encoding="utf-8") as handle:
                endpoints = json.load(handle)
            print(f"localcluster: Kubernetes {endpoints['version']} at {endpoints['kubernetes']['url']} (nodes: {args.nodes})")
            if "elasticsearch" in endpoints:
                print(f"localcluster: Elasticsearch {endpoints['elasticsearch']['version']} at {endpoints['elasticsearch']['url']}, "
                      f"Kibana {endpoints['kibana']['version']} at {endpoints['kibana']['url']} (credentials in endpoints.json)")
            print(f"localcluster: export KUBECONFIG={endpoints['kubernetes']['kubeconfig']}")
            return 0
        time.sleep(0.05)
    print("localcluster: did not answer within 30 s; see " + os.path.join(directory, "server.log"), file=sys.stderr)
    return 1


def _ready(endpoints_path: str) -> bool:
    try:
        with open(endpoints_path, encoding="utf-8") as handle:
            endpoints = json.load(handle)
        context = ssl.create_default_context(cafile=endpoints["kubernetes"]["ca"])
        # /healthz is served by every profile (/readyz only from 1.16).
        request = urllib.request.Request(endpoints["kubernetes"]["url"] + "/healthz",
                                         headers={"Authorization": "Bearer " + endpoints["kubernetes"]["admin_token"]})
        with urllib.request.urlopen(request, context=context, timeout=2) as answer:
            return answer.status == 200
    except (OSError, ValueError, KeyError):
        return False


def _down(args: argparse.Namespace) -> int:
    directory = os.path.abspath(args.dir)
    pid = _pid(directory)
    if pid is None:
        print("localcluster: not running")
        return 0
    os.killpg(pid, signal.SIGTERM)
    deadline = time.time() + 10
    while time.time() < deadline and _pid(directory):
        time.sleep(0.05)
    if _pid(directory):
        os.killpg(pid, signal.SIGKILL)
    os.remove(os.path.join(directory, "server.pid"))
    print(f"localcluster: stopped (pid {pid})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m localcluster``."""
    parser = argparse.ArgumentParser(prog="localcluster", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "serve"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--dir", default=".localcluster")
        cmd.add_argument("--profile", default="1.30", choices=list(resources.PROFILES))
        cmd.add_argument("--nodes", default="gke")
        cmd.add_argument("--stack", default="8", choices=["8", "7.17", "none"], help="Elasticsearch/Kibana profile, or none")
        cmd.add_argument("--alert-speed", type=float, default=1.0, help="multiplies the simulated Falco alert rate (a test clock)")
        cmd.add_argument("--port", type=int, default=0)
        cmd.add_argument("--ready-delay", type=float, default=0.3)
    down = sub.add_parser("down")
    down.add_argument("--dir", default=".localcluster")
    args = parser.parse_args(argv)
    return {"up": _up, "serve": _serve, "down": _down}[args.command](args)
