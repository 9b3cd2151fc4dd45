"""Build the template that `chalice package --merge-template` merges into Chalice's own.

    python infra/build_template.py --stage dev -o build/merge-template.json

Inputs, each written once:

- `infra/tables.json`: every DynamoDB table (the one schema definition; local table
  creation reads it too). Copied in unchanged.
- `infra/stack.json`: what Chalice does not emit: the matcher's stream settings (bisect,
  retries, record age, ReportBatchItemFailures, failure queue), the functions' names and
  environment (table prefix, the real stream ARN), log groups, the failure queue, the alarm
  topic and the alarms that are not one per function or table. A resource with no `Type`
  there is an override of a resource Chalice emits (same logical id, deep-merged).
- `.chalice/config.json`: the stage's `LAMBDEX_TABLE_PREFIX`, the default of `TablePrefix`.

Generated here so that a new table or function gets its alarm without another edit:
an `Errors` alarm per function (every override in stack.json that names a function) and
a throttle alarm per table (read + write throttle events), the application alarms (5xx
answered by the app and by API Gateway, failing markets) and the operations dashboard. Also generated: each function's
secret settings (`chalicelib.settings.SECRETS`) as references to SSM Parameter Store,
`ssm:/lambdex/<stage>/<name>` (e.g. LAMBDEX_ADMIN_TOKEN -> ssm:/lambdex/prod/admin-token),
the parameters `.chalice/policy-<stage>.json` lets the functions read. They are set here,
not in `.chalice/config.json`, because `chalice.test.Client` applies the config's stage
environment to the tests.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TABLES = ROOT / "infra" / "tables.json"
STACK = ROOT / "infra" / "stack.json"
CHALICE_CONFIG = ROOT / ".chalice" / "config.json"

# Logical ids Chalice 1.34 gives the functions of app.py (checked by tests/unit/test_packaging.py).
FUNCTIONS = ("APIHandler", "MatchOrders", "RunScheduler", "PublishRealtime", "WebsocketConnect", "WebsocketMessage",
             "WebsocketDisconnect")
STREAM_EVENT = ("MatchOrders", "MatchOrdersDynamodbEventSource")


# chalicelib.settings.SECRETS, without importing the app (kept equal by tests/unit/test_packaging.py).
SECRETS = ("LAMBDEX_ADMIN_TOKEN", "LAMBDEX_ALGOD_TOKEN", "LAMBDEX_JWT_SECRET", "LAMBDEX_ADDRESS_SEED")


def secret_parameter(stage: str, setting: str) -> str:
    """LAMBDEX_ADMIN_TOKEN -> /lambdex/<stage>/admin-token"""
    return f"/lambdex/{stage}/" + setting.removeprefix("LAMBDEX_").lower().replace("_", "-")


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def stage_prefix(stage: str, config: dict[str, Any] | None = None) -> str:
    config = config or _load(CHALICE_CONFIG)
    try:
        return config["stages"][stage]["environment_variables"]["LAMBDEX_TABLE_PREFIX"]
    except KeyError:
        raise SystemExit(f"stage {stage!r} sets no LAMBDEX_TABLE_PREFIX in .chalice/config.json") from None


def _alarm(name_suffix: str, description: str, **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": {"Fn::Sub": "${TablePrefix}-" + name_suffix},
            "AlarmDescription": description,
            **properties,
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            "OKActions": [{"Ref": "AlarmTopic"}],
        },
    }


def function_error_alarm(logical_id: str, function_name_sub: str) -> dict[str, Any]:
    suffix = function_name_sub.removeprefix("${TablePrefix}-")
    return _alarm(
        f"{suffix}-errors",
        f"{logical_id} raised errors (unhandled exceptions or timeouts).",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": {"Ref": logical_id}}],
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )


def table_throttle_alarm(logical_id: str, table_name_sub: str) -> dict[str, Any]:
    suffix = table_name_sub.removeprefix("${TablePrefix}-")

    def metric(metric_id: str, metric_name: str) -> dict[str, Any]:
        return {
            "Id": metric_id,
            "ReturnData": False,
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/DynamoDB",
                    "MetricName": metric_name,
                    "Dimensions": [{"Name": "TableName", "Value": {"Ref": logical_id}}],
                },
                "Period": 60,
                "Stat": "Sum",
            },
        }

    return _alarm(
        f"{suffix}-throttles",
        f"Requests to the {suffix} table are throttled (on-demand: a hot partition, ~1,000 WCU/s or "
        "3,000 RCU/s per partition; see docs/operations.md, scaling).",
        Metrics=[
            {"Id": "throttles", "Expression": "reads + writes", "Label": "throttle events", "ReturnData": True},
            metric("reads", "ReadThrottleEvents"),
            metric("writes", "WriteThrottleEvents"),
        ],
        EvaluationPeriods=5,
        DatapointsToAlarm=2,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )


# The application's EMF metrics (chalicelib.observability.METRICS; a test keeps them equal),
# namespace Lambdex, dimension service = the stage's table prefix.
METRICS_NAMESPACE = "Lambdex"
METRICS = ("OrdersPlaced", "Fills", "SettlementLatency", "SettleRetries", "WriteRetries", "FailingMarkets", "Http5xx")
SERVICE_DIMENSION = [{"Name": "service", "Value": {"Ref": "TablePrefix"}}]
REST_API_NAME = "${TablePrefix}-api"  # RestAPI's Name (infra/stack.json), the ApiName of its metrics


def application_alarms() -> dict[str, Any]:
    """Application 5xx (a view that raised still answers, so Lambda's Errors never sees it),
    API Gateway's own 5XXError, and markets that fail to settle."""
    return {
        "ApplicationServerErrorsAlarm": _alarm(
            "api-5xx", "The API answered 5xx (Lambdex/Http5xx: a view raised, or a dependency failed).",
            Namespace=METRICS_NAMESPACE, MetricName="Http5xx", Dimensions=SERVICE_DIMENSION,
            Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold"),
        "ApiGateway5xxAlarm": _alarm(
            "apigateway-5xx", "API Gateway answered 5xx (integration failures and timeouts included).",
            Namespace="AWS/ApiGateway", MetricName="5XXError",
            Dimensions=[{"Name": "ApiName", "Value": {"Fn::Sub": REST_API_NAME}}],
            Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold"),
        "FailingMarketsAlarm": _alarm(
            "failing-markets", "A market's stream batches fail to settle (Lambdex/FailingMarkets; GET /health "
            "names the markets).",
            Namespace=METRICS_NAMESPACE, MetricName="FailingMarkets", Dimensions=SERVICE_DIMENSION,
            Statistic="Sum", Period=60, EvaluationPeriods=3, DatapointsToAlarm=2, Threshold=0,
            ComparisonOperator="GreaterThanThreshold"),
    }


def _sub(name: str) -> str:
    """`${name}` for the dashboard body's Fn::Sub (a resource's Ref, or `Resource.Attr`)."""
    return "${" + name + "}"


def _lambdex(metric: str, stat: str = "Sum", label: str | None = None) -> list[Any]:
    return [METRICS_NAMESPACE, metric, "service", "${TablePrefix}", {"stat": stat, "label": label or metric}]


def _widget(title: str, metrics: list[list[Any]], x: int, y: int, **extra: Any) -> dict[str, Any]:
    return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6,
            "properties": {"title": title, "region": "${AWS::Region}", "view": "timeSeries", "period": 60,
                           "metrics": metrics, **extra}}


def dashboard() -> dict[str, Any]:
    """One CloudWatch dashboard: the API, trading, settlement, the matcher, the functions, the alarms."""
    api = ["AWS/ApiGateway", "Count", "ApiName", REST_API_NAME]
    functions = ("APIHandler", "MatchOrders", "RunScheduler")
    alarms = ["ApplicationServerErrorsAlarm", "ApiGateway5xxAlarm", "FailingMarketsAlarm", "MatcherIteratorAgeAlarm",
              *(f"{f}ErrorsAlarm" for f in functions)]
    widgets = [
        _widget("API requests and errors", [
            [*api, {"stat": "Sum", "label": "requests"}],
            ["AWS/ApiGateway", "4XXError", "ApiName", REST_API_NAME, {"stat": "Sum", "label": "4xx"}],
            ["AWS/ApiGateway", "5XXError", "ApiName", REST_API_NAME, {"stat": "Sum", "label": "5xx (API Gateway)"}],
            _lambdex("Http5xx", label="5xx (application)")], 0, 0),
        _widget("API latency (ms)", [
            ["AWS/ApiGateway", "Latency", "ApiName", REST_API_NAME, {"stat": "p50", "label": "p50"}],
            ["AWS/ApiGateway", "Latency", "ApiName", REST_API_NAME, {"stat": "p99", "label": "p99"}]], 12, 0),
        _widget("Trading", [_lambdex("OrdersPlaced"), _lambdex("Fills")], 0, 6),
        _widget("Settlement latency (ms, stream record -> settled)", [
            _lambdex("SettlementLatency", "p50", "p50"), _lambdex("SettlementLatency", "p99", "p99")], 12, 6),
        _widget("Retries and failing markets", [
            _lambdex("SettleRetries"), _lambdex("WriteRetries"), _lambdex("FailingMarkets")], 0, 12),
        _widget("Matcher iterator age (ms)", [
            ["AWS/Lambda", "IteratorAge", "FunctionName", "${MatchOrders}", {"stat": "Maximum", "label": "max"}]],
            12, 12),
        _widget("Function errors and throttles", [
            ["AWS/Lambda", name, "FunctionName", _sub(f), {"stat": "Sum", "label": f"{f} {name}"}]
            for f in functions for name in ("Errors", "Throttles")], 0, 18),
        _widget("Function duration (ms, p99)", [
            ["AWS/Lambda", "Duration", "FunctionName", _sub(f), {"stat": "p99", "label": f}]
            for f in functions], 12, 18),
        {"type": "alarm", "x": 0, "y": 24, "width": 24, "height": 3,
         "properties": {"title": "Alarms", "alarms": [_sub(f"{a}.Arn") for a in alarms]}},
    ]
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": {"Fn::Sub": "${TablePrefix}-operations"},
            "DashboardBody": {"Fn::Sub": json.dumps({"widgets": widgets}, separators=(",", ":"))},
        },
    }


def build(stage: str) -> dict[str, Any]:
    tables = _load(TABLES)
    stack = _load(STACK)
    template: dict[str, Any] = {"AWSTemplateFormatVersion": tables["AWSTemplateFormatVersion"]}
    template["Description"] = stack["Description"]
    template["Parameters"] = copy.deepcopy(tables["Parameters"])
    template["Parameters"]["TablePrefix"]["Default"] = stage_prefix(stage)
    template["Parameters"].update(copy.deepcopy(stack.get("Parameters", {})))
    if "Conditions" in stack:
        template["Conditions"] = copy.deepcopy(stack["Conditions"])

    resources: dict[str, Any] = {}
    for source in (tables["Resources"], stack["Resources"]):
        for logical_id, resource in source.items():
            if logical_id in resources:
                raise SystemExit(f"{logical_id} is defined twice (tables.json and stack.json)")
            resources[logical_id] = copy.deepcopy(resource)

    missing = [f for f in FUNCTIONS if f not in stack["Resources"]]
    if missing:
        raise SystemExit(f"infra/stack.json overrides no {missing}: every function needs its name and environment")
    for logical_id in FUNCTIONS:
        variables = resources[logical_id]["Properties"]["Environment"]["Variables"]
        for setting in SECRETS:
            variables.setdefault(setting, "ssm:" + secret_parameter(stage, setting))
        name = stack["Resources"][logical_id]["Properties"]["FunctionName"]["Fn::Sub"]
        resources[f"{logical_id}ErrorsAlarm"] = function_error_alarm(logical_id, name)
    for logical_id, resource in tables["Resources"].items():
        if resource["Type"] == "AWS::DynamoDB::Table":
            name = resource["Properties"]["TableName"]["Fn::Sub"]
            resources[f"{logical_id}ThrottleAlarm"] = table_throttle_alarm(logical_id, name)

    for logical_id, resource in {**application_alarms(), "OperationsDashboard": dashboard()}.items():
        if logical_id in resources:
            raise SystemExit(f"{logical_id} is generated here: remove it from infra/stack.json")
        resources[logical_id] = resource
    template["Resources"] = resources
    template["Outputs"] = copy.deepcopy(stack.get("Outputs", {}))
    return template


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    text = json.dumps(build(args.stage), indent=2) + "\n"
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
