"""Fluentd, checked against fluentd.yml and the fluent.conf the pod mounts."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Iterable

from .core import Context, Violation, load

FLUENTD = "fluentd"


@dataclass
class Directive:
    """One ``<name arg>`` section of a fluent.conf: its parameters and nested sections."""

    name: str
    arg: str = ""
    params: dict = field(default_factory=dict)
    children: list = field(default_factory=list)

    def walk(self, parents: tuple = ()) -> Iterable[tuple["Directive", tuple]]:
        """Every section below this one, with the sections it sits in."""
        for child in self.children:
            yield child, parents + (self,)
            yield from child.walk(parents + (self,))

    def find(self, name: str) -> list["Directive"]:
        return [child for child in self.children if child.name == name]


def parse(text: str) -> Directive:
    """fluent.conf (v1 syntax) as a tree; comments and blank lines dropped, values kept as written (quotes removed)."""
    root = Directive("root")
    stack = [root]
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("</"):
            if len(stack) > 1:
                stack.pop()
            continue
        opening = re.match(r"^<([^\s>]+)\s*([^>]*)>$", line)
        if opening:
            section = Directive(opening.group(1), opening.group(2).strip())
            stack[-1].children.append(section)
            stack.append(section)
            continue
        key, _sep, value = line.partition(" ")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        stack[-1].params[key] = value
    return root


def resolve(value: str, env: dict) -> str:
    """Embedded Ruby of the form "#{ENV['X']}" (or ENV.fetch), as Fluentd evaluates it with the container's environment."""
    return re.sub(r"#\{ENV(?:\['([^']+)'\]|\.fetch\('([^']+)'[^)]*\))\}", lambda m: env.get(m.group(1) or m.group(2), ""), value)


def tag_matches(pattern: str, tag: str) -> bool:
    """Fluentd's match pattern semantics: * one tag part, ** any parts, {a,b} alternatives, several patterns by spaces."""
    for one in pattern.split():
        expanded = [one]
        while any("{" in p for p in expanded):
            nxt = []
            for item in expanded:
                match = re.search(r"\{([^{}]*)\}", item)
                if not match:
                    nxt.append(item)
                    continue
                nxt.extend(item[:match.start()] + alt + item[match.end():] for alt in match.group(1).split(","))
            expanded = nxt
        for item in expanded:
            regex = re.escape(item).replace(r"\.\*\*", r"(\..*)?").replace(r"\*\*\\.", r"(.*\.)?").replace(r"\*\*", ".*").replace(r"\*", r"[^.]*")
            if re.fullmatch(regex, tag):
                return True
    return False


def example_tags(pattern: str) -> list[str]:
    """One tag each space-separated pattern matches (wildcards as "x", the first alternative of each {a,b})."""
    return [re.sub(r"\{([^,}]*)[^}]*\}", r"\1", one).replace("**", "x").replace("*", "x") for one in pattern.split()]


def dedot_filters(conf) -> list:
    """fluent.conf's dedot filters that rename anything (de_dot not false, a separator without "." (else a ConfigError))."""
    return [d for d, _p in conf.walk() if d.name == "filter" and d.params.get("@type") == "dedot"
            and d.params.get("de_dot", "true") != "false" and "." not in d.params.get("de_dot_separator", "_")]


def container_tag(pod: str, namespace: str, container: str) -> str:
    """The tag in_tail gives a container's log file with ``tag kubernetes.*``."""
    return f"kubernetes.var.log.containers.{pod}_{namespace}_{container}-{'0' * 64}.log"


_KIND = {"source": "input", "match": "output", "filter": "filter", "parse": "parser", "buffer": "buffer", "store": "output"}


class FluentdCheck:
    """The facts of one Fluentd container."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        data = load(FLUENTD)
        self.env = ctx.pod.env(ctx.container, data.get("image_env"))
        self.files = ctx.pod.files(ctx.container, {f"{data['config_dir']}/{name}": {} for name in data["image_files"]})
        self.path = f"{data['config_dir']}/{self.env.get('FLUENTD_CONF', 'fluent.conf')}"
        text = self.files.text(self.path)
        self.conf = parse(text) if text is not None else None
        self.outputs = [d for d, _p in (self.conf.walk() if self.conf else ()) if d.name == "match" and d.params.get("@type") == "elasticsearch"]

    def violations(self) -> Iterable[Violation]:
        for name in load(FLUENTD)["facts"]:
            if self.conf is None and name != "config_file" and name not in ("entrypoint", "log_volume", "node_name",
                                                                            "service_account_token", "client_matches_server"):
                continue
            yield from getattr(self, name)()

    def _param(self, directive: Directive, key: str, default: str = "") -> str:
        return resolve(directive.params.get(key, default), self.env)

    def entrypoint(self):
        if self.ctx.container.get("command"):
            yield self.ctx.violation("entrypoint")

    def config_file(self):
        if self.conf is None:
            yield self.ctx.violation("config_file")
            return
        for directive, _parents in self.conf.walk():
            if directive.name == "@include":
                yield self.ctx.violation("config_file", f"{self.path} includes {directive.arg}, which the mounted volume hides")
        for key in self.conf.params:
            if key == "@include":
                yield self.ctx.violation("config_file", f"{self.path} includes {self.conf.params[key]}, which the mounted volume hides")

    def plugin_types(self):
        types = load(FLUENTD)["types"]
        for directive, _parents in self.conf.walk():
            kind = _KIND.get(directive.name)
            plugin = directive.params.get("@type")
            if kind and plugin and plugin not in types[kind]:
                yield self.ctx.violation("plugin_types", kind=kind, type=plugin)

    def client_matches_server(self):
        major = self.ctx.pod.cluster.elasticsearch_major
        match = re.search(r"elasticsearch(\d+)", self.ctx.tag)
        if major is not None and match and int(match.group(1)) != major:
            yield self.ctx.violation("client_matches_server", client=match.group(1) + ".x")

    def own_logs(self):
        if not any(d.name == "label" and d.arg == "@FLUENT_LOG" and d.find("match") for d in self.conf.children):
            yield self.ctx.violation("own_logs")

    def error_label(self):
        if not any(d.name == "label" and d.arg == "@ERROR" and d.find("match") for d in self.conf.children):
            yield self.ctx.violation("error_label")

    def sniffer(self):
        for out in self.outputs:
            reloads = self._param(out, "reload_connections", "true") == "true" or self._param(out, "reload_on_failure", "false") == "true"
            if reloads and self._param(out, "sniffer_class_name") != "Fluent::Plugin::ElasticsearchSimpleSniffer":
                yield self.ctx.violation("sniffer")

    def own_tail_excluded(self):
        owner = self.ctx.pod.meta.get("generateName", "").rstrip("-") or self.ctx.pod.meta.get("name", "fluentd")
        own = f"/var/log/containers/{owner}-abcde_{self.ctx.pod.namespace}_{self.ctx.container.get('name', '')}-{'0' * 64}.log"
        for directive, _parents in self.conf.walk():
            if directive.name == "source" and directive.params.get("@type") == "tail":
                paths = [p.strip() for p in self._param(directive, "path").split(",")]
                if not any(fnmatch.fnmatchcase(own, p) for p in paths):
                    continue
                excluded = [p.strip().strip('"') for p in self._param(directive, "exclude_path").strip("[]").split(",") if p.strip()]
                if not any(fnmatch.fnmatchcase(own, p) for p in excluded):
                    yield self.ctx.violation("own_tail_excluded")

    def _json_parsers(self) -> list[Directive]:
        return [d for d, _p in self.conf.walk() if d.name == "filter" and d.params.get("@type") == "parser"
                and any(p.params.get("@type") == "json" for p in d.find("parse"))]

    def json_lifted_for_falco_only(self):
        other = container_tag("shop-7d9f8b6c5d-x2x9k", "default", "shop")
        for directive in self._json_parsers():
            if tag_matches(directive.arg or "**", other) and not directive.params.get("hash_value_field"):
                yield self.ctx.violation("json_lifted_for_falco_only")

    def falco_fields_dedotted(self):
        dedotted = [d.arg for d in dedot_filters(self.conf) if d.params.get("de_dot_nested") == "true"]
        for parser in self._json_parsers():
            for tag in example_tags(parser.arg or "**"):
                if not any(tag_matches(other, tag) for other in dedotted):
                    yield self.ctx.violation("falco_fields_dedotted")
                    return

    def falco_time(self):
        for directive in self._json_parsers():
            parse_section = [p for p in directive.find("parse") if p.params.get("@type") == "json"][0]
            time_key = parse_section.params.get("time_key", "time")
            if time_key != "time":
                continue
            kept = parse_section.params.get("keep_time_key") == "true" and directive.params.get("reserve_time") == "true"
            iso = parse_section.params.get("time_type") == "string" and parse_section.params.get("time_format") == "%iso8601"
            if not (kept and iso):
                yield self.ctx.violation("falco_time")

    def log_volume(self):
        found = self.files.lookup("/var/log/fluentd-containers.log.pos")
        if not found or found[0] != "host" or found[2]:
            yield self.ctx.violation("log_volume")

    def node_name(self):
        if self.env.get("K8S_NODE_NAME") != "$(spec.nodeName)":
            yield self.ctx.violation("node_name")

    def service_account_token(self):
        if self.ctx.pod.spec.get("automountServiceAccountToken") is False:
            yield self.ctx.violation("service_account_token")

    def tls_trust(self):
        for out in self.outputs:
            if self._param(out, "scheme", "http") != "https" or self._param(out, "ssl_verify", "true") == "false":
                continue
            ca_file = self._param(out, "ca_file")
            if not ca_file or self.files.lookup(ca_file) is None:
                yield self.ctx.violation("tls_trust")

    def credentials(self):
        for out in self.outputs:
            if self._param(out, "user") and not self._param(out, "password"):
                yield self.ctx.violation("credentials")


CHECKS = {FLUENTD: FluentdCheck}
