"""The machinery every image's checks share: contracts as data, a pod as a kubelet would run it.

A check never guesses what an image does: it reads the fact from the image's contract (``<image>.yml``
beside this file) and looks at the pod template the way the kubelet and the container would see it:
environment variables resolved from Secrets and ConfigMaps, files through the container's mounts
(a volume over a directory hides the image's files), capabilities, probes.
"""

from __future__ import annotations

import base64
import functools
import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import yaml

Obj = dict[str, Any]
HERE = os.path.dirname(os.path.abspath(__file__))

EFFECTS = ("refused", "crash", "unready", "degraded", "warning")
"""What a broken fact does: the kubelet refuses the container, it exits, it never passes its readiness probe,
it runs but its output is wrong (``degrades`` says how), or it only logs a warning."""

# Images by repository path (the registry is left out): the contract that describes them.
CONTRACTS = {
    "falcosecurity/falco": "falco",
    "falcosecurity/falco-driver-loader": "falco-driver-loader",
    "falcosecurity/event-generator": "event-generator",
    "elasticsearch/elasticsearch": "elasticsearch",
    "kibana/kibana": "kibana",
    "fluent/fluentd-kubernetes-daemonset": "fluentd",
}


@functools.lru_cache(maxsize=None)
def load(name: str) -> Obj:
    """The contract ``name`` (``falco``, ``elasticsearch``, ...) as data."""
    with open(os.path.join(HERE, name + ".yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def fact(contract: str, name: str) -> Obj:
    """One fact of a contract; a KeyError names both when the code asks for a fact the data lacks."""
    try:
        return load(contract)["facts"][name]
    except KeyError as err:
        raise KeyError(f"contract {contract} has no fact {name}") from err


@dataclass(frozen=True)
class Violation:
    """A fact of an image's contract that a container breaks."""

    image: str
    container: str
    fact: str
    effect: str
    message: str
    degrades: str = ""
    sources: tuple = ()

    def __str__(self) -> str:
        return f"{self.image} [{self.fact}] container {self.container}: {self.message}"


@dataclass(frozen=True)
class Node:
    """What the facts need of a node: its container runtime, kernel and OS."""

    name: str = "node"
    runtime: str = "containerd"  # containerd, cri-o or docker
    kernel: str = "6.1.0"
    cos: bool = False
    apparmor: bool = True
    socket: str = ""  # where the runtime listens, when not its usual place (k3s)
    max_map_count: int = 65530

    @staticmethod
    def from_object(node: Obj) -> "Node":
        """A Node object as the API server returns it."""
        info = (node.get("status") or {}).get("nodeInfo") or {}
        runtime = (info.get("containerRuntimeVersion") or "containerd://").split("://", 1)[0]
        labels = (node.get("metadata") or {}).get("labels") or {}
        conditions = (node.get("status") or {}).get("conditions") or ()
        ready_message = next((c.get("message", "") for c in conditions if c.get("type") == "Ready"), "")
        version = info.get("containerRuntimeVersion") or ""
        return Node(name=(node.get("metadata") or {}).get("name", ""), runtime=runtime, kernel=info.get("kernelVersion", ""),
                    socket="/run/k3s/containerd/containerd.sock" if "k3s" in version else "",
                    cos=labels.get("cloud.google.com/gke-os-distribution") == "cos" or "Container-Optimized" in info.get("osImage", ""),
                    apparmor="AppArmor enabled" in ready_message or not ready_message)


@dataclass
class Cluster:
    """What a pod's checks may look up beyond the pod: the server's version, ConfigMaps and Secrets (decoded), and the
    Elasticsearch major the stack runs (for Fluentd's client)."""

    kubernetes: tuple = (1, 37)
    configmaps: Mapping[tuple, Mapping[str, str]] = field(default_factory=dict)
    secrets: Mapping[tuple, Mapping[str, str]] = field(default_factory=dict)
    elasticsearch_major: int | None = None

    @staticmethod
    def from_objects(objects: Iterable[Obj], kubernetes: tuple = (1, 37), elasticsearch_major: int | None = None) -> "Cluster":
        """From a list of API objects (the ConfigMaps and Secrets among them are indexed; Secret data is decoded)."""
        configmaps: dict = {}
        secrets: dict = {}
        for obj in objects:
            meta = obj.get("metadata") or {}
            key = (meta.get("namespace", ""), meta.get("name", ""))
            if obj.get("kind") == "ConfigMap":
                configmaps[key] = dict(obj.get("data") or {})
            elif obj.get("kind") == "Secret":
                data = {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in (obj.get("data") or {}).items()}
                data.update(obj.get("stringData") or {})
                secrets[key] = data
        return Cluster(kubernetes=kubernetes, configmaps=configmaps, secrets=secrets, elasticsearch_major=elasticsearch_major)


# --------------------------------------------------------------------------------------------- versions and images

def version_tuple(text: str) -> tuple:
    """``"0.44.1"`` -> (0, 44, 1); ``"v1.19.3-debian-elasticsearch8-1.1"`` -> (1, 19, 3); unknown -> ()."""
    match = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    return tuple(int(p or 0) for p in match.groups()) if match else ()


def split_image(image: str) -> tuple[str, str]:
    """``docker.io/falcosecurity/falco:0.44.1`` -> ("falcosecurity/falco", "0.44.1"); a digest gives tag ""."""
    name = image.split("@", 1)[0]
    tag = ""
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if len(parts) == 1:
        parts = ["library"] + parts
    return "/".join(parts), tag


def contract_for(image: str) -> tuple[str | None, str]:
    """The contract name for an image reference, and its tag."""
    repository, tag = split_image(image)
    return CONTRACTS.get(repository), tag


# --------------------------------------------------------------------------------------------- the pod as it runs

class Pod:
    """A pod template (or pod) with the lookups a kubelet makes."""

    def __init__(self, pod: Obj, namespace: str, cluster: Cluster):
        self.obj = pod
        self.meta = pod.get("metadata") or {}
        self.spec = pod.get("spec") or {}
        self.namespace = namespace
        self.cluster = cluster

    @property
    def annotations(self) -> Mapping[str, str]:
        return self.meta.get("annotations") or {}

    def containers(self, init: bool = False) -> list[Obj]:
        return list(self.spec.get("initContainers" if init else "containers") or ())

    def volume(self, name: str) -> Obj | None:
        return next((v for v in self.spec.get("volumes") or () if v.get("name") == name), None)

    def configmap(self, name: str) -> Mapping[str, str] | None:
        return self.cluster.configmaps.get((self.namespace, name))

    def secret(self, name: str) -> Mapping[str, str] | None:
        return self.cluster.secrets.get((self.namespace, name))

    def env(self, container: Obj, image_env: Mapping[str, str] | None = None) -> dict[str, str]:
        """The container's environment: the image's, then the pod's (values, Secret and ConfigMap keys, field refs)."""
        values = dict(image_env or {})
        for item in container.get("env") or ():
            name = item.get("name")
            if "value" in item:
                values[name] = "" if item["value"] is None else str(item["value"])
                continue
            source = item.get("valueFrom") or {}
            if "secretKeyRef" in source:
                data = self.secret(source["secretKeyRef"].get("name", "")) or {}
                if source["secretKeyRef"].get("key") in data:
                    values[name] = data[source["secretKeyRef"]["key"]]
            elif "configMapKeyRef" in source:
                data = self.configmap(source["configMapKeyRef"].get("name", "")) or {}
                if source["configMapKeyRef"].get("key") in data:
                    values[name] = data[source["configMapKeyRef"]["key"]]
            elif "fieldRef" in source:
                values[name] = "$(" + source["fieldRef"].get("fieldPath", "") + ")"
        return values

    def security(self, container: Obj) -> Obj:
        """The container's effective securityContext fields (the pod's runAsUser/runAsNonRoot/... as defaults)."""
        pod_level = self.spec.get("securityContext") or {}
        merged = {k: pod_level[k] for k in ("runAsUser", "runAsGroup", "runAsNonRoot", "seccompProfile", "appArmorProfile")
                  if k in pod_level}
        merged.update(container.get("securityContext") or {})
        return merged

    def privileged(self, container: Obj) -> bool:
        return bool(self.security(container).get("privileged"))

    def capabilities_added(self, container: Obj) -> set[str]:
        caps = (self.security(container).get("capabilities") or {})
        return {str(c).upper().removeprefix("CAP_") for c in caps.get("add") or ()}

    def capabilities_dropped(self, container: Obj) -> set[str]:
        caps = (self.security(container).get("capabilities") or {})
        return {str(c).upper().removeprefix("CAP_") for c in caps.get("drop") or ()}

    def has_capability(self, container: Obj, cap: str, runtime_default: Iterable[str] = ()) -> bool:
        """Whether the process gets ``cap``: privileged, added, or a runtime default that was not dropped."""
        if self.privileged(container) or cap in self.capabilities_added(container):
            return True
        dropped = self.capabilities_dropped(container)
        return cap in set(runtime_default) and "ALL" not in dropped and cap not in dropped

    def memory_limit_mib(self, container: Obj) -> int | None:
        limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
        return None if limit is None else quantity_mib(limit)

    def port_number(self, container: Obj, port: Any) -> int | None:
        """A probe's port: a number, or the name of one of the container's ports."""
        if isinstance(port, int) or str(port).isdigit():
            return int(port)
        for item in container.get("ports") or ():
            if item.get("name") == port:
                return int(item.get("containerPort"))
        return None

    def files(self, container: Obj, image_files: Mapping[str, Any], writes: Mapping[str, Mapping[str, str]] | None = None) -> "Files":
        """The container's filesystem as the process sees it."""
        return Files(self, container, image_files, writes or {})


_QUANTITY = re.compile(r"^([0-9.]+)([KMGTPE]i?|[kmgtpe]|)$")
_FACTORS = {"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40}


def quantity_mib(value: Any) -> int:
    """A memory quantity in MiB (rounded down)."""
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise ValueError(f"{value!r} is not a memory quantity")
    return int(float(match.group(1)) * _FACTORS[match.group(2)] // 2 ** 20)


class Files:
    """Paths in a container: mounts hide what the image has below them; subPath mounts add one file.

    ``lookup(path)`` answers ``("image", data)`` for a file the image ships (its contract's ``image_files`` entry),
    ``("text", str)`` for a ConfigMap or Secret key, ``("host", host_path, read_only)`` below a hostPath volume,
    ``("empty", volume, read_only)`` below an emptyDir (``writes`` says what an init container put there), or None.
    """

    def __init__(self, pod: Pod, container: Obj, image_files: Mapping[str, Any], writes: Mapping[str, Mapping[str, str]]):
        self.pod = pod
        self.image_files = image_files
        self.writes = writes
        self.mounts = sorted(container.get("volumeMounts") or (), key=lambda m: len(m.get("mountPath", "")))

    def mount_for(self, path: str) -> Obj | None:
        """The mount that serves ``path`` (the deepest mount point at or above it)."""
        found = None
        for mount in self.mounts:
            point = mount.get("mountPath", "").rstrip("/") or "/"
            if path == point or path.startswith(point.rstrip("/") + "/"):
                found = mount
        return found

    def lookup(self, path: str) -> tuple | None:
        mount = self.mount_for(path)
        if mount is None:
            return ("image", self.image_files[path]) if path in self.image_files else None
        point = mount["mountPath"].rstrip("/")
        rest = path[len(point):].lstrip("/")
        volume = self.pod.volume(mount.get("name", "")) or {}
        read_only = bool(mount.get("readOnly"))
        sub = mount.get("subPath", "")
        if "hostPath" in volume:
            host = volume["hostPath"].get("path", "").rstrip("/") or "/"
            host = "/".join(p for p in (host, sub, rest) if p)
            return ("host", host if host.startswith("/") else "/" + host, read_only)
        if "emptyDir" in volume:
            key = "/".join(p for p in (sub, rest) if p)
            written = self.writes.get(mount["name"], {})
            if key in written:
                return ("text", written[key])
            return ("empty", mount["name"], read_only) if not key else None
        data = self._keys(volume)
        if data is None:
            return None
        key = "/".join(p for p in (sub, rest) if p)
        if not key:
            return ("dir", sorted(data))
        return ("text", data[key]) if key in data else None

    def _keys(self, volume: Obj) -> dict[str, str] | None:
        for kind, lookup, name_key in (("configMap", self.pod.configmap, "name"), ("secret", self.pod.secret, "secretName")):
            if kind in volume:
                data = lookup(volume[kind].get(name_key, ""))
                if data is None:
                    return None
                items = volume[kind].get("items")
                if items:
                    return {i.get("path"): data[i.get("key")] for i in items if i.get("key") in data}
                return dict(data)
        return None

    def listdir(self, path: str) -> list[str]:
        """Names directly below ``path``: the mounted volume's, or the image's when nothing is mounted over it."""
        path = path.rstrip("/")
        names: set[str] = set()
        own = self.mount_for(path)
        if own is None:
            names.update(p[len(path) + 1:].split("/", 1)[0] for p in self.image_files if p.startswith(path + "/"))
        else:
            found = self.lookup(path)
            if found and found[0] == "dir":
                names.update(found[1])
            elif found and found[0] == "empty":
                names.update(k.split("/", 1)[0] for k in self.writes.get(found[1], {}))
        for mount in self.mounts:
            point = mount.get("mountPath", "").rstrip("/")
            if point.startswith(path + "/") and "/" not in point[len(path) + 1:]:
                names.add(point[len(path) + 1:])
        return sorted(names)

    def yaml(self, path: str) -> Any:
        """A YAML file's content (the image's, as its contract abridges it, or a mounted one); None when absent."""
        found = self.lookup(path)
        if found is None:
            return None
        if found[0] == "image":
            return (found[1] or {}).get("yaml", {})
        if found[0] == "text":
            return yaml.safe_load(found[1]) or {}
        return None

    def text(self, path: str) -> str | None:
        found = self.lookup(path)
        return found[1] if found and found[0] == "text" else None


# --------------------------------------------------------------------------------------------- probes

def probe_command(probe: Obj | None) -> list[str]:
    """The words of an exec probe; a ``bash -c`` script is split like a shell would (one command per line)."""
    command = ((probe or {}).get("exec") or {}).get("command") or []
    if len(command) >= 3 and command[0] in ("bash", "sh", "/bin/bash", "/bin/sh") and command[1] in ("-c", "-ec", "-ce"):
        try:
            return shlex.split(command[2].replace("\n", " ; "))
        except ValueError:
            return command[2].split()
    return list(command)


@dataclass(frozen=True)
class Curl:
    """What a curl command line in a probe asks: the URL, and how it treats the server's certificate."""

    url: str
    insecure: bool
    cacert: str | None
    resolve: dict
    user: str | None

    @property
    def host(self) -> str:
        return re.sub(r"^[a-z]+://", "", self.url).split("/", 1)[0].rsplit(":", 1)[0].strip("[]")

    @property
    def https(self) -> bool:
        return self.url.startswith("https://")

    def connects_to(self) -> str:
        """The address curl connects to (after --resolve)."""
        return self.resolve.get(self.host, self.host)


def parse_curl(words: list[str]) -> Curl | None:
    """The first curl invocation in a probe's words."""
    if "curl" not in words:
        return None
    args = words[words.index("curl") + 1:]
    url, insecure, cacert, user, resolve = "", False, None, None, {}
    index = 0
    while index < len(args):
        word = args[index]
        if word in (";", "&&", "||", "|"):
            break
        if word in ("-k", "--insecure"):
            insecure = True
        elif word == "--cacert":
            index += 1
            cacert = args[index]
        elif word == "--resolve":
            index += 1
            host, _port, address = (args[index].split(":", 2) + ["", ""])[:3]
            resolve[host] = address
        elif word in ("-u", "--user"):
            index += 1
            user = args[index]
        elif word in ("-o", "--output", "-w", "--write-out", "-X", "--request", "-H", "--header", "--max-time", "-m"):
            index += 1
        elif word.startswith(("http://", "https://")):
            url = word
        elif re.match(r"^-[a-zA-Z]+$", word) and "k" in word and not word.startswith("--"):
            insecure = True
        index += 1
    return Curl(url=url, insecure=insecure, cacert=cacert, resolve=resolve, user=user) if url else None


def fmt(template: str, **values: Any) -> str:
    """A fact's message with its placeholders filled (unknown placeholders are left as they are)."""
    class Keep(dict):
        def __missing__(self, key):
            return "{" + key + "}"
    return template.format_map(Keep(values))


Check = Callable[["Context"], Iterable[Violation]]


@dataclass
class Context:
    """One container of one pod, on one node, against its image's contract."""

    pod: Pod
    container: Obj
    contract: str
    tag: str
    node: Node
    init: bool = False

    @property
    def data(self) -> Obj:
        return load(self.contract)

    @property
    def version(self) -> tuple:
        """The image's version from its tag; a digest or odd tag means the newest version the contract was checked at."""
        found = version_tuple(self.tag)
        return found or version_tuple(str(self.data["checked"][-1]))

    def violation(self, fact_name: str, message: str | None = None, **values: Any) -> Violation:
        """A violation of fact ``fact_name``, its message filled from the fact's ``says`` (or ``what``)."""
        item = fact(self.contract, fact_name)
        text = fmt(message if message is not None else item.get("says") or item["what"], **values)
        sources = tuple(load(self.contract)["sources"].get(s, s) for s in item.get("sources", ()))
        return Violation(image=self.data["image"], container=self.container.get("name", ""), fact=fact_name, effect=item["effect"],
                         message=text, degrades=item.get("degrades", ""), sources=sources)
