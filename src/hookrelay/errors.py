"""The domain error hierarchy. Apps map these to HTTP status codes; nothing else should leak."""

from __future__ import annotations


class HookrelayError(Exception):
    """Base of every error hookrelay raises on purpose."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(HookrelayError):
    """The caller sent something we will not accept (bad JSON, bad field, bad URL)."""

    status_code = 400
    code = "invalid_input"


class PayloadTooLarge(InvalidInput):
    status_code = 413
    code = "payload_too_large"


class Unauthorized(HookrelayError):
    """The request does not prove who sent it (a bad, expired or missing signature)."""

    status_code = 401
    code = "unauthorized"


class NotFound(HookrelayError):
    status_code = 404
    code = "not_found"


class PermissionDenied(HookrelayError):
    """AWS refused the call for lack of permission (AccessDenied): retrying will not help."""

    status_code = 403
    code = "permission_denied"


class Conflict(HookrelayError):
    status_code = 409
    code = "conflict"


class UnsafeDestination(InvalidInput):
    """A URL whose host resolves to a non-global address (SSRF guard)."""

    code = "unsafe_destination"


class DependencyUnavailable(HookrelayError):
    """An AWS service (or another downstream) failed; the caller may retry."""

    status_code = 503
    code = "dependency_unavailable"
