"""Creates every DynamoDB table of template.yaml, from its own definition, in moto (or any endpoint)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .template import Template, load_template

_CREATE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "StreamSpecification",
)


def create_table_kwargs(name: str, props: Mapping[str, Any]) -> dict[str, Any]:
    """``CreateTable`` arguments for a template table definition."""
    kwargs: dict[str, Any] = {"TableName": name}
    for key in _CREATE_KEYS:
        if key in props:
            kwargs[key] = props[key]
    return kwargs


def create_tables(client: Any, template: Template | None = None) -> list[str]:
    """Create (or keep) every table of the template and turn on its TTL. Returns the table names."""
    tpl = template or load_template()
    existing = set(client.list_tables().get("TableNames", []))
    names = []
    for name, props in tpl.tables().items():
        if name in existing:
            names.append(name)
            continue
        client.create_table(**create_table_kwargs(name, props))
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        names.append(name)
    return names
