"""The deployment: the merge template infra/build_template.py makes, what `chalice package`
makes of it, and the Lambda roles' IAM policies.

`chalice package` runs here for real (Chalice's own template generation and deep merge),
in a subprocess, with one thing replaced: the deployment zip is a stub, because building
the real one pip-downloads the Lambda wheels. `make package` builds the real one and
`make lint-infra` (part of `make test`) runs cfn-lint on its template.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from chalicelib import settings
from infra import build_template

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("dev", "prod")
PLACEHOLDER_STREAM = next(s.default for s in settings.SETTINGS if s.name == "LAMBDEX_ORDERS_STREAM_ARN")

PACKAGE_WITH_STUB_ZIP = textwrap.dedent("""
    import os, sys, zipfile
    from chalice.deploy import packager

    def stub_zip(self, project_dir, python_version):
        path = os.path.join(os.environ["STUB_DIR"], "deployment.zip")
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("app.py", "")
        return path

    packager.LambdaDeploymentPackager.create_deployment_package = stub_zip
    from chalice.cli import main
    sys.argv[0] = "chalice"
    sys.exit(main())
""")


@pytest.fixture(scope="module", params=STAGES)
def packaged(request, tmp_path_factory):
    stage = request.param
    tmp = tmp_path_factory.mktemp(f"package-{stage}")
    merge = tmp / "merge-template.json"
    build_template.main(["--stage", stage, "-o", str(merge)])
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMBDEX_")}
    env.update(AWS_DEFAULT_REGION="us-east-1", STUB_DIR=str(tmp))
    done = subprocess.run(
        [sys.executable, "-c", PACKAGE_WITH_STUB_ZIP, "package", "--stage", stage,
         "--merge-template", str(merge), str(tmp / "out")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return stage, json.loads((tmp / "out" / "sam.json").read_text())


def test_one_template_has_the_functions_and_every_table(packaged):
    _, template = packaged
    resources = template["Resources"]
    for logical_id in ("APIHandler", "MatchOrders", "RunScheduler"):
        assert resources[logical_id]["Type"] == "AWS::Serverless::Function"
    assert resources["MatchOrders"]["Properties"]["Handler"] == "app.match_orders"
    assert resources["RunScheduler"]["Properties"]["Handler"] == "app.run_scheduler"
    tables = json.loads(build_template.TABLES.read_text())["Resources"]
    for logical_id, table in tables.items():
        assert resources[logical_id] == table, logical_id  # copied unchanged from infra/tables.json


def test_the_stream_mapping_is_the_orders_table_stream_with_failure_handling(packaged):
    _, template = packaged
    event = template["Resources"]["MatchOrders"]["Properties"]["Events"]["MatchOrdersDynamodbEventSource"]
    assert event["Type"] == "DynamoDB"
    properties = event["Properties"]
    assert properties["Stream"] == {"Fn::GetAtt": ["OrdersTable", "StreamArn"]}
    assert properties["StartingPosition"] == "TRIM_HORIZON"
    assert properties["BisectBatchOnFunctionError"] is True
    assert 0 < properties["MaximumRetryAttempts"] <= 10
    assert properties["MaximumRecordAgeInSeconds"] == {"Ref": "StreamMaxRecordAgeSeconds"}
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    failure = properties["DestinationConfig"]["OnFailure"]
    assert failure["Type"] == "SQS"
    assert failure["Destination"] == {"Fn::GetAtt": ["MatcherFailureQueue", "Arn"]}
    assert template["Resources"]["MatcherFailureQueue"]["Type"] == "AWS::SQS::Queue"
    assert PLACEHOLDER_STREAM not in json.dumps(template)


def test_every_function_gets_the_table_prefix_the_stream_and_secret_references(packaged):
    stage, template = packaged
    for logical_id in ("APIHandler", "MatchOrders", "RunScheduler"):
        variables = template["Resources"][logical_id]["Properties"]["Environment"]["Variables"]
        assert variables["LAMBDEX_TABLE_PREFIX"] == {"Ref": "TablePrefix"}
        assert variables["LAMBDEX_ORDERS_STREAM_ARN"] == {"Fn::GetAtt": ["OrdersTable", "StreamArn"]}
        assert variables["LAMBDEX_STAGE"] == stage
        for secret in settings.SECRETS:
            assert variables[secret].startswith(f"ssm:/lambdex/{stage}/"), (logical_id, secret)
    assert template["Parameters"]["TablePrefix"]["Default"] == f"lambdex-{stage}"


def test_alarms(packaged):
    _, template = packaged
    alarms = {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    iterator = alarms["MatcherIteratorAgeAlarm"]
    assert (iterator["MetricName"], iterator["Dimensions"][0]["Value"]) == ("IteratorAge", {"Ref": "MatchOrders"})
    for function in ("APIHandler", "MatchOrders", "RunScheduler"):
        errors = alarms[f"{function}ErrorsAlarm"]
        assert (errors["MetricName"], errors["Dimensions"][0]["Value"]) == ("Errors", {"Ref": function})
    tables = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"]
    assert len(tables) == len(json.loads(build_template.TABLES.read_text())["Resources"])
    for table in tables:
        metrics = alarms[f"{table}ThrottleAlarm"]["Metrics"]
        names = {m["MetricStat"]["Metric"]["MetricName"] for m in metrics if "MetricStat" in m}
        assert names == {"ReadThrottleEvents", "WriteThrottleEvents"}
        assert all(m["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "TableName", "Value": {"Ref": table}}]
                   for m in metrics if "MetricStat" in m)
    depth = alarms["MatcherFailureQueueDepthAlarm"]
    assert depth["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())


def test_every_role_carries_the_stage_policy_file(packaged):
    stage, template = packaged
    policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    roles = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    assert len(roles) == len(build_template.FUNCTIONS)
    for role in roles.values():
        assert [p["PolicyDocument"] for p in role["Properties"]["Policies"]] == [policy]


# -- IAM ------------------------------------------------------------------------------------------

def _statements(stage: str) -> list[dict]:
    return json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())["Statement"]


def _as_list(value) -> list[str]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("stage", STAGES)
def test_policy_grants_no_wildcard_action_and_no_scan(stage):
    statements = _statements(stage)
    assert all(s["Effect"] == "Allow" for s in statements)
    actions = [a for s in statements for a in _as_list(s["Action"])]
    assert not [a for a in actions if "*" in a]
    assert not [a for a in actions if a.lower().startswith("dynamodb:") and "scan" in a.lower()]
    assert not [s for s in statements if "NotAction" in s or "NotResource" in s]
    # Only ListStreams, which has no resource-level permission, is granted on every resource.
    unscoped = [a for s in statements if "*" in _as_list(s["Resource"]) for a in _as_list(s["Action"])]
    assert unscoped == ["dynamodb:ListStreams"]


@pytest.mark.parametrize("stage", STAGES)
def test_policy_is_scoped_to_the_stage(stage):
    for statement in _statements(stage):
        for resource in _as_list(statement["Resource"]):
            if resource != "*":
                assert f"lambdex-{stage}" in resource or f"lambdex/{stage}/" in resource, resource


def test_dev_and_prod_policies_differ_only_by_stage():
    assert json.dumps(_statements("dev")).replace("dev", "STAGE") == json.dumps(_statements("prod")).replace(
        "prod", "STAGE")


@pytest.mark.parametrize("stage", STAGES)
def test_policy_grants_exactly_the_secret_parameters_the_functions_name(stage):
    template = build_template.build(stage)
    referenced = {v.removeprefix("ssm:") for f in build_template.FUNCTIONS
                  for v in template["Resources"][f]["Properties"]["Environment"]["Variables"].values()
                  if isinstance(v, str) and v.startswith("ssm:")}
    granted = {r.split(":parameter", 1)[1] for s in _statements(stage) if "ssm:GetParameter" in s["Action"]
               for r in _as_list(s["Resource"])}
    assert referenced == granted == {build_template.secret_parameter(stage, s) for s in settings.SECRETS}


def test_the_builder_knows_the_secret_settings():
    assert build_template.SECRETS == settings.SECRETS


def test_api_gateway_answers_cors_preflights_except_on_admin(packaged):
    _, template = packaged
    paths = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    preflight = paths["/v0/orderbook"]["options"]["x-amazon-apigateway-integration"]
    assert preflight["type"] == "mock"
    headers = preflight["responses"]["default"]["responseParameters"]
    assert headers["method.response.header.Access-Control-Allow-Origin"] == "'*'"
    assert "Authorization" in headers["method.response.header.Access-Control-Allow-Headers"]
    assert "X-Algo-API-Token" in headers["method.response.header.Access-Control-Allow-Headers"]
    assert "options" in paths["/api/v1/wallet/listbalances"]
    assert [p for p in paths if p.startswith("/admin") and "options" in paths[p]] == []


# -- realtime: the WebSocket API, its publisher, their rights ---------------------------------

def test_the_websocket_api_routes_to_the_app_handlers(packaged):
    _, template = packaged
    resources = template["Resources"]
    assert resources["WebsocketAPI"]["Properties"]["ProtocolType"] == "WEBSOCKET"
    routes = {r["Properties"]["RouteKey"] for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Route"}
    assert routes == {"$connect", "$default", "$disconnect"}
    for logical_id, handler in (("WebsocketConnect", "app.websocket_connect"),
                                ("WebsocketMessage", "app.websocket_message"),
                                ("WebsocketDisconnect", "app.websocket_disconnect")):
        assert resources[logical_id]["Properties"]["Handler"] == handler
    connections = resources["ConnectionsTable"]["Properties"]
    assert connections["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_the_publisher_reads_both_streams_with_the_matchers_failure_handling(packaged):
    _, template = packaged
    resources = template["Resources"]
    matcher = resources["MatchOrders"]["Properties"]["Events"]["MatchOrdersDynamodbEventSource"]["Properties"]
    events = resources["PublishRealtime"]["Properties"]["Events"]
    streams = {}
    for event in events.values():
        assert event["Type"] == "DynamoDB"
        properties = event["Properties"]
        streams[properties["Stream"]["Fn::GetAtt"][0]] = properties
        for setting in ("BisectBatchOnFunctionError", "MaximumRetryAttempts", "MaximumRecordAgeInSeconds",
                        "FunctionResponseTypes"):
            assert properties[setting] == matcher[setting], setting
        assert properties["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": ["PublisherFailureQueue", "Arn"]}
    assert set(streams) == {"OrdersTable", "MatchesTable"}
    assert resources["MatchesTable"]["Properties"]["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    variables = resources["PublishRealtime"]["Properties"]["Environment"]["Variables"]
    assert variables["LAMBDEX_WS_ENDPOINT"] == {
        "Fn::Sub": "https://${WebsocketAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"}
    alarms = {r["Properties"]["MetricName"]: r["Properties"] for k, r in resources.items()
              if r["Type"] == "AWS::CloudWatch::Alarm" and k.startswith("Publisher")}
    assert alarms["IteratorAge"]["Dimensions"][0]["Value"] == {"Ref": "PublishRealtime"}
    assert "PublishRealtimeErrorsAlarm" in resources


def test_only_the_posting_functions_may_post_and_only_to_this_api(packaged):
    _, template = packaged
    policies = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    assert len(policies) == 1
    policy = policies[0]["Properties"]
    assert policy["Roles"] == [{"Ref": "PublishRealtimeRole"}, {"Ref": "WebsocketMessageRole"}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["execute-api:ManageConnections"]
    assert statement["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:"
                                                 "${AWS::AccountId}:${WebsocketAPI}/api/POST/@connections/*"}]
    stage_policy = json.dumps(template["Resources"]["ApiHandlerRole"]["Properties"]["Policies"])
    assert "execute-api" not in stage_policy


# -- observability: application alarms and the dashboard ------------------------------------------

def test_application_alarms_and_the_operations_dashboard(packaged):
    import re

    from chalicelib import observability

    _, template = packaged
    resources = template["Resources"]
    assert resources["RestAPI"]["Properties"]["Name"] == {"Fn::Sub": "${TablePrefix}-api"}
    service = [{"Name": "service", "Value": {"Ref": "TablePrefix"}}]
    app_5xx = resources["ApplicationServerErrorsAlarm"]["Properties"]
    assert (app_5xx["Namespace"], app_5xx["MetricName"], app_5xx["Dimensions"]) == ("Lambdex", "Http5xx", service)
    gateway = resources["ApiGateway5xxAlarm"]["Properties"]
    assert (gateway["Namespace"], gateway["MetricName"]) == ("AWS/ApiGateway", "5XXError")
    assert gateway["Dimensions"] == [{"Name": "ApiName", "Value": {"Fn::Sub": "${TablePrefix}-api"}}]
    failing = resources["FailingMarketsAlarm"]["Properties"]
    assert (failing["MetricName"], failing["Dimensions"]) == ("FailingMarkets", service)
    for alarm in (app_5xx, gateway, failing):
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"

    board = resources["OperationsDashboard"]["Properties"]
    assert board["DashboardName"] == {"Fn::Sub": "${TablePrefix}-operations"}
    body = board["DashboardBody"]["Fn::Sub"]
    for name in re.findall(r"\$\{([^}]+)\}", body):  # every substitution names something of the template
        base = name.split(".")[0]
        assert base.startswith("AWS::") or base in template["Parameters"] or base in resources, name
    widgets = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))["widgets"]
    shown = {m[1] for w in widgets if w["type"] == "metric" for m in w["properties"]["metrics"] if m[0] == "Lambdex"}
    assert shown == set(observability.METRICS) == set(build_template.METRICS)
    alarm_widget = next(w for w in widgets if w["type"] == "alarm")
    assert len(alarm_widget["properties"]["alarms"]) == 7


def test_every_function_of_the_template_gets_every_secret_reference_and_an_alarm(packaged):
    """Issue 10, item 6: a function added later gets its secrets and alarm from the one list
    (infra/build_template.FUNCTIONS); none runs on the local defaults."""
    stage, template = packaged
    functions = {logical_id: r for logical_id, r in template["Resources"].items()
                 if r["Type"] in ("AWS::Serverless::Function", "AWS::Lambda::Function")}
    assert set(functions) == set(build_template.FUNCTIONS)
    for logical_id, resource in functions.items():
        variables = resource["Properties"]["Environment"]["Variables"]
        assert variables["LAMBDEX_STAGE"] == stage and stage != settings.LOCAL_STAGE
        for secret in settings.SECRETS:
            assert variables[secret] == "ssm:" + build_template.secret_parameter(stage, secret), (logical_id, secret)
        assert f"{logical_id}ErrorsAlarm" in template["Resources"], logical_id
