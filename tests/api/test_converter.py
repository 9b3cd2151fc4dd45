"""CryptoToken Converter dialect: convert, the scheduler's conversion, the read routes."""

from __future__ import annotations

import json

import pytest

from chalicelib.events import scheduler
from chalicelib.ledger import backoff, chain
from chalicelib.ledger.models import OutboxTransfer
from tests import support
from tests.api.wallet_setup import TREASURY, balance, deposit, get, make_coins

JSON = {"Content-Type": "application/json", "Host": "127.0.0.1:8000"}
FORM = {"Content-Type": "application/x-www-form-urlencoded", "Host": "127.0.0.1:8000"}
LTC_DEST = "MVYBriQcasb6zvtGjPfLKbbWcRoKWh4sAf"


@pytest.fixture
def coins(client, ledger):
    make_coins(client)
    return client


def convert(client, body, headers=JSON):
    payload = body if isinstance(body, str) else json.dumps(body)
    response = client.http.post("/api/convert/", headers=headers, body=payload)
    return response.status_code, json.loads(response.body)


def test_convert_address_coin_returns_the_same_address_every_time(coins):
    status, body = convert(coins, {"from_coin": "LTC", "to_coin": "SGTK", "destination": "someguy123"})
    assert status == 200
    assert body["ex_rate"] == 100000.0
    assert body["destination"] == "someguy123"
    assert body["pair"] == "LTC -> SGTK (100000.0000 SGTK per LTC)"
    assert body["address"].startswith("L") and set(body) == {"ex_rate", "destination", "pair", "address"}
    again = convert(coins, "from_coin=ltc&to_coin=sgtk&destination=someguy123", FORM)
    assert again == (200, body)
    other = convert(coins, {"from_coin": "LTC", "to_coin": "SGTK", "destination": "otherguy"})[1]
    assert other["address"] != body["address"]


def test_convert_memo_coin_returns_account_and_memo(coins):
    status, body = convert(coins, f"from_coin=SGTK&to_coin=LTC&destination={LTC_DEST}", FORM)
    assert status == 200
    assert body == {"ex_rate": 0.01, "destination": LTC_DEST, "pair": "SGTK -> LTC (0.0100 LTC per SGTK)",
                    "memo": f"LTC {LTC_DEST}", "account": "lambdex-sgtk"}


@pytest.mark.parametrize("body, status, message", [
    ({"from_coin": "LTC", "to_coin": "SGTK"}, 400, "You must specify 'from_coin', 'to_coin', and 'destination'"),
    ({}, 400, "You must specify 'from_coin', 'to_coin', and 'destination'"),
    ({"from_coin": "LTC", "to_coin": "DOGE", "destination": "x"}, 404, "There is no such coin pair LTC -> DOGE"),
    ({"from_coin": "SGTK", "to_coin": "LTC", "destination": "nope"}, 400,
     "The destination LTC address/account 'nope' is not valid"),
    ({"from_coin": "LTC", "to_coin": "SGTK", "destination": "Not An Account"}, 400,
     "The destination SGTK address/account 'Not An Account' is not valid"),
])
def test_convert_errors(coins, body, status, message):
    before = support.table_snapshot()
    assert convert(coins, body) == (status, {"error": True, "message": message})
    assert support.table_snapshot() == before


def test_convert_bad_json_is_a_clear_400(coins):
    status, body = convert(coins, "{not json")
    assert status == 400 and body["error"] is True


def test_ltc_to_sgtk_flow(coins, ledger):
    address = convert(coins, {"from_coin": "LTC", "to_coin": "SGTK", "destination": "someguy123"})[1]["address"]
    treasury_ltc, treasury_sgtk = balance(TREASURY, "LTC")[0], balance(TREASURY, "SGTK")[0]
    deposit(coins, "LTC", "ltc-tx-1", "0.1", tx_timestamp="2019-03-20T01:34:20Z", address=address)
    scheduler.run(ledger)
    scheduler.run(ledger)

    status, rows = get(coins, f"/api/deposits/?address={address}")
    assert status == 200 and len(rows) == 1
    row = rows[0]
    assert row["status"] == "conv" and row["amount"] == "0.10000000000000000000"
    assert row["coin"] == "http://127.0.0.1:8000/api/coins/LTC/"
    assert row["convert_to"] == "http://127.0.0.1:8000/api/coins/SGTK/"
    assert row["processed_at"].endswith("Z") and row["tx_timestamp"] == "2019-03-20T01:34:20Z"

    status, conversions = get(coins, "/api/conversions/?from_coin=LTC")
    assert status == 200 and len(conversions) == 1
    conversion = conversions[0]
    # 0.1 LTC * 100000 = 10000 SGTK; 1% = 100 SGTK; network fee 0.001 SGTK
    assert conversion["to_amount"] == "9899.99900000000000000000"
    assert conversion["ex_fee"] == "100.00000000000000000000"
    assert conversion["tx_fee"] == "0.00100000000000000000"
    assert conversion["to_address"] == "someguy123"
    assert conversion["to_memo"] == f"Token Conversion via LTC deposit address {address}"
    assert conversion["deposit"] == f"http://127.0.0.1:8000/api/deposits/{row['id']}/"
    txid = conversion["to_txid"]
    assert txid and len(txid) == 64
    assert get(coins, f"/api/conversions/?to_txid={txid}")[1] == [conversion]
    conversion_id = conversion["url"].rstrip("/").rsplit("/", 1)[1]
    assert get(coins, f"/api/conversions/{conversion_id}/") == (200, conversion)
    assert get(coins, f"/api/conversions/{conversion_id}") == (200, conversion)

    sent = OutboxTransfer.get(f"conversion:{conversion_id}")
    assert (sent.coin, sent.to_address, sent.quantity, sent.txid) == ("SGTK", "someguy123", 9_899_999, txid)
    assert sent.memo == conversion["to_memo"]  # SGTK is memo-based: the memo goes along
    # the treasury took in the LTC; the SGTK left from the converter's wallet on its chain
    assert balance(TREASURY, "LTC")[0] == treasury_ltc + 10_000_000
    assert balance(TREASURY, "SGTK")[0] == treasury_sgtk
    support.audit_ok()


def test_sgtk_to_ltc_flow_memo_source(coins, ledger):
    body = convert(coins, {"from_coin": "SGTK", "to_coin": "LTC", "destination": LTC_DEST})[1]
    deposit(coins, "SGTK", "sgtk-tx-1", "1", to_account=body["account"], memo=body["memo"],
            from_account="privex")
    scheduler.run(ledger)
    scheduler.run(ledger)
    rows = get(coins, "/api/deposits/?txid=sgtk-tx-1")[1]
    assert [r["status"] for r in rows] == ["conv"]
    assert rows[0]["memo"] == f"LTC {LTC_DEST}" and rows[0]["from_account"] == "privex"
    conversion = get(coins, f"/api/conversions/?to_address={LTC_DEST}")[1][0]
    # the spec's own example: 1 SGTK at 0.01, 10% fee, 0.000168 LTC network fee
    assert conversion["to_amount"] == "0.00883200000000000000"
    assert conversion["ex_fee"] == "0.00100000000000000000"
    assert conversion["tx_fee"] == "0.00016800000000000000"
    assert conversion["from_address"] == "privex"
    assert conversion["to_memo"] == "Token Conversion from SGTK account privex"
    outbox = OutboxTransfer.get(f"conversion:{conversion['url'].rstrip('/').rsplit('/', 1)[1]}")
    assert (outbox.coin, outbox.to_address, outbox.memo, outbox.quantity) == ("LTC", LTC_DEST, None, 883_200)
    support.audit_ok()


def test_unknown_memo_ends_inv_and_loses_nothing(coins, ledger):
    before = (balance(TREASURY, "SGTK"), balance("lambdex-sgtk", "SGTK"))
    deposit(coins, "SGTK", "sgtk-bad-memo", "5", to_account="lambdex-sgtk", memo="no such memo")
    scheduler.run(ledger)
    scheduler.run(ledger)
    row = get(coins, "/api/deposits/?memo=no such memo")[1][0]
    assert row["status"] == "inv" and "unknown memo" in row["error"]
    assert row["amount"] == "5.00000000000000000000"
    assert (balance(TREASURY, "SGTK"), balance("lambdex-sgtk", "SGTK")) == before
    assert get(coins, "/api/conversions/?from_coin=SGTK")[1] == []
    support.audit_ok()


def test_too_small_to_cover_the_fees_ends_inv(coins, ledger):
    body = convert(coins, {"from_coin": "SGTK", "to_coin": "LTC", "destination": LTC_DEST})[1]
    deposit(coins, "SGTK", "sgtk-dust", "0.001", to_account=body["account"], memo=body["memo"])
    scheduler.run(ledger)
    row = get(coins, "/api/deposits/?txid=sgtk-dust")[1][0]
    assert row["status"] == "inv" and "too small" in row["error"]
    support.audit_ok()


def test_wrong_receiving_account_ends_inv(coins, ledger):
    body = convert(coins, {"from_coin": "SGTK", "to_coin": "LTC", "destination": LTC_DEST})[1]
    deposit(coins, "SGTK", "sgtk-elsewhere", "1", to_account="someone-else", memo=body["memo"])
    scheduler.run(ledger)
    assert get(coins, "/api/deposits/?txid=sgtk-elsewhere")[1][0]["status"] == "inv"
    support.audit_ok()


def test_a_conversion_needs_no_funded_ledger_account(client, ledger):
    make_coins(client)  # nobody holds SGTK in the ledger
    address = convert(client, {"from_coin": "LTC", "to_coin": "SGTK", "destination": "someguy123"})[1]["address"]
    deposit(client, "LTC", "ltc-early", "0.01", address=address)
    scheduler.run(ledger)
    assert get(client, "/api/deposits/?txid=ltc-early")[1][0]["status"] == "conv"
    assert get(client, "/api/conversions/")[1][0]["to_txid"]
    assert balance(TREASURY, "SGTK") == (0, 0)
    support.audit_ok()


# -- faults ---------------------------------------------------------------------------

class InjectedCrash(BaseException):  # the process dies: no guard of the scheduler catches it
    """The process dies here (a Lambda timeout or out-of-memory)."""


def crash_on(operation: str, table_suffix: str | None = None, times: int = 1):
    left = [times]

    def hook(name: str, params: dict) -> None:
        if name == operation and left[0] and (table_suffix is None or json.dumps(params).find(table_suffix) >= 0):
            left[0] -= 1
            raise InjectedCrash(f"{operation} {table_suffix}")

    return hook


def _converter_deposit(client, ledger, txid="ltc-fault"):
    address = convert(client, {"from_coin": "LTC", "to_coin": "SGTK", "destination": "someguy123"})[1]["address"]
    deposit(client, "LTC", txid, "0.1", address=address)
    return address


def _exactly_once(client, conversion_id="1"):
    with support.allow_scans():
        sent = list(OutboxTransfer.scan())
    assert [t.id for t in sent] == [f"conversion:{conversion_id}"]
    conversion = get(client, "/api/conversions/")[1][0]
    assert conversion["to_txid"] == sent[0].txid
    assert get(client, "/api/deposits/?txid=ltc-fault")[1][0]["status"] == "conv"
    assert balance(TREASURY, "SGTK") == (0, 0)  # paid from the converter's wallet, not the ledger


def test_crash_between_start_and_send_completes_once_on_rerun(coins, ledger):
    _converter_deposit(coins, ledger)
    with support.hook(crash_on("PutItem", "-outbox")), pytest.raises(InjectedCrash):
        scheduler.run(ledger)
    # started, not sent, deposit still mapped: nothing lost, nothing doubled
    assert get(coins, "/api/deposits/?txid=ltc-fault")[1][0]["status"] == "mapped"
    assert balance(TREASURY, "SGTK") == (0, 0)  # paid from the converter's wallet, not the ledger
    support.audit_ok()
    scheduler.run(ledger)
    scheduler.run(ledger)
    _exactly_once(coins)
    support.audit_ok()


def test_crash_after_send_before_recording_completes_once_on_rerun(coins, ledger):
    _converter_deposit(coins, ledger)

    sent = []

    def after_send(name: str, params: dict) -> None:
        if name == "PutItem" and "-outbox" in params.get("TableName", ""):
            sent.append(True)
        elif name == "TransactWriteItems" and sent and not sent[1:]:
            sent.append(True)
            raise InjectedCrash("the response of the send was lost")

    with support.hook(after_send), pytest.raises(InjectedCrash):
        scheduler.run(ledger)
    assert get(coins, "/api/deposits/?txid=ltc-fault")[1][0]["status"] == "mapped"
    support.audit_ok()
    scheduler.run(ledger)
    _exactly_once(coins)
    support.audit_ok()


class FlakyAdapter:
    def __init__(self, error: Exception):
        self.error = error
        self.calls = 0

    def send(self, transfer_id, coin, to_address, memo, quantity):
        self.calls += 1
        raise self.error


def test_failed_send_leaves_it_mapped_and_retries(coins, ledger):
    _converter_deposit(coins, ledger)
    flaky = FlakyAdapter(chain.ChainError("node unreachable"))
    chain.use(flaky)
    try:
        report = scheduler.run(ledger)
        assert scheduler.run(ledger)["conversions"]["retry"] == 0  # deferred: never in front of the others
        ledger.advance(backoff.retry_delay_us(1) / 1_000_000)
        scheduler.run(ledger)  # tried again once its back-off passed
    finally:
        chain.use(None)
    assert flaky.calls == 2 and report["conversions"]["retry"] == 1
    assert get(coins, "/api/deposits/?txid=ltc-fault")[1][0]["status"] == "mapped"
    support.audit_ok()
    ledger.advance(backoff.retry_delay_us(2) / 1_000_000)
    scheduler.run(ledger)
    _exactly_once(coins)
    support.audit_ok()


def test_rejected_send_ends_err_and_sends_nothing(coins, ledger):
    _converter_deposit(coins, ledger)
    chain.use(FlakyAdapter(chain.ChainRejected("destination account does not exist")))
    try:
        scheduler.run(ledger)
    finally:
        chain.use(None)
    row = get(coins, "/api/deposits/?txid=ltc-fault")[1][0]
    assert row["status"] == "err" and "does not exist" in row["error"]
    assert balance(TREASURY, "SGTK") == (0, 0)
    scheduler.run(ledger)
    with support.allow_scans():
        assert list(OutboxTransfer.scan()) == []
    support.audit_ok()


# -- read routes --------------------------------------------------------------------------

def test_pairs_and_coins(coins):
    status, rows = get(coins, "/api/pairs/")
    assert status == 200
    assert rows == [
        {"id": 1, "from_coin": "LTC", "to_coin": "SGTK", "exchange_rate": "100000.00000000000000000000",
         "__str__": "LTC -> SGTK (100000.0000 SGTK per LTC)"},
        {"id": 2, "from_coin": "SGTK", "to_coin": "LTC", "exchange_rate": "0.01000000000000000000",
         "__str__": "SGTK -> LTC (0.0100 LTC per SGTK)"},
    ]
    assert get(coins, "/api/pairs?from_coin=LTC")[1] == rows[:1]
    assert get(coins, "/api/pairs/?to_coin=ltc")[1] == rows[1:]
    assert get(coins, "/api/pairs/?limit=1&offset=1")[1] == rows[1:]
    assert get(coins, "/api/pairs/1/") == (200, rows[0])
    assert get(coins, "/api/pairs/2") == (200, rows[1])
    assert get(coins, "/api/pairs/9/")[0] == 404
    assert get(coins, "/api/pairs/abc/") == (404, {"error": True, "message": "Not found."})

    status, ltc = get(coins, "/api/coins/LTC/")
    assert status == 200 and ltc["symbol"] == "LTC" and ltc["url"] == "http://127.0.0.1:8000/api/coins/LTC/"
    assert get(coins, "/api/coins/sgtk")[1]["our_account"] == "lambdex-sgtk"
    assert [c["symbol"] for c in get(coins, "/api/coins/")[1]] == ["LTC", "SGTK"]
    assert get(coins, "/api/coins/NOPE/") == (404, {"error": True, "message": "Not found."})


def test_deposit_lists_filter_and_page(coins, ledger):
    deposit(coins, "LTC", "fund-ltc", "10", address=TREASURY)
    deposit(coins, "SGTK", "fund-sgtk", "100000", to_account=TREASURY)
    scheduler.run(ledger)
    status, rows = get(coins, "/api/deposits/")
    assert status == 200 and [r["txid"] for r in rows] == ["fund-ltc", "fund-sgtk"]
    assert get(coins, "/api/deposits?limit=1&offset=1")[1] == rows[1:]
    assert get(coins, f"/api/deposits/{rows[0]['id']}/") == (200, rows[0])
    assert get(coins, "/api/deposits/?to_account=" + TREASURY)[1] == rows[1:]
    assert get(coins, "/api/deposits/?from_account=nobody")[1] == []
    assert get(coins, "/api/deposits/999/")[0] == 404
    assert get(coins, "/api/deposits/?limit=0")[0] == 400


def test_every_path_with_and_without_trailing_slash_in_both_routers(coins):
    from chalice.local import RouteMatcher

    import app

    matcher = RouteMatcher(list(app.app.routes))
    for path, route in [("/api/convert/", "/api/convert"), ("/api/deposits/", "/api/deposits"),
                        ("/api/deposits/4/", "/api/deposits/{deposit_id}"),
                        ("/api/conversions/", "/api/conversions"),
                        ("/api/conversions/5/", "/api/conversions/{conversion_id}"),
                        ("/api/pairs/", "/api/pairs"), ("/api/pairs/1/", "/api/pairs/{pair_id}"),
                        ("/api/coins/", "/api/coins"), ("/api/coins/LTC/", "/api/coins/{symbol}")]:
        assert matcher.match_route(path).route == route  # chalice local (make run), as API Gateway
        assert matcher.match_route(path.rstrip("/")).route == route
    for path in ("/api/coins/", "/api/coins", "/api/pairs/1/", "/api/pairs/1", "/api/deposits/",
                 "/api/conversions"):
        assert get(coins, path)[0] == 200, path  # chalice.test.Client
