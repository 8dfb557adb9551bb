"""The partners table (DynamoDB): one item per partner, the :class:`Partner` as a JSON document.

Writes set only ``doc`` and ``status`` (UpdateItem), so attributes other writers keep on the same item
(counters updated with ADD, never read-modify-write) survive every change of the partner.

:meth:`PartnerRepository.page` lists a bounded page (a Scan with Limit and ExclusiveStartKey, an opaque
cursor between pages): the fleet is read a page per request, never whole into one answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from hookrelay.aws.clients import Clients
from hookrelay.aws.errors import AWS_ERRORS, aws_error, has_code
from hookrelay.aws.pages import decode_cursor, encode_cursor
from hookrelay.errors import NotFound
from hookrelay.partners.model import Partner


class PartnerPage(BaseModel):
    items: list[Partner]
    next_cursor: str | None = None


def _loaded(items: list[dict[str, Any]]) -> Iterator[Partner]:
    """The partners of these items, by id; an item that no longer parses is skipped."""
    for item in sorted(items, key=lambda i: i["partner_id"]["S"]):
        try:
            yield Partner.model_validate_json(item["doc"]["S"])
        except (ValidationError, KeyError):
            continue


def _set_document(table: str, partner: Partner) -> dict[str, Any]:
    """An UpdateItem that sets the partner's document and status and keeps every other attribute of
    its item: counters other writers keep there (with ADD/SET) survive a change of the partner."""
    return {
        "TableName": table,
        "Key": {"partner_id": {"S": partner.partner_id}},
        "UpdateExpression": "SET doc = :doc, #status = :status",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {
            ":doc": {"S": partner.model_dump_json()},
            ":status": {"S": partner.status.value},
        },
    }


class PartnerRepository:
    def __init__(self, table: str, clients: Clients) -> None:
        self.table = table
        self.clients = clients

    def find(self, partner_id: str) -> Partner | None:
        item = self.find_item(partner_id)
        return None if item is None else Partner.model_validate_json(item["doc"]["S"])

    def find_item(self, partner_id: str) -> dict[str, Any] | None:
        """The partner's whole item (its document, status, health and pacing attributes), read once."""
        try:
            item = self.clients.dynamodb.get_item(
                TableName=self.table, Key={"partner_id": {"S": partner_id}}, ConsistentRead=True
            ).get("Item")
        except AWS_ERRORS as exc:
            raise aws_error(f"read partner {partner_id}", exc) from exc
        return item

    def get(self, partner_id: str) -> Partner:
        found = self.find(partner_id)
        if found is None:
            raise NotFound(f"partner {partner_id!r} does not exist")
        return found

    def put(self, partner: Partner) -> Partner:
        try:
            self.clients.dynamodb.update_item(**_set_document(self.table, partner))
        except AWS_ERRORS as exc:
            raise aws_error(f"write partner {partner.partner_id}", exc) from exc
        return partner

    def replace(self, old: Partner, new: Partner) -> bool:
        """Write ``new`` only if the stored item is still ``old``: no lost update, and a partner deleted
        meanwhile is not brought back. False when it changed (or went) in between."""
        update = _set_document(self.table, new)
        update["ConditionExpression"] = "doc = :old"
        update["ExpressionAttributeValues"][":old"] = {"S": old.model_dump_json()}
        try:
            self.clients.dynamodb.update_item(**update)
        except AWS_ERRORS as exc:
            if has_code(exc, "ConditionalCheckFailedException"):
                return False
            raise aws_error(f"write partner {new.partner_id}", exc) from exc
        return True

    def delete(self, partner_id: str) -> bool:
        try:
            response = self.clients.dynamodb.delete_item(
                TableName=self.table, Key={"partner_id": {"S": partner_id}}, ReturnValues="ALL_OLD"
            )
        except AWS_ERRORS as exc:
            raise aws_error(f"delete partner {partner_id}", exc) from exc
        return "Attributes" in response

    def all(self) -> Iterator[Partner]:
        """Every partner (a scan: the table holds one small item per partner)."""
        try:
            pages = self.clients.dynamodb.get_paginator("scan").paginate(TableName=self.table)
            items = [item for page in pages for item in page.get("Items", [])]
        except AWS_ERRORS as exc:
            raise aws_error("list partners", exc) from exc
        yield from _loaded(items)

    def page(self, limit: int, cursor: str | None = None) -> PartnerPage:
        """Up to ``limit`` partners in the table's order (sorted by id within the page); pass
        ``next_cursor`` back for the next page. Every partner is listed exactly once over the pages."""
        scan: dict[str, Any] = {"TableName": self.table, "Limit": limit}
        if cursor:
            scan["ExclusiveStartKey"] = decode_cursor(cursor, ("partner_id",))
        try:
            response = self.clients.dynamodb.scan(**scan)
        except AWS_ERRORS as exc:
            raise aws_error("list partners", exc) from exc
        items = list(_loaded(response.get("Items", [])))
        return PartnerPage(items=items, next_cursor=encode_cursor(response.get("LastEvaluatedKey")))
