"""Errors that become Kubernetes ``Status`` answers."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error kube-apiserver would answer with a ``Status`` object.

    ``reason`` is the StatusReason (``NotFound``, ``AlreadyExists``, ``Conflict``, ``Invalid``,
    ``BadRequest``, ``Forbidden``, ``Unauthorized``, ``MethodNotAllowed``, ``UnsupportedMediaType``,
    ``NotAcceptable``, ``InternalError``, ``ServiceUnavailable``, ``TooManyRequests``, ``Expired``,
    ``Gone``). ``details`` is the Status ``details`` (name, group, kind, causes, retryAfterSeconds).
    """

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        """The ``Status`` body, as kube-apiserver writes it."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:  # kube-apiserver omits an empty reason (omitempty)
            body["reason"] = self.reason
        body["code"] = self.code
        if self.details is not None:
            body["details"] = self.details
        return body


def not_found(resource: str, group: str, name: str) -> ApiError:
    """``deployments.apps "x" not found`` (404)."""
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(404, "NotFound", f'{qualified} "{name}" not found',
                    {"name": name, "group": group, "kind": resource} if group else {"name": name, "kind": resource})


def already_exists(resource: str, group: str, name: str) -> ApiError:
    """``deployments.apps "x" already exists`` (409)."""
    qualified = f"{resource}.{group}" if group else resource
    details = {"name": name, "kind": resource}
    if group:
        details["group"] = group
    return ApiError(409, "AlreadyExists", f'{qualified} "{name}" already exists', details)


def conflict(resource: str, group: str, name: str, why: str) -> ApiError:
    """``Operation cannot be fulfilled on deployments.apps "x": <why>`` (409)."""
    qualified = f"{resource}.{group}" if group else resource
    details = {"name": name, "kind": resource}
    if group:
        details["group"] = group
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {qualified} "{name}": {why}', details)


def bad_request(message: str) -> ApiError:
    """A 400 BadRequest."""
    return ApiError(400, "BadRequest", message)


def no_such_path() -> ApiError:
    """The 404 for a path the server does not serve (an unserved group version, an unknown resource)."""
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})
