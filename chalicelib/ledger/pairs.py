"""Converter coin pairs: deposits of `from_coin` are converted to `to_coin`."""

from __future__ import annotations

from fractions import Fraction

from chalicelib.errors import AlreadyExists, InvalidInput, NotFound
from chalicelib.ledger import counters, store
from chalicelib.ledger.assets import get_asset
from chalicelib.ledger.models import CoinPair


def create_pair(from_coin: str, to_coin: str, exchange_rate: Fraction, ex_fee: Fraction) -> CoinPair:
    source, target = get_asset(from_coin), get_asset(to_coin)
    if source.name == target.name:
        raise InvalidInput("a pair needs two different coins", field="to_coin")
    if exchange_rate <= 0:
        raise InvalidInput("exchange_rate must be positive", field="exchange_rate")
    if not 0 <= ex_fee < 100:
        raise InvalidInput("ex_fee is a percentage from 0 up to (not including) 100", field="ex_fee")
    pair = CoinPair(
        f"{source.name}-{target.name}", id=counters.next_id("pair"), from_coin=source.name,
        to_coin=target.name, exchange_rate=_text(exchange_rate), ex_fee=_text(ex_fee),
    )
    if not store.write_if(lambda: pair.save(condition=CoinPair.pair.does_not_exist())):
        raise AlreadyExists(f"pair {pair.pair} already exists")
    return pair


def _text(value: Fraction) -> str:
    from decimal import Decimal, localcontext

    with localcontext() as context:
        context.prec = 60
        return format(Decimal(value.numerator) / Decimal(value.denominator), "f")


def get_pair(from_coin: str, to_coin: str) -> CoinPair | None:
    try:
        return CoinPair.get(f"{from_coin.upper()}-{to_coin.upper()}")
    except CoinPair.DoesNotExist:
        return None


def pair_by_id(pair_id: int) -> CoinPair:
    found = next(iter(CoinPair.all_pairs.query("pair", CoinPair.id == pair_id, limit=1)), None)
    if found is None:
        raise NotFound(f"no pair {pair_id}")
    return found


def list_pairs(from_coin: str | None = None, to_coin: str | None = None) -> list[CoinPair]:
    if from_coin:
        pairs = CoinPair.by_from_coin.query(from_coin.upper())
        return [p for p in pairs if not to_coin or p.to_coin == to_coin.upper()]
    if to_coin:
        return list(CoinPair.by_to_coin.query(to_coin.upper()))
    return list(CoinPair.all_pairs.query("pair"))
