"""One market per pair of assets, ids that cannot collide, orders that name their market."""

from __future__ import annotations

import json
import threading

from tests.support import post, table_snapshot


def assets(client, *names):
    for name in names:
        assert post(client, "/admin/assets", {"name": name, "decimals": 8}).status_code == 201


def market(client, base, quote):
    return post(client, "/admin/markets", {"id": f"{base}-{quote}", "base": base, "quote": quote})


def test_a_market_whose_reverse_exists_is_refused_and_changes_nothing(client):
    assets(client, "LTC", "BTC")
    assert market(client, "LTC", "BTC").status_code == 201
    before = table_snapshot()
    refused = market(client, "BTC", "LTC")
    assert refused.status_code == 409
    assert json.loads(refused.body)["error"]["code"] == "AlreadyExists"
    assert "LTC-BTC" in json.loads(refused.body)["error"]["message"]
    assert market(client, "LTC", "BTC").status_code == 409  # and the same one twice
    assert table_snapshot() == before


def test_asset_names_never_contain_the_market_separator(client):
    before = table_snapshot()
    for name in ("X-Y", "-X", "Y-", "A B", "É", "A" * 33, ""):
        response = post(client, "/admin/assets", {"name": name})
        assert response.status_code == 400, (name, response.body)
        assert json.loads(response.body)["error"]["field"] == "name"
    assert table_snapshot() == before
    assets(client, "X.Y", "X_Z")  # the documented alphabet: letters, digits, '.', '_'


def test_the_core_refuses_such_a_name_too(ledger):
    import pytest

    from chalicelib.errors import InvalidInput
    from chalicelib.ledger import assets as ledger_assets

    with pytest.raises(InvalidInput):
        ledger_assets.create_asset(ledger_assets.Asset(name="Y-Z"), ledger)


def test_a_counterparty_style_order_finds_its_market_through_the_pair(client, ledger):
    from chalicelib.ledger import orders

    assets(client, "LTC", "BTC")
    assert market(client, "LTC", "BTC").status_code == 201
    post(client, "/admin/deposits", {"coin": "BTC", "txid": "t1", "address": "bob", "amount": "10"})
    post(client, "/admin/deposits", {"coin": "LTC", "txid": "t2", "address": "amy", "amount": "10"})
    from chalicelib.events import scheduler

    scheduler.run(ledger)
    buy, _ = orders.place_order(orders.OrderRequest("bob", "BTC", 10**8, "LTC", 10**8), ledger)
    sell, _ = orders.place_order(orders.OrderRequest("amy", "LTC", 10**8, "BTC", 10**8), ledger)
    assert (buy.market, buy.side) == ("LTC-BTC", "buy") and (sell.market, sell.side) == ("LTC-BTC", "sell")


def test_an_order_naming_a_market_that_does_not_trade_its_assets_is_refused(client, ledger):
    import pytest

    from chalicelib.errors import InvalidInput
    from chalicelib.ledger import orders

    assets(client, "LTC", "BTC", "ETH")
    assert market(client, "LTC", "BTC").status_code == 201
    assert market(client, "ETH", "BTC").status_code == 201
    with pytest.raises(InvalidInput):
        orders.place_order(orders.OrderRequest("bob", "BTC", 10**8, "LTC", 10**8, market="ETH-BTC"), ledger)


def test_two_creations_of_a_pair_racing_leave_exactly_one_market(ddb_ledger):
    from fractions import Fraction

    from chalicelib.errors import AlreadyExists
    from chalicelib.ledger import assets as ledger_assets
    from chalicelib.ledger import markets

    for name in ("AAA", "BBB"):
        ledger_assets.create_asset(ledger_assets.Asset(name=name, decimals=8), ddb_ledger)
    for round_ in range(3):
        a, b = f"A{round_}", f"B{round_}"
        for name in (a, b):
            ledger_assets.create_asset(ledger_assets.Asset(name=name, decimals=8), ddb_ledger)
        results: list[str] = []
        start = threading.Barrier(2)

        def create(base, quote, start=start, results=results):
            start.wait(30)
            try:
                markets.create_market(f"{base}-{quote}", base, quote, Fraction(0), ddb_ledger)
                results.append("created")
            except AlreadyExists:
                results.append("refused")

        threads = [threading.Thread(target=create, args=pair) for pair in ((a, b), (b, a))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(results) == ["created", "refused"], results
        winner = markets.market_of_pair(a, b)
        assert winner is not None and {winner.base, winner.quote} == {a, b}
        assert [m.id for m in markets.list_markets() if {m.base, m.quote} == {a, b}] == [winner.id]
