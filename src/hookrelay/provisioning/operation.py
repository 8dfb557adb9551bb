"""The shape of one provisioner operation (:class:`Operation`) and of one parsed request (:class:`Call`):
what the operation table (:mod:`hookrelay.provisioning.operations`) is made of, and what
:class:`~hookrelay.provisioning.api.Api`, the OpenAPI document and the app's routes read."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from hookrelay.errors import InvalidInput

if TYPE_CHECKING:
    from hookrelay.provisioning.context import Provisioner

M = TypeVar("M", bound=BaseModel)

# Every operation may answer these: bad input, a failing AWS dependency (503, retryable), and AWS refusing
# hookrelay's own role or request (PermissionDenied, ConfigurationError: 500, not retryable), and over REST a
# body type other than JSON (415 unsupported_media_type; see api.framework_answer).
COMMON_ERRORS = (400, 415, 500, 503)
PARTNER_ERRORS = (*COMMON_ERRORS, 404, 409)


@dataclass(frozen=True)
class Call:
    """One request, parsed: the path's partner id (checked), the body as the request model, the query."""

    partner_id: str = ""
    body: BaseModel | None = None
    query: Mapping[str, Any] = field(default_factory=dict)
    path: Mapping[str, str] = field(default_factory=dict)  # the path's parameters other than {id}

    def parsed(self, model: type[M]) -> M:
        if not isinstance(self.body, model):
            raise TypeError(f"expected a {model.__name__} body, got {type(self.body).__name__}")
        return self.body


@dataclass(frozen=True)
class QueryParameter:
    name: str
    schema: dict[str, Any]


@dataclass(frozen=True)
class Operation:
    name: str  # the Lambda function (handler app.<name>) and the OpenAPI operationId
    method: str
    path: str
    summary: str
    answer: type[BaseModel]
    run: Callable[[Provisioner, Call], BaseModel]
    request: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = PARTNER_ERRORS
    query: tuple[QueryParameter, ...] = ()
    body_limit: bool = False  # the raw body may be at most settings.max_event_bytes (413)
    body_required: bool = False
    duplicates: bool = False  # an answer with duplicate=true (an id published already) is 200, not status

    @property
    def partner_path(self) -> bool:
        return "{id}" in self.path

    @property
    def path_names(self) -> tuple[str, ...]:
        """The path's parameters after ``{id}`` (``{webhook_id}``, ``{replay_id}``)."""
        return tuple(n for n in re.findall(r"{(\w+)}", self.path) if n != "id")


def page_limit(raw: Any) -> int:
    """A page's ``limit`` query parameter: 1-100, default 50; anything else a 400."""
    text = None if raw is None else str(raw)
    if text is None:
        return 50
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 100:
        raise InvalidInput("limit must be a whole number from 1 to 100")
    return int(text)
