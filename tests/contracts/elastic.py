"""Elasticsearch and Kibana, checked against elasticsearch.yml, kibana.yml and kibana-settings.yml."""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from typing import Any, Iterable

import yaml

from .core import Context, Violation, fact, load, parse_curl, probe_command, version_tuple

ES, KIBANA = "elasticsearch", "kibana"
_DOTTED_ENV = re.compile(r"^[-a-z0-9_]+(\.[-a-z0-9_]+)+$")
_LOOPBACK = ("127.0.0.1", "::1", "localhost", "_local_")


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested YAML settings as dotted keys (elasticsearch.yml may nest or not)."""
    if not isinstance(value, dict):
        return {prefix: value} if prefix else {}
    out: dict[str, Any] = {}
    for key, item in value.items():
        out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _true(value: Any) -> bool:
    return str(value).lower() == "true"


def runs_elasticsearch(container: dict) -> bool:
    """Whether the container runs the server (init containers of the image run sysctl or a script instead)."""
    command = container.get("command") or []
    return not command or command[0] in ("eswrapper", "elasticsearch", "/usr/share/elasticsearch/bin/elasticsearch")


def certificate_names(pem: str) -> tuple[set[str], set[str]]:
    """The DNS and IP subject alternative names of the first certificate in ``pem``."""
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    cert = x509.load_pem_x509_certificate(pem.encode())
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    return set(sans.get_values_for_type(x509.DNSName)), {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}


def certificate_matches(pem: str, host: str) -> bool:
    dns, ips = certificate_names(pem)
    try:
        return str(ipaddress.ip_address(host)) in ips
    except ValueError:
        return any(fnmatch.fnmatchcase(host, name) if name.startswith("*.") else host == name for name in dns)


class ElasticsearchCheck:
    """The facts of one Elasticsearch server container (other containers of the image are skipped)."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        data = load(ES)
        self.env = ctx.pod.env(ctx.container)
        self.files = ctx.pod.files(ctx.container, {})
        config = data["config_dir"] + "/elasticsearch.yml"
        mounted = self.files.yaml(config)
        self.settings = dict(data["image_config"])
        self.settings.update(flatten(mounted) if isinstance(mounted, dict) else {})
        dropped = self._drops_dotted_env()
        for name, value in self.env.items():
            if value and _DOTTED_ENV.match(name) and not dropped:
                self.settings[name] = value
            elif value and name.startswith("ES_SETTING_"):
                self.settings[name[len("ES_SETTING_"):].replace("__", "\0").replace("_", ".").replace("\0", "_").lower()] = value
        self.security = _true(self.settings.get("xpack.security.enabled", ctx.version >= (8,)))
        host = str(self.settings.get("network.host", ""))
        self.production = (host not in _LOOPBACK) and self.settings.get("discovery.type") != "single-node"

    def _drops_dotted_env(self) -> bool:
        item = fact(ES, "dotted_env")
        return version_tuple(str(item["from"])) <= self.ctx.version < version_tuple(str(item["fixed"]))

    def violations(self) -> Iterable[Violation]:
        if not runs_elasticsearch(self.ctx.container):
            return
        for name in load(ES)["facts"]:
            yield from getattr(self, name)()

    def user(self):
        user = self.ctx.pod.security(self.ctx.container).get("runAsUser")
        if user not in (None, load(ES)["image_user"]):
            yield self.ctx.violation("user")

    def config_writable(self):
        config = load(ES)["config_dir"]
        for mount in self.ctx.container.get("volumeMounts") or ():
            point = mount.get("mountPath", "").rstrip("/")
            if not mount.get("subPath") and (config == point or config.startswith(point + "/")) and point not in ("", "/usr", "/usr/share"):
                yield self.ctx.violation("config_writable")

    def data_volume(self):
        mount = self.files.mount_for(load(ES)["data_dir"])
        if mount is None:
            return
        volume = self.ctx.pod.volume(mount.get("name", ""))
        writable = (volume is not None and "emptyDir" in volume) or (self.ctx.pod.spec.get("securityContext") or {}).get("fsGroup") == 1000
        if mount.get("readOnly") or not writable:
            yield self.ctx.violation("data_volume")

    def security_explicit(self):
        if self.ctx.version >= (8,) and "xpack.security.enabled" not in self.settings:
            yield self.ctx.violation("security_explicit")

    def transport_tls(self):
        if self.security and self.production and not _true(self.settings.get("xpack.security.transport.ssl.enabled")):
            yield self.ctx.violation("transport_tls")

    def max_map_count(self):
        if not self.production or str(self.settings.get("node.store.allow_mmap", "true")).lower() == "false" \
                or self.ctx.node.max_map_count >= int(fact(ES, "max_map_count")["minimum"]):
            return
        minimum = int(fact(ES, "max_map_count")["minimum"])
        for init in self.ctx.pod.containers(init=True):
            words = [str(w) for w in (init.get("command") or []) + (init.get("args") or [])]
            values = [int(m.group(1)) for w in words for m in [re.search(r"vm\.max_map_count=(\d+)", w)] if m]
            root = self.ctx.pod.security(init).get("runAsUser") in (0, None) and not self.ctx.pod.security(init).get("runAsNonRoot")
            if "sysctl" in " ".join(words) and values and max(values) >= minimum and self.ctx.pod.privileged(init) and root:
                return
        yield self.ctx.violation("max_map_count")

    def discovery(self):
        keys = ("discovery.seed_hosts", "discovery.seed_providers", "cluster.initial_master_nodes")
        if self.production and not any(self.settings.get(k) for k in keys):
            yield self.ctx.violation("discovery")

    def heap(self):
        item = fact(ES, "heap")
        options = self.env.get("ES_JAVA_OPTS", "")
        sizes = {flag: _mib(value) for flag, value in re.findall(r"-(Xms|Xmx)(\d+[kKmMgG]?)", options)}
        if "Xms" in sizes and "Xmx" in sizes and sizes["Xms"] != sizes["Xmx"] and self.production:
            yield self.ctx.violation("heap", item["says_unequal"], xms=sizes["Xms"], xmx=sizes["Xmx"])
        limit = self.ctx.pod.memory_limit_mib(self.ctx.container)
        heap = sizes.get("Xmx")
        if heap is not None and limit is not None and heap > limit - int(item["headroom_mib"]):
            yield self.ctx.violation("heap", item["says_oom"], heap=heap, limit=limit)

    def dotted_env(self):
        if self._drops_dotted_env() and any(_DOTTED_ENV.match(name) for name in self.env):
            yield self.ctx.violation("dotted_env")

    def password_file(self):
        if self.env.get("ELASTIC_PASSWORD_FILE"):
            yield self.ctx.violation("password_file", path=self.env["ELASTIC_PASSWORD_FILE"])

    def tls_files(self):
        config = load(ES)["config_dir"]
        for layer in ("http", "transport"):
            if not _true(self.settings.get(f"xpack.security.{layer}.ssl.enabled")):
                continue
            for key in ("key", "certificate", "certificate_authorities"):
                setting = f"xpack.security.{layer}.ssl.{key}"
                values = self.settings.get(setting) or []
                for path in values if isinstance(values, list) else [values]:
                    full = path if str(path).startswith("/") else f"{config}/{path}"
                    if self.files.lookup(full) is None:
                        yield self.ctx.violation("tls_files", setting=setting, path=full)

    def _probe(self):
        return parse_curl(probe_command(self.ctx.container.get("readinessProbe")))

    def probe_certificate(self):
        curl = self._probe()
        if curl is None or not curl.https or curl.insecure:
            return
        certificate = self.settings.get("xpack.security.http.ssl.certificate")
        pem = self.files.text(str(certificate) if str(certificate).startswith("/") else f"{load(ES)['config_dir']}/{certificate}")
        if pem and not certificate_matches(pem, curl.host):
            yield self.ctx.violation("probe_certificate", host=curl.host)

    def probe_credentials(self):
        curl = self._probe()
        if curl is None or not self.security or curl.user:
            return
        if not self.settings.get("xpack.security.authc.anonymous.roles"):
            yield self.ctx.violation("probe_credentials")


def _mib(value: str) -> int:
    number, unit = int(re.match(r"\d+", value).group(0)), value[-1].lower()
    return number * 1024 if unit == "g" else number // 1024 if unit == "k" else number if unit == "m" else number // 2 ** 20


# Variables the image or Node read that are not Kibana settings.
_NOT_SETTINGS = {"NODE_OPTIONS", "ELASTIC_CONTAINER", "PATH", "HOME", "HOSTNAME", "TZ", "LANG", "NODE_EXTRA_CA_CERTS"}


class KibanaCheck:
    """The facts of one Kibana container."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.env = ctx.pod.env(ctx.container)
        self.files = ctx.pod.files(ctx.container, {})
        versions = yaml.safe_load(open(__file__.rsplit("/", 1)[0] + "/kibana-settings.yml", encoding="utf-8"))
        line = "8" if ctx.version >= (8,) else "7"
        known = next(v for k, v in sorted(versions.items(), reverse=True) if k.startswith(line))
        self.settings = {s.upper().replace(".", "_"): s for s in known}

    def violations(self) -> Iterable[Violation]:
        for name in load(KIBANA)["facts"]:
            yield from getattr(self, name)()

    def numeric_user(self):
        security = self.ctx.pod.security(self.ctx.container)
        if self.ctx.version < (8,) and security.get("runAsNonRoot") and security.get("runAsUser") is None:
            yield self.ctx.violation("numeric_user")

    def env_names(self):
        for name in self.env:
            if name not in self.settings and name not in _NOT_SETTINGS and re.match(r"^[A-Z][A-Z0-9_]*$", name):
                yield self.ctx.violation("env_names", f"{name} is not a setting the image applies: it is ignored")

    def elasticsearch_hosts(self):
        if not self.env.get("ELASTICSEARCH_HOSTS"):
            yield self.ctx.violation("elasticsearch_hosts")

    def superuser(self):
        if self.ctx.version >= (8,) and self.env.get("ELASTICSEARCH_USERNAME") == "elastic":
            yield self.ctx.violation("superuser")

    def base_path(self):
        path = self.env.get("SERVER_BASEPATH", "")
        if path and not re.match(r"^/.*[^/]$", path):
            yield self.ctx.violation("base_path")

    def encryption_key(self):
        key = self.env.get("XPACK_ENCRYPTEDSAVEDOBJECTS_ENCRYPTIONKEY")
        if key is not None and len(key) < int(fact(KIBANA, "encryption_key")["minimum"]):
            yield self.ctx.violation("encryption_key", length=len(key))

    def heap(self):
        limit = self.ctx.pod.memory_limit_mib(self.ctx.container)
        match = re.search(r"--max-old-space-size=(\d+)", self.env.get("NODE_OPTIONS", ""))
        if limit is not None and (match is None or int(match.group(1)) > limit - int(fact(KIBANA, "heap")["headroom_mib"])):
            yield self.ctx.violation("heap", limit=limit)

    def _probe_path(self) -> str | None:
        probe = self.ctx.container.get("readinessProbe") or {}
        return (probe.get("httpGet") or {}).get("path")

    def probe_anonymous(self):
        path = self._probe_path()
        anonymous_since = version_tuple(str(fact(KIBANA, "probe_anonymous")["anonymous_since"]))
        secured = bool(self.env.get("ELASTICSEARCH_USERNAME") or self.env.get("ELASTICSEARCH_SERVICEACCOUNTTOKEN"))
        if path and "/api/status" in path and secured and self.ctx.version < anonymous_since \
                and self.env.get("STATUS_ALLOWANONYMOUS", "").lower() != "true":
            yield self.ctx.violation("probe_anonymous")

    def probe_path(self):
        path, base = self._probe_path(), self.env.get("SERVER_BASEPATH", "")
        if not path or not base:
            return
        rewrite = self.env.get("SERVER_REWRITEBASEPATH", "").lower() == "true"
        if rewrite != path.startswith(base + "/"):
            yield self.ctx.violation("probe_path")

    def certificate_authorities(self):
        if not any(h.strip().startswith("https://") for h in self.env.get("ELASTICSEARCH_HOSTS", "").split(",")):
            return
        if self.env.get("ELASTICSEARCH_SSL_VERIFICATIONMODE") == "none":
            return
        path = self.env.get("ELASTICSEARCH_SSL_CERTIFICATEAUTHORITIES", "")
        if not path or self.files.lookup(path) is None:
            yield self.ctx.violation("certificate_authorities")


CHECKS = {ES: ElasticsearchCheck, KIBANA: KibanaCheck}
