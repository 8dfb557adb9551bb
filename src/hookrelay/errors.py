"""The domain error hierarchy. Apps map these to HTTP status codes; nothing else should leak."""

from __future__ import annotations

from pydantic import ValidationError


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
    """AWS refused the call for lack of permission (AccessDenied): a policy to fix, retrying will not help.

    A 500, not a 403: the caller was allowed in; hookrelay's own role lacks the permission.
    """

    status_code = 500
    code = "permission_denied"


class ConfigurationError(HookrelayError):
    """AWS refused the request itself (ValidationException, InvalidParameterValue): retrying will not help."""

    status_code = 500
    code = "configuration_error"


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


def validation_message(exc: ValidationError, limit: int = 3, where: str = "body") -> str:
    """A one-line account of what failed validation: ``field: problem; ...`` (at most ``limit`` parts);
    ``where`` names the place of an error about the whole object ("" for none).

    Built from each error's location and message only, never its input: a rejected value can be a
    secret, and pydantic's own ``str(exc)`` quotes it.
    """
    parts = []
    for error in exc.errors()[:limit]:
        place = ".".join(str(p) for p in error["loc"]) or where
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{place}: {message}" if place else message)
    return "; ".join(parts)
