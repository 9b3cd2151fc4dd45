"""Configuration read from the environment.

Every setting has a local default so `make run` works with nothing configured; the
defaults are printed at start-up (see `describe`). In AWS the stage's environment in
`.chalice/config.json` sets them, and a secret's variable holds a reference instead of
the secret itself (see `resolve`):

    LAMBDEX_ADMIN_TOKEN=ssm:/lambdex/prod/admin-token             (SSM Parameter Store, SecureString)
    LAMBDEX_JWT_SECRET=secretsmanager:arn:aws:secretsmanager:...   (Secrets Manager, SecretString)

A reference is fetched on first use (not at import: a cold start that never checks an
admin token never fetches it), then kept for `LAMBDEX_SECRET_TTL` seconds, so a rotated
value reaches running containers within that time without a deployment.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

log = logging.getLogger("lambdex.settings")


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
    Setting("LAMBDEX_0X_ALLOW_FIXED_MESSAGE", "auto",
            "0x relayer /v0/auth also accepts the spec's fixed sign-in message (replayable): true, false, "
            "or auto = only in the local stage"),
    Setting("LAMBDEX_CORS_ORIGINS", "*",
            "browser origins allowed to call the API (CORS): * or a comma-separated list; never /admin"),
    Setting("LAMBDEX_HEALTH_MAX_STREAM_LAG", "60",
            "GET /health: seconds behind the newest stream record before the matcher counts as lagging"),
    Setting("LAMBDEX_HEALTH_MAX_SCHEDULER_AGE", "180",
            "GET /health: seconds since the last completed scheduler pass before it counts as stalled"),
    Setting("LAMBDEX_LOG_LEVEL", "INFO", "log level of the JSON-lines logs"),
    Setting("LAMBDEX_ORDERS_STREAM_ARN",
            "arn:aws:dynamodb:us-east-1:000000000000:table/lambdex-local-orders/stream/local",
            "stream of the orders table (set by the deployment; the local runner polls it itself)"),
    Setting("LAMBDEX_WS_ENDPOINT", "",
            "Management API endpoint of the WebSocket API, https://{api-id}.execute-api.{region}.amazonaws.com/{stage} "
            "(set by the deployment; the local runner serves its own)"),
    Setting("LAMBDEX_WS_URL", "",
            "public URL of the WebSocket API that the market pages connect to (wss://...; set by the deployment "
            "and by the local runner; empty: the pages poll)"),
    Setting("LAMBDEX_ADDRESS_SEED", "local-address-seed-change-me",
            "secret seed of deposit address and memo derivation (HMAC-SHA256 key)"),
    Setting("LAMBDEX_DEPOSIT_ACCOUNT", "lambdex",
            "receiving account of memo-based coins whose asset sets no deposit_account"),
    Setting("LAMBDEX_CONVERTER_ACCOUNT", "lambdex-converter",
            "ledger account (treasury) that receives converter deposits and pays conversions"),
    Setting("LAMBDEX_CHAIN_ADAPTER", "local", "chain adapter sending withdrawals and conversions: local"),
    Setting("LAMBDEX_APIKEY_CACHE_SECONDS", "5",
            "seconds a CoinBTR API key check is cached per container (a revocation elsewhere is honoured within it)"),
    Setting("LAMBDEX_EXTERNAL_MAX_OPEN_ORDERS", "3",
            "open orders giving an externally settled asset (BTC) one account may have"),
    Setting("LAMBDEX_EXTERNAL_MAX_PENDING_MATCHES", "3",
            "matches one account may have waiting for its payment of an externally settled asset"),
    Setting("LAMBDEX_EXTERNAL_MAX_DEFAULTS", "1",
            "unpaid expired matches after which an account may not give externally settled assets"),
    Setting("LAMBDEX_EXTERNAL_DEFAULT_WINDOW", "86400",
            "seconds an unpaid expired match counts against its defaulter"),
    Setting("LAMBDEX_AUDIT_MAX_FAILING_PASSES", "3",
            "the audit reports a market whose scheduler passes or stream batches failed more times in a row"),
    Setting("LAMBDEX_SECRET_TTL", "300",
            "seconds a secret fetched from SSM / Secrets Manager is kept before it is fetched again"),
)

# Settings whose value may be a reference to SSM Parameter Store or Secrets Manager.
SECRETS = ("LAMBDEX_ADMIN_TOKEN", "LAMBDEX_ALGOD_TOKEN", "LAMBDEX_JWT_SECRET", "LAMBDEX_ADDRESS_SEED")
SSM_PREFIX = "ssm:"
SECRETS_MANAGER_PREFIX = "secretsmanager:"

_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> str:
    return _BY_NAME[name].value


def describe() -> list[tuple[str, str, str]]:
    """(name, value in force, description) for the start-up banner."""
    return [(s.name, s.value, s.description) for s in SETTINGS]


LOCAL_STAGE = "local"


def stage() -> str:
    return get("LAMBDEX_STAGE")


def allow_fixed_message() -> bool:
    """The spec's fixed sign-in message is replayable (a signature given to any relayer of the
    spec signs in here for good): by default it is accepted in the local stage only."""
    value = get("LAMBDEX_0X_ALLOW_FIXED_MESSAGE").strip().lower()
    if value in ("", "auto"):
        return stage() == LOCAL_STAGE
    return value in ("1", "true", "yes")


class UnsafeSettings(RuntimeError):
    """A deployed stage still runs with a local default secret."""


def check_stage_safe() -> None:
    """Outside the local stage every secret must be set (normally to an ssm:/secretsmanager:
    reference): a function still holding a local default refuses to work, loudly."""
    if stage() == LOCAL_STAGE:
        return
    defaults = [name for name in SECRETS if get(name) == _BY_NAME[name].default]
    if defaults:
        message = (f"stage {stage()!r} refuses to run with the local default of {', '.join(defaults)}: "
                   "set each to its ssm:/lambdex/<stage>/... reference (infra/build_template.py does)")
        log.critical(message, extra={"stage": stage(), "settings": defaults})
        raise UnsafeSettings(message)


def table_prefix() -> str:
    return get("LAMBDEX_TABLE_PREFIX")


def dynamodb_endpoint() -> str | None:
    return get("LAMBDEX_DYNAMODB_ENDPOINT") or None


def apikey_cache_seconds() -> float:
    return max(0.0, float(get("LAMBDEX_APIKEY_CACHE_SECONDS")))


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or get("LAMBDEX_REGION")


# -- secrets ---------------------------------------------------------------------------------

_cache: dict[str, tuple[float, str]] = {}
_cache_lock = threading.Lock()


_clients: dict[str, object] = {}


def _client(service: str):
    """One client per service and container (building one loads its service model)."""
    with _cache_lock:
        if service not in _clients:
            import botocore.session

            _clients[service] = botocore.session.get_session().create_client(service, region_name=region())
        return _clients[service]


def _fetch(reference: str) -> str:
    if reference.startswith(SSM_PREFIX):
        name = reference[len(SSM_PREFIX):]
        return _client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    secret_id = reference[len(SECRETS_MANAGER_PREFIX):]
    return _client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]


def resolve(value: str, now=time.monotonic) -> str:
    """The secret a setting's value names: `ssm:<parameter name>` (decrypted) or
    `secretsmanager:<secret id or ARN>` (its SecretString); any other value is the secret.

    Kept per container for LAMBDEX_SECRET_TTL seconds. If a refresh fails, the value in hand
    is used (and the failure logged) rather than failing requests; a first fetch that fails raises.
    """
    if not value.startswith((SSM_PREFIX, SECRETS_MANAGER_PREFIX)):
        return value
    with _cache_lock:
        cached = _cache.get(value)
    if cached is not None and now() - cached[0] < int(get("LAMBDEX_SECRET_TTL")):
        return cached[1]
    try:
        secret = _fetch(value)
    except Exception:
        if cached is None:
            raise
        log.exception("refreshing a secret failed; using the value fetched before", extra={"secret": value})
        secret = cached[1]
    with _cache_lock:
        _cache[value] = (now(), secret)
    return secret


def forget_secrets() -> None:
    """Drop the fetched secrets and the clients (tests)."""
    with _cache_lock:
        _cache.clear()
        _clients.clear()


def secret(name: str) -> str:
    if name not in SECRETS:
        raise KeyError(f"{name} is not a secret setting")
    return resolve(get(name))


def secret_list(name: str) -> list[str]:
    """A secret that may hold several comma-separated values, for rotation with a grace
    period: the first is current (signs), every one is accepted."""
    values = [v.strip() for v in secret(name).split(",") if v.strip()]
    if not values:
        raise ValueError(f"{name} is empty")
    return values


def admin_token() -> str:
    return secret_list("LAMBDEX_ADMIN_TOKEN")[0]


def admin_tokens() -> list[str]:
    return secret_list("LAMBDEX_ADMIN_TOKEN")


def algod_token() -> str:
    return secret_list("LAMBDEX_ALGOD_TOKEN")[0]


def algod_tokens() -> list[str]:
    return secret_list("LAMBDEX_ALGOD_TOKEN")


def jwt_secret() -> str:
    """The secret that signs new relayer sessions."""
    return secret_list("LAMBDEX_JWT_SECRET")[0]


def jwt_secrets() -> list[str]:
    """Every secret a relayer session may be signed with (the current one first)."""
    return secret_list("LAMBDEX_JWT_SECRET")


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
    """The derivation key of deposit addresses and memos. Never rotated: a new seed would
    derive other addresses for the same owners (one value, no comma list)."""
    return secret("LAMBDEX_ADDRESS_SEED")


def deposit_account() -> str:
    return get("LAMBDEX_DEPOSIT_ACCOUNT")


def converter_account() -> str:
    return get("LAMBDEX_CONVERTER_ACCOUNT")


def chain_adapter() -> str:
    return get("LAMBDEX_CHAIN_ADAPTER")
