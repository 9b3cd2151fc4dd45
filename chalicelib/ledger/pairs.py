"""Converter coin pairs: deposits of `from_coin` are converted to `to_coin`."""

from __future__ import annotations

from fractions import Fraction

from chalicelib.errors import AlreadyExists, InvalidInput, NotFound
from chalicelib.ledger import counters, stores
from chalicelib.ledger.assets import get_asset
from chalicelib.ledger.stores.pairs import CoinPair


def create_pair(from_coin: str, to_coin: str, exchange_rate: Fraction, ex_fee: Fraction) -> CoinPair:
    source, target = get_asset(from_coin), get_asset(to_coin)
    if source.name == target.name:
        raise InvalidInput("a pair needs two different coins", field="to_coin")
    if exchange_rate <= 0:
        raise InvalidInput("exchange_rate must be positive", field="exchange_rate")
    if not 0 <= ex_fee < 100:
        raise InvalidInput("ex_fee is a percentage from 0 up to (not including) 100", field="ex_fee")
    pair = CoinPair(
        id=counters.next_id("pair"), from_coin=source.name, to_coin=target.name,
        exchange_rate=_text(exchange_rate), ex_fee=_text(ex_fee),
    )
    if not stores.pairs().create(pair):
        raise AlreadyExists(f"pair {pair.pair} already exists")
    return pair


def _text(value: Fraction) -> str:
    from decimal import Decimal, localcontext

    with localcontext() as context:
        context.prec = 60
        return format(Decimal(value.numerator) / Decimal(value.denominator), "f")


def get_pair(from_coin: str, to_coin: str) -> CoinPair | None:
    return stores.pairs().get(from_coin.upper(), to_coin.upper())


def pair_by_id(pair_id: int) -> CoinPair:
    found = stores.pairs().by_id(pair_id)
    if found is None:
        raise NotFound(f"no pair {pair_id}")
    return found


def list_pairs(from_coin: str | None = None, to_coin: str | None = None) -> list[CoinPair]:
    return stores.pairs().list(from_coin.upper() if from_coin else None, to_coin.upper() if to_coin else None)
