"""Create the tables locally from `infra/tables.json`, the one schema definition.

CloudFormation creates them in AWS from the same file (merged into `chalice package`),
so the local tables and the cloud tables cannot drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalicelib import settings

TABLES_TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "tables.json"

# CloudFormation property -> CreateTable parameter, where they share a shape.
_PASS_THROUGH = (
    "AttributeDefinitions",
    "KeySchema",
    "LocalSecondaryIndexes",
    "GlobalSecondaryIndexes",
    "BillingMode",
)


def table_resources() -> dict[str, dict[str, Any]]:
    """Logical id -> Properties, for every DynamoDB table in the template."""
    template = json.loads(TABLES_TEMPLATE.read_text())
    return {
        logical: resource["Properties"]
        for logical, resource in template["Resources"].items()
        if resource["Type"] == "AWS::DynamoDB::Table"
    }


def table_name(properties: dict[str, Any], prefix: str | None = None) -> str:
    sub = properties["TableName"]["Fn::Sub"]
    return sub.replace("${TablePrefix}", prefix or settings.table_prefix())


def orders_table_name(prefix: str | None = None) -> str:
    return table_name(table_resources()["OrdersTable"], prefix)


def create_table_request(properties: dict[str, Any], prefix: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {"TableName": table_name(properties, prefix)}
    request.update({key: properties[key] for key in _PASS_THROUGH if key in properties})
    stream = properties.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return request


def ensure_tables(client, prefix: str | None = None, ttl: bool = True) -> list[str]:
    """Create every missing table (and its TTL unless `ttl` is False: tests on DynamoDB Local
    whose clock is not the wall clock, where items expired by the wall clock vanish within
    ~10 s); returns the names created."""
    existing: set[str] = set()
    for page in client.get_paginator("list_tables").paginate():
        existing.update(page["TableNames"])
    created = []
    for properties in table_resources().values():
        request = create_table_request(properties, prefix)
        name = request["TableName"]
        if name in existing:
            continue
        client.create_table(**request)
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
        expiry = properties.get("TimeToLiveSpecification")
        if expiry and ttl:
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": expiry["AttributeName"], "Enabled": True},
            )
        created.append(name)
    return created
