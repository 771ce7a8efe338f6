"""Falco and its driver loader, checked against falco.yml and falco-driver-loader.yml."""

from __future__ import annotations

from typing import Any, Iterable

from .core import Context, Files, Violation, contract_for, fact, load, version_tuple

FALCO, LOADER = "falco", "falco-driver-loader"
CONFIG_D = "/etc/falco/config.d"


def _args(ctx: Context) -> list[str]:
    return [str(a) for a in (ctx.container.get("command") or []) + (ctx.container.get("args") or [])]


def _loader(ctx: Context) -> Obj | None:
    """The pod's driver-loader init container, if any."""
    for container in ctx.pod.containers(init=True):
        if contract_for(container.get("image", ""))[0] == LOADER:
            return container
    return None


Obj = dict[str, Any]


def loader_driver(container: Obj) -> str:
    """The driver the loader is asked for (its first argument; auto when none)."""
    args = [str(a) for a in container.get("args") or [] if not str(a).startswith("-")]
    return args[0] if args else "auto"


def loader_choice(driver: str, kernel: str, cos: bool) -> str:
    """The engine falcoctl picks: auto prefers modern_ebpf where the kernel has it, else kmod."""
    if driver != "auto":
        return driver
    minimum = version_tuple(str(fact(FALCO, "kernel")["modern_ebpf_minimum"]))
    return "modern_ebpf" if version_tuple(kernel)[:2] >= minimum[:2] else "kmod"


def loader_writes(ctx: Context) -> dict[str, dict[str, str]]:
    """What the loader leaves in the emptyDir it mounts at /etc/falco/config.d: falcoctl's engine-kind file."""
    loader = _loader(ctx)
    if loader is None:
        return {}
    env = ctx.pod.env(loader, load(LOADER).get("image_env"))
    if env.get(fact(LOADER, "engine_choice")["disable_env"], "true").lower() == "false":
        return {}
    mount = next((m for m in loader.get("volumeMounts") or () if m.get("mountPath", "").rstrip("/") == CONFIG_D), None)
    if mount is None:
        return {}
    name = fact(LOADER, "engine_choice")["file"].rsplit("/", 1)[1]
    kind = loader_choice(loader_driver(loader), ctx.node.kernel, ctx.node.cos)
    key = "/".join(p for p in (mount.get("subPath", ""), name) if p)
    return {mount["name"]: {key: f"engine:\n  kind: {kind}\n"}}


def effective_config(files: Files, main: str) -> tuple[dict, list[str]]:
    """Falco's configuration after config_files are merged (yaml_helper.h's strategies), and the files it read."""
    config = dict(files.yaml(main) or {})
    read = [main]
    for entry in config.get("config_files") or []:
        path, strategy = (entry, "append") if isinstance(entry, str) else (entry.get("path", ""), entry.get("strategy", "append"))
        names = files.listdir(path)
        paths = [path.rstrip("/") + "/" + n for n in names] if names or files.lookup(path) else [path]
        for item in sorted(paths):
            loaded = files.yaml(item)
            if not isinstance(loaded, dict):
                continue
            read.append(item)
            for key, value in loaded.items():
                if strategy == "append" and isinstance(value, list) and isinstance(config.get(key), list):
                    config[key] = list(config[key]) + list(value)
                elif strategy == "add-only":
                    config.setdefault(key, value)
                else:
                    config[key] = value
    return config, read


class FalcoCheck:
    """The facts of one Falco container."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        data = load(FALCO)
        self.env = ctx.pod.env(ctx.container, data.get("image_env"))
        self.host_root = self.env.get("HOST_ROOT", "")
        self.files = ctx.pod.files(ctx.container, data["image_files"], loader_writes(ctx))
        args = _args(ctx)
        main = args[args.index("-c") + 1] if "-c" in args[:-1] else data["config_file"]
        self.config, self.read = effective_config(self.files, main)
        engine = self.config.get("engine") if isinstance(self.config.get("engine"), dict) else {}
        self.engine = str(engine.get("kind", "kmod"))

    def violations(self) -> Iterable[Violation]:
        for name in load(FALCO)["facts"]:
            yield from getattr(self, name)()

    def command(self):
        words = _args(self.ctx)
        first = words[0] if words else load(FALCO)["image_cmd"][0]
        if first.lstrip("/").split("/")[-1] != "falco" or (first.startswith("/") and first not in load(FALCO)["image_files"]):
            yield self.ctx.violation("command", first=first)

    def _loaded_plugins(self) -> list[str]:
        if "load_plugins" not in self.config:
            return [p.get("name") for p in self.config.get("plugins") or []]
        return [str(p) for p in self.config.get("load_plugins") or []]

    def plugin_required(self):
        loaded = set(self._loaded_plugins())
        for path in self.config.get("rules_files") or []:
            found = self.files.lookup(str(path))
            needs = (found[1] or {}).get("requires_plugins", {}) if found and found[0] == "image" else {}
            for name in needs:
                if name not in loaded:
                    yield self.ctx.violation("plugin_required")
                    return

    def plugin_registered_once(self):
        seen: set[str] = set()
        for name in self._loaded_plugins():
            if name in seen:
                yield self.ctx.violation("plugin_registered_once", name=name)
                return
            seen.add(name)

    def plugin_configured(self):
        configured = {p.get("name") for p in self.config.get("plugins") or [] if isinstance(p, dict)}
        for name in self._loaded_plugins():
            if name not in configured:
                yield self.ctx.violation("plugin_configured", name=name)

    def engine_kind(self):
        if self.engine not in fact(FALCO, "engine_kind")["kinds"]:
            yield self.ctx.violation("engine_kind", kind=self.engine)

    def driver_privileges(self):
        pod, container, item = self.ctx.pod, self.ctx.container, fact(FALCO, "driver_privileges")
        if self.engine == "modern_ebpf" and not pod.privileged(container):
            missing = sorted(set(item["modern_ebpf_capabilities"]) - pod.capabilities_added(container))
            if missing:
                yield self.ctx.violation("driver_privileges", item["says_modern_ebpf"], missing=", ".join(missing))
        if self.engine == "kmod":
            device = self.host_root + item["kmod_device"]
            found = self.files.lookup(device)
            if not pod.privileged(container) or not found or found[0] != "host" or found[1] != item["kmod_device"]:
                yield self.ctx.violation("driver_privileges", item["says_kmod"], device=device)

    def kernel(self):
        minimum = version_tuple(str(fact(FALCO, "kernel")["modern_ebpf_minimum"]))
        if self.engine == "modern_ebpf" and version_tuple(self.ctx.node.kernel)[:2] < minimum[:2]:
            yield self.ctx.violation("kernel", kernel=self.ctx.node.kernel)

    def host_proc(self):
        path = self.host_root + "/proc"
        found = self.files.lookup(path)
        if not found or found[0] != "host" or found[1] != "/proc":
            yield self.ctx.violation("host_proc", path=path)

    def driver_loaded(self):
        if self.engine != "kmod":
            return
        loader = _loader(self.ctx)
        if loader is None or loader_choice(loader_driver(loader), self.ctx.node.kernel, self.ctx.node.cos) != "kmod":
            yield self.ctx.violation("driver_loaded", device=self.host_root + fact(FALCO, "driver_privileges")["kmod_device"])

    def rules_files(self):
        for path in self.config.get("rules_files") or []:
            path = str(path)
            if path.endswith((".yaml", ".yml")) and self.files.lookup(path) is None:
                yield self.ctx.violation("rules_files", path=path)

    def healthz(self):
        probe = self.ctx.container.get("readinessProbe")
        if not probe or "httpGet" not in probe:
            return
        web = self.config.get("webserver") or {}
        port = self.ctx.pod.port_number(self.ctx.container, probe["httpGet"].get("port"))
        path = probe["httpGet"].get("path", "/")
        if not web.get("enabled", False) or port != int(web.get("listen_port", 8765)) or path != web.get("k8s_healthz_endpoint", "/healthz"):
            yield self.ctx.violation("healthz", ip="10.0.0.1", port=port, path=path)

    def json_output(self):
        config = self.config
        stdout = config.get("stdout_output") or {}
        if not (config.get("json_output") is True and stdout.get("enabled", False)
                and config.get("json_include_output_property", True) and config.get("json_include_tags_property", True)
                and config.get("json_include_output_fields_property", True)):
            yield self.ctx.violation("json_output")

    def unbuffered(self):
        flag = any(a in ("-U", "--unbuffered") for a in _args(self.ctx))
        honoured = self.ctx.version >= (0, 44)
        if not flag and (not honoured or self.config.get("buffered_outputs", False)):
            yield self.ctx.violation("unbuffered")

    def runtime_socket(self):
        sockets = fact(FALCO, "runtime_socket")["sockets"].get(self.ctx.node.runtime) or []
        socket = self.ctx.node.socket or (sockets[0] if sockets else "")
        if socket and (socket not in sockets or not _same_host_path(self._host_path(socket), socket)):
            yield self.ctx.violation("runtime_socket")

    def _host_path(self, socket: str) -> str | None:
        found = self.files.lookup(self.host_root + socket)
        return found[1] if found and found[0] == "host" else None

    def apparmor(self):
        pod, container = self.ctx.pod, self.ctx.container
        if pod.privileged(container) or not self.ctx.node.apparmor:
            return
        item = fact(FALCO, "apparmor")
        annotation = item["annotation"].format(container=container.get("name", ""))
        field_ok = ((pod.security(container).get("appArmorProfile") or {}).get("type") == "Unconfined"
                    and tuple(self.ctx.pod.cluster.kubernetes[:2]) >= version_tuple(item["field_since"])[:2])
        if not field_ok and pod.annotations.get(annotation) != "unconfined":
            yield self.ctx.violation("apparmor")

    def tracefs(self):
        loader = _loader(self.ctx)
        wants = self.engine == "modern_ebpf" or (loader is not None and loader_driver(loader) == "auto")
        found = self.files.lookup("/sys/kernel")
        if wants and not (found and found[0] == "host" and found[1] == "/sys/kernel"):
            yield self.ctx.violation("tracefs")

    def hostname(self):
        if self.env.get("FALCO_HOSTNAME") != "$(spec.nodeName)":
            yield self.ctx.violation("hostname")


def _same_host_path(found: str | None, wanted: str) -> bool:
    def norm(path: str) -> str:
        return "/run/" + path[len("/var/run/"):] if path.startswith("/var/run/") else path
    return found is not None and norm(found) == norm(wanted)


class LoaderCheck:
    """The facts of one falco-driver-loader init container."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.driver = loader_driver(ctx.container)
        self.picked = loader_choice(self.driver, ctx.node.kernel, ctx.node.cos) if self.driver in ("auto", "kmod", "modern_ebpf") else ""
        self.files = ctx.pod.files(ctx.container, {})

    def violations(self) -> Iterable[Violation]:
        for name in load(LOADER)["facts"]:
            yield from getattr(self, name)()

    def driver_argument(self):
        if self.driver not in fact(LOADER, "driver_argument")["drivers"]:
            yield self.ctx.violation("driver_argument", arg=self.driver)

    def privileged(self):
        if self.picked == "kmod" and not self.ctx.pod.privileged(self.ctx.container):
            yield self.ctx.violation("privileged")

    def kernel_module(self):
        if self.picked == "kmod" and self.ctx.node.cos:
            yield self.ctx.violation("kernel_module")

    def host_mounts(self):
        if self.picked != "kmod":
            return
        for path in fact(LOADER, "host_mounts")["mounts"]:
            found = self.files.lookup(path)
            if found is None or (path.startswith("/host/") and (found[0] != "host" or found[1] != path[len("/host"):])):
                yield self.ctx.violation("host_mounts", path=path)
                return

    def engine_choice(self):
        if self.driver != "auto":
            return
        falco = next((c for c in self.ctx.pod.containers() if contract_for(c.get("image", ""))[0] == FALCO), None)
        env = self.ctx.pod.env(self.ctx.container, load(LOADER).get("image_env"))
        mine = next((m for m in self.ctx.container.get("volumeMounts") or () if m.get("mountPath", "").rstrip("/") == CONFIG_D), None)
        theirs = next((m for m in (falco or {}).get("volumeMounts") or () if m.get("mountPath", "").rstrip("/") == CONFIG_D), None)
        shared = mine and theirs and mine.get("name") == theirs.get("name") and "emptyDir" in (self.ctx.pod.volume(mine["name"]) or {})
        if not shared or env.get(fact(LOADER, "engine_choice")["disable_env"], "").lower() == "false":
            yield self.ctx.violation("engine_choice")


CHECKS = {FALCO: FalcoCheck, LOADER: LoaderCheck}
