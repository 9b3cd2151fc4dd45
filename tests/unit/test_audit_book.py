"""Issue 10, item 9: the audit checks the books too. A crossed market at quiescence, an
order whose fills disagree with its matches and a market failing for more than N passes
are each a finding; pairs that legitimately cannot trade are not."""

from __future__ import annotations

from chalicelib.ledger.audit import check

NOW = 1_000_000.0


def order(tx_hash, give_asset, give, get_asset, get, *, source=None, status="open", give_remaining=None,
          get_remaining=None, tx_index=None, **extra):
    return {"market": "ZRX-WETH", "tx_hash": tx_hash, "tx_index": tx_index or int(tx_hash, 16),
            "source": source or f"owner-{tx_hash}", "give_asset": give_asset, "give_quantity": give,
            "give_remaining": give if give_remaining is None else give_remaining, "get_asset": get_asset,
            "get_quantity": get, "get_remaining": get if get_remaining is None else get_remaining,
            "status": status, "expires_at": NOW + 600, "taker": None, "expired_with": None, **extra}


def sell(tx_hash, zrx, weth, **kw):
    return order(tx_hash, "ZRX", zrx, "WETH", weth, **kw)


def buy(tx_hash, weth, zrx, **kw):
    return order(tx_hash, "WETH", weth, "ZRX", zrx, **kw)


def audit(orders=(), matches=(), markets=(), max_failing_passes=3):
    return check([], [], orders=orders, matches=matches, markets=markets, now=NOW,
                 max_failing_passes=max_failing_passes)


def test_a_crossed_book_is_a_finding():
    report = audit([sell("a1", 10, 5), buy("b2", 6, 10), sell("c3", 10, 20)])  # 0.5 ask, 0.6 bid
    assert not report.ok
    assert report.crossed == ["market ZRX-WETH is crossed: open orders a1 and b2 would still fill"]
    assert "would still fill" in report.summary()


def test_an_uncrossed_book_and_pairs_that_cannot_trade_are_not():
    assert audit([sell("a1", 10, 7), buy("b2", 6, 10)]).ok  # 0.7 ask above a 0.6 bid
    for a, b in [
        (sell("a1", 10, 5, source="same"), buy("b2", 6, 10, source="same")),  # one owner
        (sell("a1", 10, 5, taker="someone-else"), buy("b2", 6, 10)),  # a 0x order for another taker
        (sell("a1", 10, 5, expired_with={"b2"}), buy("b2", 6, 10)),  # their match expired unpaid
        (sell("a1", 10, 5, expires_at=NOW - 1), buy("b2", 6, 10)),  # expired (the scheduler closes it)
        (sell("a1", 10, 5, status="cancelled"), buy("b2", 6, 10)),
    ]:
        assert audit([a, b]).ok, (a, b)
    assert not audit([sell("a1", 10, 5, taker="owner-b2"), buy("b2", 6, 10)]).ok  # for this very taker


def test_fills_must_equal_the_sum_of_matches_per_order():
    settled = [sell("a1", 10, 5, status="filled", give_remaining=0, get_remaining=0),
               buy("b2", 6, 10, status="filled", give_remaining=1, get_remaining=0)]
    match = {"tx0_hash": "a1", "tx1_hash": "b2", "forward_quantity": 10, "backward_quantity": 5, "status": "completed"}
    assert audit(settled, [match]).ok
    assert audit(settled, [{**match, "status": "pending"}]).ok
    report = audit(settled, [{**match, "forward_quantity": 9}])
    assert report.fills == ["order a1 (ZRX-WETH) gave 10, its matches say 9",
                            "order b2 (ZRX-WETH) received 10, its matches say 9"]
    assert not audit(settled, []).ok  # filled with no match at all
    # An expired match gives both sides back: it counts for neither. A re-opened order had
    # its leftover returned when it closed, so only what it received is compared.
    reopened = [sell("a1", 10, 5, give_remaining=10, expired_with={"b2"}),
                buy("b2", 6, 10, give_remaining=5, expired_with={"a1"})]
    assert audit(reopened, [{**match, "status": "expired"}]).ok
    assert not audit([{**reopened[0], "get_remaining": 0}, reopened[1]], [{**match, "status": "expired"}]).ok


def test_a_market_failing_for_more_than_n_passes_is_a_finding():
    markets = [{"id": "ZRX-WETH", "failing_passes": 4, "last_failure": "scheduler: fills: RuntimeError: boom"},
               {"id": "DAI-WETH", "failing_passes": 3, "last_failure": "x"}, {"id": "A-B", "failing_passes": None}]
    report = audit(markets=markets)
    assert report.failing == ["market ZRX-WETH has failed 4 passes in a row (more than 3): "
                              "scheduler: fills: RuntimeError: boom"]
    assert report.markets == 3
    assert audit(markets=markets, max_failing_passes=4).ok
