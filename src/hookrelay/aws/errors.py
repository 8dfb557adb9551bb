"""The one place a botocore error becomes a domain error.

:func:`aws_error` sorts AWS's answer by what the caller can do about it:

- the thing is not there (``missing=`` names it): :class:`NotFound` (404);
- AccessDenied and friends: :class:`PermissionDenied`, a role or key policy to fix, never retried;
- ValidationException, InvalidParameter*: :class:`ConfigurationError`, a request AWS will never take;
- everything else (throttling, 5xx, timeouts, connection errors): :class:`DependencyUnavailable`, retryable.

The message names what was being done, AWS's code and, for the configuration cases, AWS's own message
(AWS error messages name resources and parameters, never secret values).
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from hookrelay.errors import (
    ConfigurationError,
    DependencyUnavailable,
    HookrelayError,
    NotFound,
    PermissionDenied,
)

AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)

MISSING_QUEUE_CODES = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "KMS.AccessDeniedException", "UnauthorizedOperation"}
)
INVALID_CODES = frozenset(
    {
        "ValidationException",
        "ValidationError",
        "InvalidParameterValue",
        "InvalidParameterValueException",
        "InvalidParameterCombination",
        "InvalidParameterException",
        "InvalidAttributeName",
        "InvalidAttributeValue",
        "MalformedPolicyDocument",
    }
)


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore exception, or its class name."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


def has_code(exc: Exception, *codes: str) -> bool:
    return error_code(exc) in codes


def aws_message(exc: Exception) -> str:
    """AWS's own explanation of a ClientError (empty for other errors)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Message", "")).strip()
    return ""


def aws_error(doing: str, exc: Exception, *, missing: str | None = None) -> HookrelayError:
    """The domain error for a failed AWS call made to ``doing`` (``"create queue acme"``).

    ``missing``: the message for a not-found answer (also checked: SQS's missing-queue codes and any
    ``*NotFound*``/``NoSuch*`` code). Without it a not-found answer is retryable like any other.
    """
    code = error_code(exc)
    detail = aws_message(exc)
    if missing is not None and (
        code in MISSING_QUEUE_CODES or "NotFound" in code or code.startswith("NoSuch")
    ):
        return NotFound(missing)
    if code in DENIED_CODES:
        return PermissionDenied(f"no permission to {doing} ({code}{': ' + detail if detail else ''})")
    if code in INVALID_CODES:
        return ConfigurationError(f"AWS refused to {doing} ({code}{': ' + detail if detail else ''})")
    return DependencyUnavailable(f"cannot {doing}: {code}")
