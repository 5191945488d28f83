"""DynamoDB attribute values in and out, for the stores that use the low-level client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


def s(value: str) -> AttributeValueTypeDef:
    """A string attribute."""
    return {"S": value}


def n(value: int) -> AttributeValueTypeDef:
    """A number attribute (whole numbers only: every number these stores keep is one)."""
    return {"N": str(int(value))}


def get_str(item: Mapping[str, Any], name: str) -> str | None:
    """The string attribute ``name`` of an item, or None when it is absent or not a string."""
    value = item.get(name)
    return str(value["S"]) if value and "S" in value else None


def get_int(item: Mapping[str, Any], name: str) -> int | None:
    """The number attribute ``name`` of an item, or None when it is absent or not a number."""
    value = item.get(name)
    return int(value["N"]) if value and "N" in value else None
