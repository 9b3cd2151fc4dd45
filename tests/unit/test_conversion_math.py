"""The converter's arithmetic: exact, rounded once and down, never a base unit more against the user."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.ledger.conversion_math import quote


def test_design_example_10_at_half_with_one_percent_fee():
    # 10 LTC (8 decimals) at 0.5 with a 1% fee: sends 4.95 and keeps 0.05.
    q = quote(10 * 10**8, 8, 8, Fraction(1, 2), Fraction(1), 0)
    assert (q.to_amount, q.ex_fee, q.tx_fee) == (495_000_000, 5_000_000, 0)


def test_spec_example_network_fee_after_exchange_fee():
    # 1 SGTK at 0.01 LTC, 10% fee, 0.000168 LTC network fee -> 0.008832 LTC.
    q = quote(1000, 3, 8, Fraction(1, 100), Fraction(10), 16_800)
    assert (q.to_amount, q.ex_fee, q.tx_fee) == (883_200, 100_000, 16_800)
    assert q.to_amount + q.ex_fee + q.tx_fee == 1_000_000  # the whole 0.01 LTC is accounted for


def test_too_small_to_cover_the_fees_is_not_sendable():
    assert not quote(1, 8, 8, Fraction(1, 2), Fraction(1), 0).sendable
    assert not quote(100, 8, 8, Fraction(1), Fraction(0), 100).sendable
    assert quote(101, 8, 8, Fraction(1), Fraction(0), 100).to_amount == 1


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError):
        quote(1, 8, 8, Fraction(0), Fraction(0), 0)
    with pytest.raises(ValueError):
        quote(1, 8, 8, Fraction(1), Fraction(100), 0)


rates = st.fractions(min_value=Fraction(1, 10**12), max_value=Fraction(10**9)).filter(lambda r: r > 0)
fees = st.fractions(min_value=0, max_value=Fraction(9999, 100), max_denominator=10**6)


@given(amount=st.integers(0, 10**30), from_dec=st.integers(0, 19), to_dec=st.integers(0, 19),
       rate=rates, fee=fees, network_fee=st.integers(0, 10**12))
def test_rounding_is_once_down_and_less_than_one_unit(amount, from_dec, to_dec, rate, fee, network_fee):
    q = quote(amount, from_dec, to_dec, rate, fee, network_fee)
    exact = Fraction(amount) * rate * Fraction(10**to_dec, 10**from_dec)
    exact_net = exact * (1 - fee / 100) - network_fee
    # the user gets the exact amount rounded down: never more, never a whole base unit less
    assert 0 <= exact_net - q.to_amount < 1
    # the three parts add up to the converted amount rounded down, and every part is whole
    assert q.to_amount + q.ex_fee + q.tx_fee == math.floor(exact)
    assert q.ex_fee >= 0 and q.tx_fee == network_fee
    assert q.converted == exact
    # the exchange fee recorded is the exact fee within one base unit
    assert abs(q.ex_fee - exact * fee / 100) < 1
