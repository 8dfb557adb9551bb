"""THE opaque page cursor of DynamoDB listings: a ``LastEvaluatedKey`` as URL-safe base64 JSON, and back.

A cursor is checked before DynamoDB sees it: it must decode to exactly the listing's key attributes,
each a string (``{"S": ...}``); anything else (hand-made, truncated, another listing's) is
:class:`hookrelay.errors.InvalidInput`, a 400, never a DynamoDB error.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Mapping
from typing import Any

from hookrelay.errors import InvalidInput

NOT_OURS = "cursor is not one this API returned"


def encode_cursor(key: Mapping[str, Any] | None) -> str | None:
    """The cursor for the page after ``key`` (a LastEvaluatedKey); None when there is no next page."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode() if key else None


def decode_cursor(cursor: object, attributes: Collection[str]) -> dict[str, Any]:
    """The ExclusiveStartKey a cursor stands for, if it names exactly ``attributes``, each a string."""
    if not isinstance(cursor, str):
        raise InvalidInput(NOT_OURS)
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(NOT_OURS) from exc
    if not isinstance(key, dict) or set(key) != set(attributes):
        raise InvalidInput(NOT_OURS)
    if not all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in key.values()):
        raise InvalidInput(NOT_OURS)
    return key
