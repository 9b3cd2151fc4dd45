"""Configuration read once from the environment.

Every setting has a local default so `make run` works with nothing configured; the
defaults are printed at start-up (see `describe`). In AWS the stage's environment in
`.chalice/config.json` (and SSM/Secrets Manager for secrets) sets them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    description: str

    @property
    def value(self) -> str:
        return os.environ.get(self.name, self.default)


SETTINGS = (
    Setting("LAMBDEX_STAGE", "local", "deployment stage (local, dev, prod)"),
    Setting("LAMBDEX_TABLE_PREFIX", "lambdex-local", "prefix of every DynamoDB table name"),
    Setting("LAMBDEX_DYNAMODB_ENDPOINT", "", "DynamoDB endpoint URL; empty means AWS itself"),
    Setting("LAMBDEX_REGION", "us-east-1", "AWS region of the tables"),
    Setting("LAMBDEX_ADMIN_TOKEN", "local-admin-token", "bearer token of the /admin routes"),
    Setting("LAMBDEX_ALGOD_TOKEN", "a" * 64, "API token of the algod routes (X-Algo-API-Token)"),
    Setting("LAMBDEX_JWT_SECRET", "local-jwt-secret-change-me-0123456789abcdef", "HS256 secret of 0x relayer sessions"),
    Setting("LAMBDEX_BLOCK_SECONDS", "10", "seconds per block: block_index = genesis block + elapsed/this"),
    Setting("LAMBDEX_GENESIS_TIME", "1735689600", "unix time of the genesis block (2025-01-01T00:00Z)"),
    Setting("LAMBDEX_GENESIS_BLOCK", "0", "block index at the genesis time"),
    Setting("LAMBDEX_FEE_ACCOUNT", "lambdex-fees", "ledger address that collects trading fees"),
    Setting("LAMBDEX_0X_EXCHANGE", "0x479cc461fecd078f766ecc58533d6f69580cf3ac", "0x v1 exchange contract"),
    Setting("LAMBDEX_0X_ALLOW_FIXED_MESSAGE", "true",
            "0x relayer /v0/auth also accepts the spec's fixed sign-in message (replayable; false = nonces only)"),
    Setting("LAMBDEX_LOG_LEVEL", "INFO", "log level of the JSON-lines logs"),
    Setting("LAMBDEX_ORDERS_STREAM_ARN",
            "arn:aws:dynamodb:us-east-1:000000000000:table/lambdex-local-orders/stream/local",
            "stream of the orders table (set by the deployment; the local runner polls it itself)"),
    Setting("LAMBDEX_ADDRESS_SEED", "local-address-seed-change-me",
            "secret seed of deposit address and memo derivation (HMAC-SHA256 key)"),
    Setting("LAMBDEX_DEPOSIT_ACCOUNT", "lambdex",
            "receiving account of memo-based coins whose asset sets no deposit_account"),
    Setting("LAMBDEX_CONVERTER_ACCOUNT", "lambdex-converter",
            "ledger account (treasury) that receives converter deposits and pays conversions"),
    Setting("LAMBDEX_CHAIN_ADAPTER", "local", "chain adapter sending withdrawals and conversions: local"),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> str:
    return _BY_NAME[name].value


def describe() -> list[tuple[str, str, str]]:
    """(name, value in force, description) for the start-up banner."""
    return [(s.name, s.value, s.description) for s in SETTINGS]


def table_prefix() -> str:
    return get("LAMBDEX_TABLE_PREFIX")


def dynamodb_endpoint() -> str | None:
    return get("LAMBDEX_DYNAMODB_ENDPOINT") or None


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or get("LAMBDEX_REGION")


def admin_token() -> str:
    return get("LAMBDEX_ADMIN_TOKEN")


def algod_token() -> str:
    return get("LAMBDEX_ALGOD_TOKEN")


def jwt_secret() -> str:
    return get("LAMBDEX_JWT_SECRET")


def fee_account() -> str:
    return get("LAMBDEX_FEE_ACCOUNT")


def block_seconds() -> int:
    return int(get("LAMBDEX_BLOCK_SECONDS"))


def genesis_time() -> int:
    return int(get("LAMBDEX_GENESIS_TIME"))


def genesis_block() -> int:
    return int(get("LAMBDEX_GENESIS_BLOCK"))


def orders_stream_arn() -> str:
    return get("LAMBDEX_ORDERS_STREAM_ARN")


def address_seed() -> str:
    return get("LAMBDEX_ADDRESS_SEED")


def deposit_account() -> str:
    return get("LAMBDEX_DEPOSIT_ACCOUNT")


def converter_account() -> str:
    return get("LAMBDEX_CONVERTER_ACCOUNT")


def chain_adapter() -> str:
    return get("LAMBDEX_CHAIN_ADAPTER")
