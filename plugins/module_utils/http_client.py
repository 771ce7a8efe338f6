# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small HTTP client for services of the logging stack (Elasticsearch, Kibana), by one of two routes:

- ``url``: straight to an address (ingress, load balancer, port-forward), with basic or API-key auth;
- ``service_proxy``: through the Kubernetes API server's service proxy, authenticated as for kubernetes.core.

kube-apiserver removes the caller's Authorization header before its service proxy forwards a request
(kubernetes/kubernetes#38775), so through the proxy the service never sees basic or API-key credentials. Cookies do
pass, so a service with a cookie login (Kibana's basic provider) can still authenticate the caller: a
``CookieSession`` logs in when the service first answers 401 (or when asked), sends its cookie on every later
request and logs in again once when a request with the cookie is refused (the session ended).

Transports send one request and answer ``(status, raw body, headers)`` for every HTTP status; HttpClient
adds retries, decoding and errors that name what was reached. Nothing here knows option names: the
module layer maps its ``es_*`` (or ``kibana_*``) options onto these arguments.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import errno
import json
import socket
import ssl
import time

from ansible.module_utils.six.moves.urllib.error import HTTPError as UrlHTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import urlencode, urlsplit, urlunsplit
from ansible.module_utils.urls import open_url

try:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import MaxRetryError, ProtocolError, TimeoutError as Urllib3Timeout
except ImportError:
    ApiException = MaxRetryError = ProtocolError = Urllib3Timeout = None

try:
    _RESET_ERRORS = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
    _TIMEOUT_ERRORS = (socket.timeout, TimeoutError)
except NameError:  # Python 2
    _RESET_ERRORS = ()
    _TIMEOUT_ERRORS = (socket.timeout,)

RETRY_STATUSES = (429, 502, 503, 504)
MASK = "********"
PROXY_STRIPS_AUTHORIZATION = (
    "kube-apiserver removes the Authorization header before its service proxy forwards a request "
    "(kubernetes/kubernetes#38775), so the service only sees anonymous requests")


class HttpError(Exception):
    """A request that failed: refused by the server (``status`` set) or never answered (``status`` None)."""

    def __init__(self, message, status=None, body=None, method=None, where=None, headers=None, certificate=False):
        super(HttpError, self).__init__(message)
        self.status = status
        self.body = body
        self.method = method
        self.where = where
        self.headers = headers or {}
        # The server's certificate did not verify: waiting or retrying cannot help, only the TLS options can.
        self.certificate = certificate


class TransportError(Exception):
    """No HTTP answer (refused, reset, timed out, TLS failure); ``retryable`` for resets and timeouts."""

    def __init__(self, message, retryable=False, certificate=False):
        super(TransportError, self).__init__(message)
        self.retryable = retryable
        self.certificate = certificate


def is_certificate_failure(error):
    """Whether an exception (or its text) is a server certificate that did not verify."""
    if isinstance(error, getattr(ssl, "SSLCertVerificationError", ())):
        return True
    text = str(error)
    return any(words in text for words in ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed", "Failed to validate the SSL certificate"))


class Response:
    """One HTTP answer: ``status``, ``body`` (decoded JSON, text, or None when empty) and ``headers`` (lower-case names)."""

    def __init__(self, status, body, headers):
        self.status = status
        self.body = body
        self.headers = headers

    def __repr__(self):
        return "Response(%r, %r, %r)" % (self.status, self.body, self.headers)


class RetryPolicy:
    """Bounded exponential backoff: ``attempts`` tries at most, waits ``backoff * 2**n`` capped at ``max_delay``."""

    def __init__(self, attempts=4, backoff=0.5, max_delay=8.0, statuses=RETRY_STATUSES, sleep=time.sleep, clock=time.time):
        self.attempts = max(int(attempts), 1)
        self.backoff = backoff
        self.max_delay = max_delay
        self.statuses = tuple(statuses)
        self.sleep = sleep
        self.clock = clock

    def delay(self, attempt):
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.max_delay, self.backoff * (2 ** (attempt - 1)))

    def retry_status(self, status):
        """Whether an answer with this status is worth another try."""
        return status in self.statuses


# ---------------------------------------------------------------------------------------------- pure helpers
def join_url(base, path, query=None):
    """``base`` + ``path`` (one slash between) + the encoded ``query`` (dict or list of pairs)."""
    url = base.rstrip("/") + "/" + (path or "").lstrip("/")
    encoded = encode_query(query)
    if encoded:
        url += ("&" if "?" in url else "?") + encoded
    return url


def query_pairs(query):
    """A query as (name, value) pairs, from a dict or list of pairs: booleans as true/false, None values left out, a list
    value as the parameter repeated (``fields=title&fields=name``, as Kibana's and Elasticsearch's array parameters take it)."""
    pairs = sorted(query.items()) if isinstance(query, dict) else list(query or ())
    out = []
    for name, value in pairs:
        for item in (value if isinstance(value, (list, tuple)) else [value]):
            if item is not None:
                out.append((name, str(item).lower() if isinstance(item, bool) else item))
    return out


def encode_query(query):
    """A query string (see ``query_pairs``)."""
    return urlencode(query_pairs(query))


def display_url(url):
    """The URL without user info (``https://user:secret@host`` shows as ``https://host``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = "[%s]" % host
    if parts.port:
        host += ":%d" % parts.port
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def proxy_path(namespace, service, port, scheme="http"):
    """The API server's proxy path for a Service port, ending in ``/proxy``.

    kube-apiserver reads ``[scheme:]name[:port]``; plain http is its default, so only https is spelled out.
    """
    name = "%s:%s" % (service, port) if port else service
    if scheme and scheme != "http":
        name = "%s:%s" % (scheme, name)
    return "/api/v1/namespaces/%s/services/%s/proxy" % (namespace, name)


def server_message(body, limit=500):
    """The server's own words: ES error.reason (+ root cause), kube Status message, Kibana message, or the text."""
    message = ""
    if isinstance(body, dict):
        error = body.get("error")
        if body.get("kind") == "Status" and body.get("message"):
            message = body["message"]
        elif isinstance(error, dict):
            message = error.get("reason") or error.get("type") or ""
            if error.get("type") and error.get("reason"):
                message = "%s: %s" % (error["type"], error["reason"])
            causes = [c.get("reason") for c in error.get("root_cause") or () if isinstance(c, dict) and c.get("reason")]
            if causes and causes[0] not in message:
                message += " (root cause: %s)" % causes[0]
        elif body.get("message"):
            message = body["message"]
            if isinstance(error, str) and error and error not in message:
                message = "%s: %s" % (error, message)
        elif isinstance(error, str):
            message = error
        else:
            message = json.dumps(body, sort_keys=True)
    elif isinstance(body, list):
        message = json.dumps(body)
    elif body:
        message = " ".join(str(body).split())
    message = str(message).strip()
    return message[:limit] + ("..." if len(message) > limit else "")


def parse_set_cookie(header, name):
    """The value ``header`` (Set-Cookie values, one per line) sets for cookie ``name``: None when it sets none, ``""``
    when it clears it."""
    for line in (header or "").split("\n"):
        pair = line.split(";", 1)[0].strip()
        key, sep, value = pair.partition("=")
        if sep and key.strip() == name:
            return value.strip().strip('"')
    return None


def redact(text, secrets):
    """``text`` with every non-empty secret (and its basic-auth encodings) replaced by a mask."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def decode_body(raw, content_type=""):
    """JSON when the answer is JSON (or looks like it), else text; None for an empty body."""
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not raw.strip():
        return None
    if "json" in (content_type or "") or raw.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except ValueError:
            pass
    return raw


def encode_body(body, headers):
    """(bytes or None, headers): dicts and lists become JSON, str is sent as UTF-8, bytes as they are."""
    headers = dict(headers or {})
    if body is None:
        return None, headers
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        headers.setdefault(_header_name(headers, "Content-Type"), "application/json")
    if not isinstance(body, bytes):
        body = body.encode("utf-8")
    return body, headers


def _header_name(headers, name):
    return next((k for k in headers if k.lower() == name.lower()), name)


def classify_exception(exc):
    """A TransportError for an exception raised before any HTTP answer; retryable for resets and timeouts."""
    reason = exc
    if MaxRetryError is not None and isinstance(exc, MaxRetryError) and exc.reason is not None:
        reason = exc.reason
    if isinstance(exc, URLError) and not isinstance(exc, UrlHTTPError):
        reason = exc.reason if isinstance(exc.reason, BaseException) else exc
    retryable = isinstance(reason, _TIMEOUT_ERRORS + _RESET_ERRORS)
    if Urllib3Timeout is not None and isinstance(reason, (Urllib3Timeout, ProtocolError)):
        retryable = True
    if getattr(reason, "errno", None) in (errno.ECONNRESET, errno.ETIMEDOUT, errno.EPIPE):
        retryable = True
    text = str(reason.reason if isinstance(reason, URLError) else reason) or type(reason).__name__
    if isinstance(reason, _TIMEOUT_ERRORS) and "timed out" not in text:
        text = "timed out (%s)" % text
    if is_certificate_failure(reason) or is_certificate_failure(exc):
        return TransportError(text, False, certificate=True)
    return TransportError(text, retryable)


# ---------------------------------------------------------------------------------------------- transports
class UrlTransport:
    """Straight to ``base_url`` with ansible's open_url: basic auth or an API key, TLS verified unless told otherwise."""

    route = "url"

    def __init__(self, base_url, username=None, password=None, api_key=None, validate_certs=True, ca_path=None):
        parts = urlsplit(base_url or "")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("%s is not an http:// or https:// URL" % display_url(base_url or "''"))
        self.base_url = base_url
        self.username = username if password is not None else None
        self.password = password
        self.api_key = api_key
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.where = display_url(base_url.rstrip("/"))

    def secrets(self):
        """Values no message may show."""
        found = [self.password, self.api_key, urlsplit(self.base_url).password]
        if self.password is not None:
            found.append(base64.b64encode(("%s:%s" % (self.username or "", self.password)).encode("utf-8")).decode("ascii"))
        return found

    def send(self, method, path, query=None, body=None, headers=None, timeout=30):
        """(status, raw bytes, headers) for any HTTP answer; TransportError when none came."""
        headers = dict(headers or {})
        if self.api_key:
            headers["Authorization"] = "ApiKey %s" % self.api_key
        try:
            answer = open_url(join_url(self.base_url, path, query), data=body, headers=headers, method=method, timeout=timeout,
                              validate_certs=self.validate_certs, ca_path=self.ca_path, url_username=self.username,
                              url_password=self.password, force_basic_auth=self.password is not None, use_proxy=True,
                              follow_redirects="safe", use_netrc=False)
            return answer.getcode(), answer.read(), _lower(answer.headers)
        except UrlHTTPError as exc:
            try:
                raw = exc.read()
            except Exception:  # pylint: disable=broad-except
                raw = b""
            return exc.code, raw, _lower(exc.headers)
        except Exception as exc:  # pylint: disable=broad-except
            # URLError, socket errors, TLS errors and ansible's ConnectionError all mean: no answer.
            raise classify_exception(exc)


class ServiceProxyTransport:
    """Through the API server's service proxy, on the kubernetes client of a module_utils.k8s.Cluster."""

    route = "service_proxy"

    def __init__(self, cluster, namespace, service, port, scheme="http"):
        self.cluster = cluster
        self.namespace = namespace
        self.service = service
        self.prefix = proxy_path(namespace, service, port, scheme)
        self.where = "service %s/%s through the API server proxy" % (namespace, service)

    def secrets(self):
        """The proxy carries no service credentials of ours."""
        return []

    def send(self, method, path, query=None, body=None, headers=None, timeout=30):
        """(status, raw bytes, headers) for any HTTP answer (the API server's or the service's)."""
        headers = dict(headers or {})
        content_type = headers.pop(_header_name(headers, "Content-Type"), None)
        headers.setdefault(_header_name(headers, "Accept"), "application/json")
        if body is not None and (content_type is None or "json" in content_type):
            # The kubernetes client serialises JSON bodies itself; a raw string would be encoded twice.
            try:
                body = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
            except ValueError:
                content_type = content_type or "text/plain"
        pairs = query_pairs(query)
        self.cluster.requests += 1
        try:
            answer = self.cluster.client.request(method, self.prefix + "/" + (path or "").lstrip("/"), body=body, serialize=False,
                                                 query_params=pairs, header_params=headers, content_type=content_type,
                                                 _request_timeout=timeout)
            return answer.status, answer.data, _lower(answer.headers)
        except ApiException as exc:
            if not exc.status:
                raise TransportError(" ".join(str(exc.reason or "no answer").split()), False)
            raw = exc.body if exc.body is not None else b""
            return exc.status, raw, _lower(exc.headers)
        except Exception as exc:  # pylint: disable=broad-except
            raise classify_exception(exc)


def _lower(headers):
    """Headers by lower-case name; repeated ones joined (Set-Cookie one per line, since its values hold commas)."""
    lowered = {}
    try:
        items = list((headers or {}).items())
    except AttributeError:
        return {}
    for key, value in items:
        key = str(key).lower()
        if key in lowered:
            value = lowered[key] + ("\n" if key == "set-cookie" else ", ") + str(value)
        lowered[key] = value
    return lowered


# ---------------------------------------------------------------------------------------------- cookie sessions
class CookieSession:
    """A login that yields a session cookie, for routes where Authorization does not reach the service.

    Subclasses say how to log in (``login_request``); this keeps the cookie, follows the service's Set-Cookie
    answers and keeps the password and the cookie out of every message.
    """

    cookie_name = "sid"
    unauthorized_hint = "Check the username and password."

    def __init__(self, username, password):
        self.username = username
        self.password = password
        self.value = None
        self.logins = 0
        self._values = []

    @property
    def cookie(self):
        """The Cookie header to send, or None before a login."""
        return "%s=%s" % (self.cookie_name, self.value) if self.value else None

    def secrets(self):
        """Values no message may show."""
        return [self.password] + self._values

    def observe(self, headers):
        """Follow a Set-Cookie for our cookie in an answer (a refreshed value, or a cleared one)."""
        value = parse_set_cookie((headers or {}).get("set-cookie"), self.cookie_name)
        if value is not None:
            self.value = value or None
            if value and value not in self._values:
                self._values.append(value)

    def login_request(self, client):
        """(method, path, body, headers) of the login request."""
        raise NotImplementedError

    def login(self, client, deadline=None):
        """Log in through ``client`` (its retries, no session); raise HttpError when that fails or sets no cookie."""
        method, path, body, headers = self.login_request(client)
        self.value = None
        answer = client.request(method, path, body=body, headers=headers, deadline=deadline, auth=False)
        self.observe(answer.headers)
        self.logins += 1
        if not self.value:
            raise HttpError("%s answered HTTP %s without a %s session cookie; is the service's security on, with this login?"
                            % (client.describe(method, path), answer.status, self.cookie_name),
                            answer.status, answer.body, method, client.where, answer.headers)

    def logout_request(self, client):
        """(method, path, headers) that ends the session, or None."""
        return None

    def logout(self, client):
        """End the session when there is one; best effort (the service expires it anyway)."""
        ending = self.logout_request(client) if self.value else None
        if ending is None:
            return
        method, path, headers = ending
        headers = dict(headers or {}, Cookie=self.cookie)
        try:
            client.request(method, path, headers=headers, ok=range(200, 400), auth=False)
        except HttpError:
            pass
        self.value = None


# ---------------------------------------------------------------------------------------------- the client
class HttpClient:
    """Requests with bounded retries, decoded answers and errors that say what failed where, without secrets."""

    def __init__(self, transport, retry=None, unauthorized_hint=None, timeout=30, session=None, certificate_hint=None):
        self.transport = transport
        self.retry = retry or RetryPolicy()
        self.unauthorized_hint = unauthorized_hint
        self.certificate_hint = certificate_hint
        self.timeout = timeout
        self.session = session
        self.requests = 0

    @property
    def route(self):
        """``url`` or ``service_proxy``."""
        return self.transport.route

    @property
    def where(self):
        """What requests reach, for messages."""
        return self.transport.where

    def request(self, method, path, body=None, query=None, headers=None, ok=None, timeout=None, deadline=None, auth=True):
        """Send, retrying 429/502/503/504 and resets/timeouts; a Response when its status is in ``ok``
        (default: any 2xx), else HttpError. ``deadline`` (epoch seconds) stops retries that would end after it.

        With a session (and ``auth``), the request carries its cookie; a 401 from the service logs in (again) once
        and sends the request again."""
        data, headers = encode_body(body, headers)
        session = self.session if auth else None
        clock = self.retry.clock
        attempt, answer, relogged = 0, None, False
        while True:
            attempt += 1
            self.requests += 1
            wait = timeout or self.timeout
            if deadline is not None:
                wait = max(min(wait, deadline - clock()), 0.1)
            failure = None
            sent = headers
            if session is not None and session.cookie:
                sent = dict(headers, Cookie=session.cookie)
            try:
                status, raw, got = self.transport.send(method, path, query=query, body=data, headers=sent, timeout=wait)
            except TransportError as exc:
                failure, status, raw, got = exc, None, None, {}
            if failure is None:
                answer = Response(status, decode_body(raw, got.get("content-type", "")), got)
                if session is not None:
                    session.observe(got)
                if (status in ok) if ok else 200 <= status < 300:
                    return answer
                if status == 401 and session is not None and not relogged and not _from_api_server(answer.body):
                    # No session yet, or it ended (idle timeout, logout, restart): log in once, then send again.
                    relogged = True
                    session.login(self, deadline=deadline)
                    attempt -= 1
                    continue
                again = self.retry.retry_status(status)
            else:
                again = failure.retryable
            pause = self.retry.delay(attempt)
            if not again or attempt >= self.retry.attempts or (deadline is not None and clock() + pause >= deadline):
                if failure is not None:
                    raise self._transport_error(method, path, failure, attempt)
                raise self._http_error(method, path, answer)
            self.retry.sleep(pause)

    def get(self, path, **kwargs):
        """GET ``path``."""
        return self.request("GET", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        """POST ``body`` to ``path``."""
        return self.request("POST", path, body=body, **kwargs)

    def put(self, path, body=None, **kwargs):
        """PUT ``body`` to ``path``."""
        return self.request("PUT", path, body=body, **kwargs)

    def delete(self, path, **kwargs):
        """DELETE ``path``."""
        return self.request("DELETE", path, **kwargs)

    def log_in(self, deadline=None):
        """Log the session in now (before any 401); False when the client has no session."""
        if self.session is None:
            return False
        self.session.login(self, deadline=deadline)
        return True

    def close(self):
        """End the session, if any (best effort)."""
        if self.session is not None:
            self.session.logout(self)

    # -- errors
    def describe(self, method, path):
        """``METHOD /path on <where>``, for messages."""
        return "%s /%s on %s" % (method, (path or "").lstrip("/"), self.transport.where)

    def secrets(self):
        """Values no message may show: the transport's credentials and the session's password and cookie."""
        return list(self.transport.secrets()) + (self.session.secrets() if self.session is not None else [])

    def _http_error(self, method, path, answer):
        said = server_message(answer.body)
        by_api_server = _from_api_server(answer.body)
        message = "%s failed (HTTP %s)%s" % (self.describe(method, path), answer.status, ": " + said if said else "")
        if by_api_server and self.route == "service_proxy":
            message += " [answered by the Kubernetes API server]"
        message = message.rstrip(".") + "."
        if answer.status == 401 and self.session is not None and not by_api_server:
            message += " " + self.session.unauthorized_hint
        elif answer.status == 401 and self.route == "service_proxy" and not by_api_server:
            message += " " + PROXY_STRIPS_AUTHORIZATION + "."
            if self.unauthorized_hint:
                message += " " + self.unauthorized_hint
        elif answer.status == 401:
            message += " Check the username and password or the API key."
        message = redact(message, self.secrets())
        return HttpError(message, answer.status, answer.body, method, self.transport.where, answer.headers)

    def _transport_error(self, method, path, failure, attempts):
        tries = " (%d attempts)" % attempts if attempts > 1 else ""
        certificate = getattr(failure, "certificate", False)
        if certificate:
            message = "%s: the server's TLS certificate did not verify (%s). %s" % (
                self.describe(method, path), str(failure).rstrip("."),
                self.certificate_hint or "Give the CA that signed it, or turn certificate verification off explicitly (not for production).")
        else:
            message = "%s got no answer%s: %s." % (self.describe(method, path), tries, str(failure).rstrip("."))
        return HttpError(redact(message, self.secrets()), None, None, method, self.transport.where, certificate=certificate)


def _from_api_server(body):
    """Whether an answer through the proxy is the API server's own (a kube Status), not the service's."""
    return isinstance(body, dict) and body.get("kind") == "Status"


def connect(module, url=None, namespace=None, service=None, port=None, scheme="http", username=None, password=None, api_key=None,
            validate_certs=True, ca_path=None, cluster=None, retry=None, unauthorized_hint=None, timeout=30, session=None, prefix=None):
    """An HttpClient by ``url`` when given, else through the service proxy of ``cluster`` (a module_utils.k8s.Cluster,
    or a callable returning one).

    ``session`` (a CookieSession for ``username``/``password``) is used on the proxy route only; the URL route sends
    basic or API-key headers. Credentials the proxy route cannot use (no session, or an API key) are not sent: the
    module warns once."""
    if url:
        transport = UrlTransport(url, username=username, password=password, api_key=api_key, validate_certs=validate_certs,
                                 ca_path=ca_path)
        session = None
    else:
        if api_key is not None or (password is not None and session is None):
            module.warn("Credentials were given but requests go through the Kubernetes API server's service proxy to service "
                        "%s/%s, and %s; they are not sent. Give the service's URL to use them."
                        % (namespace, service, PROXY_STRIPS_AUTHORIZATION))
        if callable(cluster):
            cluster = cluster()
        transport = ServiceProxyTransport(cluster, namespace, service, port, scheme)
        if password is None:
            session = None
    hint = None
    if prefix:
        hint = ("Give the CA that signed it with %sca_path (a PEM file), or set %svalidate_certs: false to skip the check "
                "(not for production)." % (prefix, prefix))
    return HttpClient(transport, retry=retry, unauthorized_hint=unauthorized_hint, timeout=timeout, session=session,
                      certificate_hint=hint)


def endpoint_argument_spec(prefix, service, port):
    """The options of one HTTP service (``es_``, ``kibana_``): its URL or its Service behind the API server's proxy,
    credentials and TLS, as the service's doc fragment documents them."""
    return {
        prefix + "url": dict(type="str"),
        prefix + "service": dict(type="str", default=service),
        prefix + "namespace": dict(type="str", default="logging"),
        prefix + "port": dict(type="int", default=port),
        prefix + "scheme": dict(type="str", default="http", choices=["http", "https"]),
        prefix + "username": dict(type="str"),
        prefix + "password": dict(type="str", no_log=True),
        prefix + "api_key": dict(type="str", no_log=True),
        prefix + "ca_path": dict(type="path"),
        prefix + "validate_certs": dict(type="bool", default=True),
    }


def endpoint_constraints(prefix):
    """AnsibleModule keyword arguments that go with ``endpoint_argument_spec(prefix, ...)``."""
    return dict(mutually_exclusive=[[prefix + "password", prefix + "api_key"]], required_by={prefix + "password": [prefix + "username"]})


def connect_endpoint(module, prefix, cluster, **kwargs):
    """``connect`` with the options of ``endpoint_argument_spec(prefix, ...)`` from the module's parameters."""
    params = module.params
    return connect(module, url=params.get(prefix + "url"), namespace=params[prefix + "namespace"], service=params[prefix + "service"],
                   port=params[prefix + "port"], scheme=params[prefix + "scheme"], username=params.get(prefix + "username"),
                   password=params.get(prefix + "password"), api_key=params.get(prefix + "api_key"),
                   validate_certs=params[prefix + "validate_certs"], ca_path=params.get(prefix + "ca_path"), cluster=cluster,
                   prefix=prefix, **kwargs)


def client_for_module(module, build, what, prefix, retry=None):
    """The common start of a module that waits on a service: check timeout and port, then build the client.

    ``build(module, clusters, retry=...)`` makes the client (``elasticsearch_client``, ``kibana_client``); ``what``
    names the service in messages ("Elasticsearch"); ``prefix`` is its options' prefix ("es_"). Fails the module with
    clear words on bad input or when the API server cannot be reached; returns (clusters, client).
    """
    # Imported here: only the waiting modules need the Kubernetes side.
    from ansible_collections.seclog.falco_efk.plugins.module_utils.k8s import ClusterError, LazyCluster

    params = module.params
    if params["timeout"] < 1:
        module.fail_json(msg="timeout must be 1 second or more (got %s)." % params["timeout"])
    port = params[prefix + "port"]
    if port < 1 or port > 65535:
        module.fail_json(msg="%sport must be a port number, 1 to 65535 (got %s)." % (prefix, port))
    clusters = LazyCluster(module)
    try:
        client = build(module, clusters, retry=retry or RetryPolicy(attempts=3, backoff=0.5, max_delay=4.0))
    except ClusterError as exc:
        module.fail_json(msg="Could not reach %s through the Kubernetes API server: %s" % (what, exc), route="service_proxy")
    except ValueError as exc:
        module.fail_json(msg="Invalid %surl: %s." % (prefix, exc))
    return clusters, client
