"""The deposit-addresses store contract (DynamoDB and in-memory)."""

from __future__ import annotations

from chalicelib.ledger.stores.deposit_addresses import DepositAddress, address_key, memo_key


def test_an_address_record_is_found_by_its_key(backend):
    record = DepositAddress("LTC", "alice", address="Labc", created_us=5)
    assert record.key == address_key("LTC", "Labc") == "LTC#Labc"
    assert backend.deposit_addresses.create(record)
    assert backend.deposit_addresses.get("LTC#Labc") == record
    assert backend.deposit_addresses.get("LTC#Labc", consistent=True) == record


def test_a_memo_record_is_keyed_by_its_memo(backend):
    record = DepositAddress("SGTK", "pair:SGTK-LTC:Lxyz", account="privex", memo="LTC Lxyz", purpose="convert",
                            convert_to="LTC", destination="Lxyz")
    assert record.key == memo_key("SGTK", "LTC Lxyz") == "SGTK#memo#LTC Lxyz"
    backend.deposit_addresses.create(record)
    assert backend.deposit_addresses.get("SGTK#memo#LTC Lxyz", consistent=True) == record


def test_an_address_has_one_owner(backend):
    assert backend.deposit_addresses.create(DepositAddress("LTC", "alice", address="Labc"))
    assert backend.deposit_addresses.create(DepositAddress("LTC", "mallory", address="Labc")) is False
    assert backend.deposit_addresses.get("LTC#Labc", consistent=True).owner == "alice"


def test_unknown_keys_are_none(backend):
    assert backend.deposit_addresses.get("LTC#nope") is None
    assert backend.deposit_addresses.get("") is None
    assert backend.deposit_addresses.get("L" * 3000) is None


def test_of_owner_by_coin(backend):
    for coin in ("ZRX", "LTC", "SGTK"):
        backend.deposit_addresses.create(DepositAddress(coin, "alice", address=f"{coin}-addr"))
    backend.deposit_addresses.create(DepositAddress("LTC", "bob", address="bob-addr"))
    assert [r.coin for r in backend.deposit_addresses.of_owner("alice")] == ["LTC", "SGTK", "ZRX"]
    assert backend.deposit_addresses.of_owner("nobody") == []
