"""The `lambdex` command: a stage's admin API from a terminal, and the ledger audit.

Every command but `audit` and `load` talks to the admin API at `--url` (default
$LAMBDEX_URL or http://127.0.0.1:8000) with the token $LAMBDEX_ADMIN_TOKEN (default the
local one); changes name the operator (`--operator`, default $LAMBDEX_OPERATOR or the login
name) and ask for a reason. `audit` reads DynamoDB directly (`--endpoint`).
"""

from __future__ import annotations

import getpass
import json
import os
import resource
import subprocess
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lambdex_cli import importer
from lambdex_cli.client import AdminClient, ApiError

LOCAL_URL = "http://127.0.0.1:8000"
LOCAL_ENDPOINT = "http://127.0.0.1:8010"
LOCAL_TOKEN = "local-admin-token"

app = typer.Typer(help=__doc__.split("\n\n")[0] + "\n\n" + __doc__.split("\n\n")[1], no_args_is_help=True,
                  add_completion=False,
                  rich_markup_mode=None, pretty_exceptions_enable=False)
assets_app = typer.Typer(help="Assets: list, show, create.", no_args_is_help=True)
markets_app = typer.Typer(help="Markets: list, show, create, update (fee, minimum), disable, enable.",
                          no_args_is_help=True)
pairs_app = typer.Typer(help="Converter coin pairs: list, create.", no_args_is_help=True)
keys_app = typer.Typer(help="CoinBTR API keys: list, create, revoke, rotate.", no_args_is_help=True)
deposits_app = typer.Typer(help="Observed deposits: list pending, show, reject, refund.", no_args_is_help=True)
withdrawals_app = typer.Typer(help="Withdrawals: list with filters.", no_args_is_help=True)
conversions_app = typer.Typer(help="Converter conversions: list with filters.", no_args_is_help=True)
transfers_app = typer.Typer(help="Outgoing transfers the chain adapter sent: list.", no_args_is_help=True)
balances_app = typer.Typer(help="Balances: freeze, unfreeze.", no_args_is_help=True)
orders_app = typer.Typer(help="Orders: list, cancel one, cancel all of an account or a market.",
                         no_args_is_help=True)
for sub, name in ((assets_app, "assets"), (markets_app, "markets"), (pairs_app, "pairs"), (keys_app, "keys"),
                  (deposits_app, "deposits"), (withdrawals_app, "withdrawals"), (conversions_app, "conversions"),
                  (transfers_app, "transfers"), (balances_app, "balances"), (orders_app, "orders")):
    app.add_typer(sub, name=name)

console = Console()
errors = Console(stderr=True)


class State:
    client: AdminClient
    as_json: bool = False


state = State()


@app.callback()
def options(
    url: Annotated[str, typer.Option(envvar="LAMBDEX_URL", help="the stage's API")] = LOCAL_URL,
    token: Annotated[str, typer.Option(envvar="LAMBDEX_ADMIN_TOKEN", help="admin bearer token",
                                       show_default=False)] = LOCAL_TOKEN,
    operator: Annotated[str | None, typer.Option(envvar="LAMBDEX_OPERATOR",
                                                 help="who makes changes (default: the login name)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False,
) -> None:
    state.client = AdminClient(url, token, operator or _login())
    state.as_json = as_json


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# -- output -----------------------------------------------------------------------------------

def show(rows: list[dict] | dict, columns: list[str] | None = None, title: str | None = None) -> None:
    if state.as_json:
        console.print_json(json.dumps(rows))
        return
    if isinstance(rows, dict):
        table = Table(title=title, show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value")
        for key, value in rows.items():
            table.add_row(key, _cell(value))
        console.print(table)
        return
    columns = columns or (list(rows[0]) if rows else [])
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    console.print(table)
    if not rows:
        console.print("(none)")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def call(function, *args, **kwargs):
    """Run an API call; a refusal prints its message and exits 1 (2 if unreachable)."""
    try:
        return function(*args, **kwargs)
    except ApiError as error:
        errors.print(f"[red]error:[/red] {error.message}", markup=True, highlight=False)
        raise typer.Exit(2 if error.status == 0 else 1) from None


Reason = Annotated[str, typer.Option(prompt=True, help="why (journaled with the change)")]
Limit = Annotated[int, typer.Option(min=1, max=100, help="rows per page")]


def listing(path: str, columns: list[str], every: bool, limit: int, **filters) -> None:
    if every:
        rows = call(lambda: list(state.client.pages(path, limit=limit, **filters)))
        show(rows, columns)
        return
    page = call(state.client.get, path, limit=limit, **filters)
    if state.as_json:  # the page with its cursor, for scripts
        console.print_json(json.dumps(page))
        return
    show(page["items"], columns)
    if page.get("cursor"):
        console.print(f"more: --cursor {page['cursor']}  (or --all)")


# -- assets ------------------------------------------------------------------------------------

ASSET_COLUMNS = ["name", "asset_id", "decimals", "token_address", "supply", "settlement", "deposit", "network_fee"]


@assets_app.command("list")
def assets_list() -> None:
    """Every asset."""
    show(call(state.client.get, "/admin/assets"), ASSET_COLUMNS)


@assets_app.command("show")
def assets_show(name: str) -> None:
    """One asset, every field."""
    show(call(state.client.get, f"/admin/assets/{name}"))


@assets_app.command("create")
def assets_create(
    name: str,
    decimals: Annotated[int, typer.Option(min=0, max=19)] = 0,
    asset_id: Annotated[int | None, typer.Option(help="algod asset id")] = None,
    token_address: Annotated[str | None, typer.Option(help="0x token contract")] = None,
    supply: Annotated[str | None, typer.Option(help="base units, credited to --issuer")] = None,
    issuer: str | None = None,
    description: str | None = None,
    deposit: Annotated[str | None, typer.Option(help="address | memo")] = None,
    network_fee: Annotated[str | None, typer.Option(help="base units")] = None,
) -> None:
    """Create an asset (more fields: lambdex import)."""
    body = {"name": name, "decimals": decimals, "asset_id": asset_id, "token_address": token_address,
            "supply": supply, "issuer": issuer, "description": description, "deposit": deposit,
            "network_fee": network_fee}
    show(call(state.client.post, "/admin/assets", {k: v for k, v in body.items() if v is not None}))


# -- markets -----------------------------------------------------------------------------------

MARKET_COLUMNS = ["id", "number", "base", "quote", "fee", "min_amount", "enabled", "name"]


@markets_app.command("list")
def markets_list() -> None:
    """Every market."""
    show(call(state.client.get, "/admin/markets"), MARKET_COLUMNS)


@markets_app.command("show")
def markets_show(market_id: str) -> None:
    """One market."""
    show(call(state.client.get, f"/admin/markets/{market_id}"))


@markets_app.command("create")
def markets_create(
    market_id: Annotated[str, typer.Argument(help="BASE-QUOTE, e.g. ZRX-WETH")],
    base: Annotated[str, typer.Option()],
    quote: Annotated[str, typer.Option()],
    fee: Annotated[str, typer.Option(help="rate taken from the taker's proceeds, e.g. 0.001")] = "0",
    min_amount: Annotated[str, typer.Option(help="decimal, in the base asset")] = "0",
    name: str | None = None,
) -> None:
    """Create a market."""
    body = {"id": market_id, "base": base, "quote": quote, "fee": fee, "min_amount": min_amount, "name": name}
    show(call(state.client.post, "/admin/markets", {k: v for k, v in body.items() if v is not None}))


@markets_app.command("update")
def markets_update(
    market_id: str,
    reason: Reason,
    fee: Annotated[str | None, typer.Option(help="new fee rate")] = None,
    min_amount: Annotated[str | None, typer.Option(help="new minimum (decimal, base asset)")] = None,
    name: str | None = None,
    url: str | None = None,
) -> None:
    """Change a market's fee, minimum amount, name or url."""
    changes = {k: v for k, v in {"fee": fee, "min_amount": min_amount, "name": name, "url": url}.items()
               if v is not None}
    if not changes:
        errors.print("error: give --fee, --min-amount, --name or --url")
        raise typer.Exit(1)
    show(call(state.client.request, "PATCH", f"/admin/markets/{market_id}", changes, reason=reason))


@markets_app.command("disable")
def markets_disable(market_id: str, reason: Reason) -> None:
    """Refuse new orders on a market in every dialect (open orders stay)."""
    market = call(state.client.post, f"/admin/markets/{market_id}/disable", reason=reason)
    show(market)
    console.print(f"{market['id']} is disabled: new orders are refused (cancel open ones with "
                  f"`lambdex orders cancel-all --market {market['id']}`)")


@markets_app.command("enable")
def markets_enable(market_id: str, reason: Reason) -> None:
    """Take orders on a market again."""
    show(call(state.client.post, f"/admin/markets/{market_id}/enable", reason=reason))


# -- pairs -------------------------------------------------------------------------------------

@pairs_app.command("list")
def pairs_list() -> None:
    """Every converter pair."""
    show(call(state.client.get, "/admin/pairs"), ["id", "from_coin", "to_coin", "exchange_rate", "ex_fee"])


@pairs_app.command("create")
def pairs_create(from_coin: str, to_coin: str,
                 rate: Annotated[str, typer.Option(help="to_coin per from_coin")],
                 ex_fee: Annotated[str, typer.Option(help="percent")] = "0") -> None:
    """Create a converter pair."""
    show(call(state.client.post, "/admin/pairs", {"from_coin": from_coin, "to_coin": to_coin,
                                                   "exchange_rate": rate, "ex_fee": ex_fee}))


# -- API keys ----------------------------------------------------------------------------------

KEY_COLUMNS = ["id", "account", "scopes", "label", "revoked_us", "replaced_by"]


class Scope(StrEnum):
    read = "read"
    trade = "trade"
    withdraw = "withdraw"


@keys_app.command("list")
def keys_list(account: str) -> None:
    """An account's keys (revoked ones too)."""
    show(call(state.client.get, "/admin/apikeys", account=account), KEY_COLUMNS)


@keys_app.command("create")
def keys_create(account: str,
                scope: Annotated[list[Scope], typer.Option(help="repeat: read, trade, withdraw")] = (Scope.read,),
                label: str | None = None) -> None:
    """Create a key (shown once)."""
    body = {"account": account, "scopes": [s.value for s in scope], **({"label": label} if label else {})}
    show(call(state.client.post, "/admin/apikeys", body))


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="the key's id (64 hex, from keys list)")],
                reason: Reason) -> None:
    """Revoke a key: it stops authenticating."""
    show(call(state.client.post, f"/admin/apikeys/{key_id}/revoke", reason=reason))


@keys_app.command("rotate")
def keys_rotate(key_id: str, reason: Reason) -> None:
    """Replace a key by a new one (same account, scopes, label); the old one is revoked."""
    show(call(state.client.post, f"/admin/apikeys/{key_id}/rotate", reason=reason))


# -- deposits, withdrawals, conversions, transfers -----------------------------------------------

DEPOSIT_COLUMNS = ["id", "coin", "txid", "vout", "address", "quantity", "confirmations", "status", "owner"]


@deposits_app.command("list")
def deposits_list(status: Annotated[str, typer.Option(help="new | mapped")] = "new") -> None:
    """Deposits the scheduler still has to process."""
    show(call(state.client.get, "/admin/deposits", status=status), DEPOSIT_COLUMNS)


@deposits_app.command("show")
def deposits_show(coin: str, txid: str, vout: int = 0) -> None:
    """One deposit."""
    show(call(state.client.get, f"/admin/deposits/{coin}/{txid}/{vout}"))


@deposits_app.command("reject")
def deposits_reject(coin: str, txid: str, reason: Reason, vout: int = 0) -> None:
    """Never credit a new deposit (it ends inv)."""
    show(call(state.client.post, f"/admin/deposits/{coin}/{txid}/{vout}/reject", reason=reason))


@deposits_app.command("refund")
def deposits_refund(coin: str, txid: str, address: Annotated[str, typer.Option(help="send it back to")],
                    reason: Reason, vout: int = 0, memo: str | None = None) -> None:
    """Send a deposit back (a credited one is taken back from its owner first)."""
    body = {"address": address, **({"memo": memo} if memo is not None else {})}
    show(call(state.client.post, f"/admin/deposits/{coin}/{txid}/{vout}/refund", body, reason=reason))


@withdrawals_app.command("list")
def withdrawals_list(account: str | None = None,
                     status: Annotated[str | None, typer.Option(help="pending | signed | sent | refunded")] = None,
                     coin: str | None = None, limit: Limit = 50, cursor: str | None = None,
                     every: Annotated[bool, typer.Option("--all", help="every page")] = False) -> None:
    """Withdrawals, newest first."""
    listing("/admin/withdrawals", ["id", "account", "coin", "address", "quantity", "fee", "status", "txid"],
            every, limit, account=account, status=status, coin=coin, cursor=cursor)


@conversions_app.command("list")
def conversions_list(status: Annotated[str | None, typer.Option(help="queued | sending | sent")] = None,
                     from_coin: str | None = None, to_coin: str | None = None, to_address: str | None = None,
                     limit: Limit = 50, cursor: str | None = None,
                     every: Annotated[bool, typer.Option("--all", help="every page")] = False) -> None:
    """Conversions, newest first."""
    listing("/admin/conversions", ["id", "from_coin", "to_coin", "from_amount", "to_amount", "to_address",
                                   "status", "to_txid"],
            every, limit, status=status, from_coin=from_coin, to_coin=to_coin, to_address=to_address, cursor=cursor)


@transfers_app.command("list")
def transfers_list(coin: str | None = None, to_address: str | None = None, limit: Limit = 50,
                   cursor: str | None = None,
                   every: Annotated[bool, typer.Option("--all", help="every page")] = False) -> None:
    """Sent transfers (the local chain adapter's outbox), newest first."""
    listing("/admin/transfers", ["id", "coin", "to_address", "quantity", "txid"], every, limit, coin=coin,
            to_address=to_address, cursor=cursor)


@app.command("actions")
def actions_list(operator: Annotated[str | None, typer.Option(help="default: --operator")] = None,
                 limit: Limit = 50) -> None:
    """An operator's journaled changes, newest first."""
    page = call(state.client.get, "/admin/actions", operator=operator or state.client.operator, limit=limit)
    show(page["items"], ["time_us", "kind", "ref", "operator", "reason"])


# -- balances, orders ------------------------------------------------------------------------------

@balances_app.command("freeze")
def balances_freeze(address: str, asset: str, reason: Reason) -> None:
    """Freeze a balance: nothing can be taken from its available amount."""
    show(call(state.client.post, f"/admin/balances/{address}/{asset}/freeze", reason=reason))


@balances_app.command("unfreeze")
def balances_unfreeze(address: str, asset: str, reason: Reason) -> None:
    """Unfreeze a balance."""
    show(call(state.client.post, f"/admin/balances/{address}/{asset}/unfreeze", reason=reason))


ORDER_COLUMNS = ["tx_hash", "market", "source", "side", "give_asset", "give_remaining", "get_asset",
                 "get_remaining", "status", "dialect"]


@orders_app.command("list")
def orders_list(account: str | None = None,
                market: Annotated[str | None, typer.Option(help="its open orders, best first")] = None,
                status: str | None = None, limit: Limit = 50, cursor: str | None = None,
                every: Annotated[bool, typer.Option("--all", help="every page")] = False) -> None:
    """An account's orders or a market's open orders."""
    listing("/admin/orders", ORDER_COLUMNS, every, limit, account=account, market=market, status=status,
            cursor=cursor)


@orders_app.command("cancel")
def orders_cancel(tx_hash: str, reason: Reason) -> None:
    """Cancel one open order."""
    show(call(state.client.post, f"/admin/orders/{tx_hash}/cancel", reason=reason))


@orders_app.command("cancel-all")
def orders_cancel_all(reason: Reason, account: str | None = None, market: str | None = None,
                      page: Annotated[int, typer.Option(min=1, max=100, help="orders per call")] = 50) -> None:
    """Cancel every open order of an account or a market, a page per call."""
    if (account is None) == (market is None):
        errors.print("error: give --account or --market")
        raise typer.Exit(1)
    path = f"/admin/accounts/{account}/orders/cancel" if account else f"/admin/markets/{market}/orders/cancel"
    cancelled, cursor = 0, None
    with _progress() as progress:
        task = progress.add_task("cancelling", total=None)
        while True:
            body = {"limit": page, **({"cursor": cursor} if cursor else {})}
            answer = call(state.client.post, path, body, reason=reason)
            cancelled += len(answer["cancelled"])
            progress.update(task, completed=cancelled)
            cursor = answer["cursor"]
            if not cursor:
                break
    console.print(f"cancelled {cancelled} order(s)")


# -- import, audit, load ------------------------------------------------------------------------------

@app.command("import")
def import_file(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".yaml/.yml or .csv")],
                kind: Annotated[str | None, typer.Option(help="CSV: assets | markets | pairs")] = None) -> None:
    """Create the assets, markets and pairs of a file that do not exist yet (idempotent)."""
    try:
        items = importer.read_items(path, kind)
    except importer.ImportFileError as error:
        errors.print(f"error: {error}", highlight=False)
        raise typer.Exit(1) from None
    with _progress() as progress:
        task = progress.add_task("importing", total=len(items))
        outcomes = importer.apply(state.client, items, lambda: progress.advance(task))
    show([vars(o) for o in outcomes], ["kind", "id", "result", "detail"])
    counts = {r: sum(o.result == r for o in outcomes) for r in ("created", "unchanged", "differs", "failed")}
    if counts["created"] == 0 and counts["differs"] == 0 and counts["failed"] == 0:
        console.print(f"nothing to change: all {len(outcomes)} item(s) exist as the file says")
    else:
        console.print(", ".join(f"{n} {r}" for r, n in counts.items()))
    if counts["differs"] or counts["failed"]:
        raise typer.Exit(1)


@app.command("audit")
def audit(
    endpoint: Annotated[str, typer.Option(envvar="LAMBDEX_DYNAMODB_ENDPOINT",
                                          help="DynamoDB endpoint ('' for AWS)")] = LOCAL_ENDPOINT,
    prefix: Annotated[str, typer.Option(envvar="LAMBDEX_TABLE_PREFIX", help="table prefix")] = "lambdex-local",
    page_size: Annotated[int, typer.Option(min=1, max=10_000, help="items per Scan page")] = 1000,
) -> None:
    """Audit the ledger page by page: the journal replayed against the balances, and the books. Exit 0 when
    consistent, else one bit per kind of finding: 1 balance mismatch, 2 negative balance, 4 entry that creates
    value, 8 conservation, 16 crossed book, 32 fills that do not match, 64 failing market; 255 when the tables
    cannot be read."""
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.admin import audit as ledger_audit

    ledger_audit.use_tables(endpoint or None, prefix)
    started = time.perf_counter()
    try:
        sizes = ledger_audit.table_sizes()
        with _progress() as progress:
            tasks = {name: progress.add_task(name, total=sizes.get(name) or None) for name in ledger_audit.TABLES}
            report = ledger_audit.audit(lambda table, read: progress.update(tasks[table], completed=read),
                                        page_size=page_size)
            for task in tasks.values():  # item counts are estimates on AWS: end the bars where the reads ended
                progress.update(task, total=progress.tasks[task].completed)
    except (BotoCoreError, ClientError) as error:
        errors.print(f"error: cannot read the ledger at {endpoint or 'AWS'} (prefix {prefix}): {error}",
                     highlight=False)
        raise typer.Exit(ledger_audit.UNREADABLE) from None
    console.print(report.summary(), highlight=False, markup=False)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    console.print(f"{time.perf_counter() - started:.1f} s, peak memory (RSS) {peak_mib:.0f} MiB")
    raise typer.Exit(ledger_audit.exit_status(report))


@app.command("backfill-day-stats")
def backfill_day_stats(
    endpoint: Annotated[str, typer.Option(envvar="LAMBDEX_DYNAMODB_ENDPOINT",
                                          help="DynamoDB endpoint ('' for AWS)")] = LOCAL_ENDPOINT,
    prefix: Annotated[str, typer.Option(envvar="LAMBDEX_TABLE_PREFIX", help="table prefix")] = "lambdex-local",
    market: Annotated[str | None, typer.Option(help="one market id (default: every market)")] = None,
) -> None:
    """Once, after upgrading a stage that traded before the market_stats table: sum each market's completed
    matches of the last 24 h (and of the last hour that traded before) into the hourly buckets the tickers
    read. Hours that have a bucket are left as they are; running it again writes nothing. Reads DynamoDB
    directly, like `audit`."""
    from chalicelib.admin import audit as ledger_audit
    from chalicelib.ledger import clock as clocks
    from chalicelib.ledger import market_data, stores

    ledger_audit.use_tables(endpoint or None, prefix)
    chosen = [m for m in stores.markets().list() if market is None or m.id == market]
    if market is not None and not chosen:
        errors.print(f"error: no market {market}", highlight=False)
        raise typer.Exit(1)
    clock = clocks.current()
    rows = [{"market": m.id, "hours written": len(market_data.backfill_day_stats(m, clock))} for m in chosen]
    show(rows, ["market", "hours written"])


@app.command("load", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def load(
    ctx: typer.Context,
    start: Annotated[bool, typer.Option("--start", help="start a fresh local stack instead of using --url")] = False,
    endpoint: Annotated[str, typer.Option(help="the stack's DynamoDB (for the audit after)")] = LOCAL_ENDPOINT,
    prefix: str = "lambdex-local",
    clients: int = 8, markets: int = 3, seconds: float = 30.0,
) -> None:
    """Run the bounded load benchmark (bench/load.py) against --url (loopback only) or a fresh stack."""
    script = Path(__file__).resolve().parents[1] / "bench" / "load.py"
    if not script.exists():
        errors.print(f"error: {script} not found: `lambdex load` runs from a source checkout (pip install -e .)")
        raise typer.Exit(1)
    args = [sys.executable, str(script), "--clients", str(clients), "--markets", str(markets),
            "--seconds", str(seconds)]
    if not start:
        args += ["--url", state.client.url, "--ddb", endpoint, "--prefix", prefix,
                 "--admin-token", state.client.token]
    raise typer.Exit(subprocess.call([*args, *ctx.args], env=os.environ.copy()))


def _progress() -> Progress:
    return Progress(TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=errors, transient=False)


def run() -> None:
    app(prog_name="lambdex")
