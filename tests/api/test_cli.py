"""The `lambdex` CLI, driven by Typer's CliRunner against the app (a requests adapter
hands each HTTP request to chalice.test.Client): tables, changes with operator and reason,
refusals, the idempotent import, and --help everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from requests.adapters import BaseAdapter
from typer.main import get_command
from typer.testing import CliRunner

from lambdex_cli import client as cli_client
from lambdex_cli.main import app
from tests.api.relayer_helpers import ALICE, E18, WETH, ZRX, addr, fund, make_order, setup_market
from tests.support import ROOT, audit_ok, table_snapshot

ENV = {"LAMBDEX_URL": "http://lambdex.test", "LAMBDEX_ADMIN_TOKEN": "test-admin-token",
       "LAMBDEX_OPERATOR": "ops.cli"}


class ChaliceAdapter(BaseAdapter):
    """requests -> chalice.test.Client: the CLI's real HTTP code runs against the app in-process."""

    def __init__(self, test_client):
        super().__init__()
        self.test_client = test_client

    def send(self, request, **kwargs):
        path = request.path_url
        raw = request.body or b""
        answer = self.test_client.http.request(request.method, path, headers=dict(request.headers),
                                               body=raw if isinstance(raw, bytes) else raw.encode())
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers.update(answer.headers)
        response._content = answer.body
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass


@pytest.fixture
def cli(client, ledger, monkeypatch):
    def session():
        s = requests.Session()
        s.mount("http://lambdex.test", ChaliceAdapter(client))
        return s

    monkeypatch.setattr(cli_client, "new_session", session)
    runner = CliRunner()

    def run(*args, input=None):
        return runner.invoke(app, ["--json", *args] if args and args[0] != "--table" else list(args[1:]),
                             env=ENV, input=input, catch_exceptions=False)

    return run


def output_json(result):
    return json.loads(result.stdout)


def every_command(group, path=()):
    yield path
    for name, sub in getattr(group, "commands", {}).items():
        yield from every_command(sub, (*path, name))


def test_help_everywhere():
    runner = CliRunner()
    paths = list(every_command(get_command(app)))
    assert ("markets", "disable") in paths and ("audit",) in paths and ("import",) in paths and ("load",) in paths
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env=ENV)
        assert result.exit_code == 0, (path, result.output)
        assert "Usage: " in result.output, path


def test_the_console_script_and_the_audit_module_answer_help():
    lambdex = Path(sys.executable).parent / "lambdex"
    assert lambdex.exists(), "make install puts the console script in .venv/bin"
    out = subprocess.run([str(lambdex), "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "markets" in out.stdout and "audit" in out.stdout
    out = subprocess.run([sys.executable, "-m", "chalicelib.admin.audit", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and "Traceback" not in out.stderr and "--endpoint" in out.stdout


def test_markets_disable_then_placement_is_refused_then_enable(cli, client, ledger):
    setup_market(ledger)
    fund(ledger, addr(ALICE), "ZRX", 1000 * E18)
    result = cli("--table", "markets", "disable", "ZRX-WETH", input="halted for maintenance\n")
    assert result.exit_code == 0, result.output
    assert "Reason:" in result.output and "ZRX-WETH is disabled" in result.output
    order = make_order(ALICE, ZRX, 100 * E18, WETH, E18 // 10, ledger)
    refused = client.http.post("/v0/order", headers={"Content-Type": "application/json"}, body=json.dumps(order))
    assert refused.status_code == 400 and "disabled" in refused.body.decode()
    listed = output_json(cli("markets", "list"))
    assert [(m["id"], m["enabled"]) for m in listed] == [("ZRX-WETH", False)]
    actions = output_json(cli("actions"))
    assert [(a["kind"], a["operator"], a["reason"]) for a in actions] == [
        ("market_disable", "ops.cli", "halted for maintenance")]
    assert cli("markets", "enable", "ZRX-WETH", "--reason", "done").exit_code == 0
    assert client.http.post("/v0/order", headers={"Content-Type": "application/json"},
                            body=json.dumps(order)).status_code == 201


def test_a_refusal_prints_the_apis_message_exits_1_and_changes_nothing(cli, ledger):
    setup_market(ledger)
    before = table_snapshot()
    result = cli("markets", "update", "ZRX-WETH", "--fee", "2", "--reason", "typo")
    assert result.exit_code == 1
    assert "fee" in result.stderr and "400" in result.stderr
    assert cli("markets", "disable", "NOPE-WETH", "--reason", "x").exit_code == 1
    assert cli("markets", "update", "ZRX-WETH", "--reason", "nothing").exit_code == 1
    assert table_snapshot() == before


def test_unreachable_api_exits_2():
    result = CliRunner().invoke(app, ["--url", "http://127.0.0.1:9", "markets", "list"], env=ENV)
    assert result.exit_code == 2 and "cannot reach" in result.stderr


def test_keys_create_rotate_revoke_and_list(cli, ledger):
    created = output_json(cli("keys", "create", "acct-1", "--scope", "read", "--scope", "trade", "--label", "bot"))
    assert created["scopes"] == ["read", "trade"] and created["key"].startswith("lx_")
    rotated = output_json(cli("keys", "rotate", created["id"], "--reason", "leaked"))
    assert rotated["key"] != created["key"]
    assert cli("keys", "revoke", rotated["id"], "--reason", "account closed").exit_code == 0
    rows = {k["id"]: k for k in output_json(cli("keys", "list", "acct-1"))}
    assert rows[created["id"]]["replaced_by"] == rotated["id"] and rows[rotated["id"]]["revoked_us"]
    table = cli("--table", "keys", "list", "acct-1")
    assert table.exit_code == 0 and "acct-1" in table.stdout and "bot" in table.stdout


def test_orders_cancel_all_of_a_market_in_pages_and_audit_holds(cli, client, ledger):
    setup_market(ledger)
    fund(ledger, addr(ALICE), "ZRX", 1000 * E18)
    for salt in range(5):
        order = make_order(ALICE, ZRX, 10 * E18, WETH, E18 // 100, ledger, salt=salt)
        assert client.http.post("/v0/order", headers={"Content-Type": "application/json"},
                                body=json.dumps(order)).status_code == 201
    listed = output_json(cli("orders", "list", "--market", "ZRX-WETH", "--all", "--limit", "2"))
    assert len(listed) == 5
    result = cli("--table", "orders", "cancel-all", "--market", "ZRX-WETH", "--page", "2", "--reason", "delist")
    assert result.exit_code == 0, result.output
    assert "cancelled 5 order(s)" in result.stdout
    assert output_json(cli("orders", "list", "--market", "ZRX-WETH")) == {"items": [], "cursor": None}
    audit_ok()


YAML = """\
assets:
  - {name: ZRX, decimals: 18, token_address: "0xa8e9fa8f91e5ae138c74648c9c304f1c75003a8d"}
  - {name: WETH, decimals: 18, token_address: "0xc778417e063141139fce010982780140aa0cd5ab"}
  - {name: LTC, decimals: 8, network_fee: 16800}
  - {name: DOGE, decimals: 8}
markets:
  - {id: ZRX-WETH, base: ZRX, quote: WETH, fee: "0.001", min_amount: "0.5"}
pairs:
  - {from_coin: LTC, to_coin: DOGE, exchange_rate: "1000", ex_fee: "1"}
"""


def test_import_yaml_is_idempotent(cli, ledger, tmp_path):
    path = tmp_path / "listing.yaml"
    path.write_text(YAML)
    first = cli("--table", "import", str(path))
    assert first.exit_code == 0, first.output
    assert "4 created" not in first.stdout and "6 created, 0 unchanged" in first.stdout
    snapshot = table_snapshot()
    second = cli("--table", "import", str(path))
    assert second.exit_code == 0, second.output
    assert "nothing to change: all 6 item(s) exist as the file says" in second.stdout
    assert table_snapshot() == snapshot
    path.write_text(YAML.replace('fee: "0.001"', 'fee: "0.002"'))
    changed = cli("--table", "import", str(path))
    assert changed.exit_code == 1 and "differs" in changed.stdout and "fee" in changed.stdout
    assert table_snapshot() == snapshot


def test_import_csv_with_a_kind_and_bad_files(cli, ledger, tmp_path):
    assets_csv = tmp_path / "assets.csv"
    assets_csv.write_text("name,decimals,description\nXCP,8,Counterparty\nPEPE,0,\n")
    assert cli("--table", "import", str(assets_csv), "--kind", "assets").exit_code == 0
    again = cli("--table", "import", str(assets_csv), "--kind", "assets")
    assert again.exit_code == 0 and "nothing to change" in again.stdout
    markets_csv = tmp_path / "markets.csv"
    markets_csv.write_text("kind,id,base,quote,fee\nmarkets,PEPE-XCP,PEPE,XCP,0.01\n")
    assert cli("--table", "import", str(markets_csv)).exit_code == 0
    snapshot = table_snapshot()
    for name, text, extra in (("no-kind.csv", "name,decimals\nA,1\n", []),
                              ("bad.yaml", "assets: [1, 2", []),
                              ("list.yaml", "- name: A\n", []),
                              ("weird.yaml", "planets:\n  - {name: Mars}\n", []),
                              ("notes.txt", "hello", [])):
        bad = tmp_path / name
        bad.write_text(text)
        result = cli("--table", "import", str(bad), *extra)
        assert result.exit_code == 1 and "error" in result.stderr, (name, result.output)
    refused = tmp_path / "refused.yaml"
    refused.write_text("assets:\n  - {name: 'bad name!'}\n")
    result = cli("--table", "import", str(refused))
    assert result.exit_code == 1 and "failed" in result.stdout
    assert table_snapshot() == snapshot


def test_deposits_withdrawals_and_transfers(cli, client, ledger):
    setup_market(ledger)
    fund(ledger, addr(ALICE), "ZRX", 10 * E18, txid="d1")
    refunded = output_json(cli("deposits", "refund", "ZRX", "d1", "--address", "0x" + "cd" * 20,
                               "--reason", "wrong account"))
    assert refunded["status"] == "refund" and refunded["refund_txid"]
    transfers = output_json(cli("transfers", "list"))
    assert [t["id"] for t in transfers["items"]] == ["deposit_refund:ZRX#d1#0"]
    assert output_json(cli("withdrawals", "list", "--status", "sent")) == {"items": [], "cursor": None}
    assert cli("withdrawals", "list", "--status", "lost").exit_code == 1
    audit_ok()
