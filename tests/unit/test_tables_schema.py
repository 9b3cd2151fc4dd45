"""One schema: the PynamoDB models agree with infra/tables.json, from which both
CloudFormation and local table creation are made."""

from __future__ import annotations

from chalicelib.ledger.models import ALL_MODELS
from chalicelib.local.tables import create_table_request, table_resources


def _keys(key_schema):
    return sorted((k["AttributeName"], k["KeyType"]) for k in key_schema)


def test_every_model_has_its_table_and_every_table_its_model():
    suffixes = {m.Meta.table_suffix for m in ALL_MODELS}
    template = {p["TableName"]["Fn::Sub"].removeprefix("${TablePrefix}-") for p in table_resources().values()}
    assert suffixes == template


def test_models_keys_and_indexes_match_the_template():
    by_suffix = {p["TableName"]["Fn::Sub"].removeprefix("${TablePrefix}-"): p for p in table_resources().values()}
    for model in ALL_MODELS:
        properties = by_suffix[model.Meta.table_suffix]
        schema = model._get_schema()
        assert _keys(schema["key_schema"]) == _keys(properties["KeySchema"]), model.__name__
        template_types = {a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]}
        model_types = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}
        assert model_types == template_types, model.__name__
        for kind, field in (("global_secondary_indexes", "GlobalSecondaryIndexes"),
                            ("local_secondary_indexes", "LocalSecondaryIndexes")):
            model_indexes = {i["index_name"]: _keys(i["key_schema"]) for i in schema.get(kind, [])}
            template_indexes = {i["IndexName"]: _keys(i["KeySchema"]) for i in properties.get(field, [])}
            assert model_indexes == template_indexes, (model.__name__, kind)


def test_orders_table_streams_new_and_old_images():
    orders = table_resources()["OrdersTable"]
    request = create_table_request(orders, "x")
    assert request["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert request["TableName"] == "x-orders"


def test_every_table_is_on_demand_with_point_in_time_recovery():
    for properties in table_resources().values():
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
