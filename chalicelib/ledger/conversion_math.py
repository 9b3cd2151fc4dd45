"""The converter's arithmetic: exact fractions, integer base units out. Pure.

With `c` the exact converted amount in base units of the destination coin
(`from_amount * rate * 10**to_decimals / 10**from_decimals`) and `f = c * ex_fee / 100`:

    to_amount = floor(c - f) - network_fee
    ex_fee    = floor(c) - floor(c - f)
    tx_fee    = network_fee

so `to_amount + ex_fee + tx_fee == floor(c)` exactly, and the user receives less than the
exact `c - f - network_fee` by less than one base unit (the only rounding, always down;
the fraction stays with the converter). A conversion whose `to_amount` would not be
positive is refused (the deposit ends `inv`: too small to cover the fees).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Quote:
    converted: Fraction  # exact, base units of the destination coin
    to_amount: int
    ex_fee: int
    tx_fee: int

    @property
    def sendable(self) -> bool:
        return self.to_amount > 0


def quote(from_amount: int, from_decimals: int, to_decimals: int, rate: Fraction, ex_fee_percent: Fraction,
          network_fee: int) -> Quote:
    if from_amount < 0 or rate <= 0 or not 0 <= ex_fee_percent < 100 or network_fee < 0:
        raise ValueError("bad conversion parameters")
    converted = Fraction(from_amount) * rate * Fraction(10**to_decimals, 10**from_decimals)
    fee = converted * ex_fee_percent / 100
    net = math.floor(converted - fee)
    return Quote(
        converted=converted,
        to_amount=net - network_fee,
        ex_fee=math.floor(converted) - net,
        tx_fee=network_fee,
    )
