# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kibana for this collection's modules: the ``kibana_*`` connection options (documented once in the
``seclog.falco_efk.kibana`` doc fragment), a client built from them, and pure helpers that read
``GET /api/status`` answers of Kibana 6.x, 7.x and 8.x.

Kibana 8 reports ``status.overall.level`` (available, degraded, unavailable, critical); Kibana 6.x and 7.x
(7.17 included, unless asked for ``?v8format=true``) report the legacy ``status.overall.state`` (green,
yellow, red; 6.x also uninitialized). Both map onto one scale, best first: available, degraded,
unavailable, critical. Anonymous callers of a Kibana with security on get only the overall level.

Through the API server's service proxy Kibana never sees an Authorization header, so kibana_username and
kibana_password log in to Kibana's basic provider instead, as its login form does (``KibanaSession``): lazily, when
Kibana first answers 401 (or when a module asks, as kibana_status does on an anonymous status), then every request
carries the ``sid`` session cookie, and a session that ends mid-run logs in again once. An API key cannot take that
road (Kibana reads API keys only from Authorization).

The option names avoid kubernetes.core's own username/password/api_key/validate_certs, which mean the
Kubernetes API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.seclog.falco_efk.plugins.module_utils.http_client import (
    CookieSession, connect_endpoint, endpoint_argument_spec, endpoint_constraints)

# Worst first: the rank of a level is its index.
LEVELS = ("critical", "unavailable", "degraded", "available")
# Kibana's legacy states as its own legacy mapping reads them (unavailable and critical both became red).
LEGACY_STATES = {"green": "available", "yellow": "degraded", "red": "unavailable", "uninitialized": "unavailable"}

PROXY_UNAUTHORIZED_HINT = (
    "Give kibana_username and kibana_password (they log in to Kibana's basic provider for a session cookie), or "
    "kibana_url (an ingress, load balancer or port-forward address) for kibana_api_key, or let anonymous users read the "
    "status (Kibana's status.allowAnonymous: true, the STATUS_ALLOWANONYMOUS env the efk role sets).")


LOGIN_PATH = "internal/security/login"
LOGOUT_PATH = "api/security/logout"
# The basic provider Kibana configures when xpack.security.authc.providers is not set (basic.basic).
BASIC_PROVIDER = "basic"


class KibanaSession(CookieSession):
    """A Kibana 7.10+ session of the basic provider: ``POST /internal/security/login`` with the login form's body
    answers ``{"location": ...}`` and sets the ``sid`` cookie; ``GET /api/security/logout`` ends it."""

    cookie_name = "sid"
    unauthorized_hint = ("Check kibana_username and kibana_password: through the API server proxy they log in to Kibana's "
                         "basic provider (Kibana 7.10 or later, security on) for a session cookie.")

    def __init__(self, username, password, provider=BASIC_PROVIDER):
        super(KibanaSession, self).__init__(username, password)
        self.provider = provider

    def login_request(self, client):
        """The login form's request: kbn-xsrf as for every write, and the origin header 9.x asks of internal routes."""
        base = getattr(client.transport, "prefix", "")
        body = {"providerType": "basic", "providerName": self.provider, "currentURL": base + "/login",
                "params": {"username": self.username or "", "password": self.password}}
        return "POST", LOGIN_PATH, body, {"kbn-xsrf": "true", "x-elastic-internal-origin": "Kibana"}

    def logout_request(self, client):
        """Logging out is a GET that answers a redirect; with kbn-xsrf Kibana would refuse it as an AJAX call."""
        return "GET", LOGOUT_PATH, {}


def kibana_argument_spec():
    """The ``kibana_*`` options, as the ``seclog.falco_efk.kibana`` doc fragment documents them."""
    return endpoint_argument_spec("kibana_", "kibana-logging", 5601)


def kibana_constraints():
    """AnsibleModule keyword arguments that go with the ``kibana_*`` options."""
    return endpoint_constraints("kibana_")


def kibana_client(module, cluster, retry=None, timeout=30):
    """An HttpClient for the ``kibana_*`` options: ``kibana_url`` when given, else the Service through the API server proxy.

    ``cluster`` is a module_utils.k8s.Cluster or a callable returning one (only called for the proxy route). Through the
    proxy, paths are Kibana's own (``api/status``): the proxy strips its prefix, which is also Kibana's base path when the
    efk role deploys it (server.basePath set, server.rewriteBasePath false). There, kibana_username/kibana_password make
    a KibanaSession that logs in lazily (no request is sent here); call the client's ``close()`` to log out.
    """
    password = module.params.get("kibana_password")
    session = KibanaSession(module.params.get("kibana_username"), password) if password is not None else None
    return connect_endpoint(module, "kibana_", cluster, retry=retry, unauthorized_hint=PROXY_UNAUTHORIZED_HINT, timeout=timeout,
                            session=session)


# ---------------------------------------------------------------------------------------------- status
def _status(body):
    status = body.get("status") if isinstance(body, dict) else None
    return status if isinstance(status, dict) else {}


def _overall(body):
    overall = _status(body).get("overall")
    return overall if isinstance(overall, dict) else {}


def status_level(body):
    """The overall level of a ``/api/status`` body on the one scale (``available`` ... ``critical``), or None."""
    overall = _overall(body)
    level = overall.get("level")
    if isinstance(level, str) and level.lower() in LEVELS:
        return level.lower()
    state = overall.get("state")
    return LEGACY_STATES.get(state.lower()) if isinstance(state, str) else None


def level_reached(seen, wanted):
    """Whether level ``seen`` is at least as good as ``wanted`` (available > degraded > unavailable > critical)."""
    return seen in LEVELS and LEVELS.index(seen) >= LEVELS.index(wanted)


def version(body):
    """Kibana's version (``version.number``; a plain string before 6.0), or None (anonymous answers leave it out)."""
    found = body.get("version") if isinstance(body, dict) else None
    if isinstance(found, dict):
        found = found.get("number")
    return found if isinstance(found, str) and found else None


def status_summary(body, limit=500):
    """Kibana's own words for its overall status: 8.x ``status.overall.summary``, or the messages of the legacy
    statuses that are not green (6.x, 7.x); None when the answer has neither (anonymous, or all green)."""
    summary = _overall(body).get("summary")
    if not (isinstance(summary, str) and summary.strip()):
        statuses = _status(body).get("statuses")
        summary = "; ".join("%s: %s" % (s.get("id"), s.get("message")) for s in statuses if isinstance(s, dict)
                            and s.get("state") != "green" and s.get("message")) if isinstance(statuses, list) else ""
    summary = " ".join(summary.split()) if isinstance(summary, str) else ""
    if not summary:
        return None
    return summary[:limit] + ("..." if len(summary) > limit else "")


def describe_status(body):
    """One line of a ``/api/status`` body, e.g. ``unavailable ([elasticsearch]: ...) on Kibana 8.15.3``."""
    level = status_level(body)
    if level is None:
        return "no status"
    summary, number = status_summary(body), version(body)
    return level + (" (%s)" % summary.rstrip(".") if summary else "") + (" on Kibana %s" % number if number else "")


def redacted(body):
    """Whether the body is the minimal answer Kibana gives anonymous callers (a level, no version, no summary)."""
    return status_level(body) is not None and version(body) is None and status_summary(body) is None
