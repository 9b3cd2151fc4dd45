"""Fault injection for the local stack (the soak test): `make run` never sets it.

`LAMBDEX_LOCAL_FAULTS="conflict=0.03,throttle=0.03,lost=0.02,crash=0.05,redeliver=0.05"`
makes the runner process (and only it) inject, while the file named by
`LAMBDEX_LOCAL_FAULTS_SWITCH` exists (the soak creates it when its load starts and deletes
it when the load stops; without the variable, always):

- `conflict`: a TransactWriteItems cancelled with `TransactionConflict` (DynamoDB's answer
  when another transaction holds an item; neither emulator produces it);
- `throttle`: a TransactWriteItems refused with `ThrottlingException`;
- `lost`: a TransactWriteItems that committed, whose response is lost (`InternalServerError`);
- `crash`: the stream handler dies mid-batch (after settling the first half of the batch's
  records) and the poller redelivers the whole batch, as Lambda does;
- `redeliver`: a batch handled successfully is delivered a second time.

Each injected fault is logged as `{"event": "fault.injected", "fault": <kind>}` and counted
in `<switch file>.counts` (JSON `{"injected": {kind: n}, "drawn": {kind: n}}`, rewritten on
each fault and on each stream batch), which the soak reads: the app's own logger may send the
log elsewhere. `drawn` counts the chances each kind had (TransactWriteItems calls, stream
batches), so a count of injected faults can be read against it. Faults are drawn with the
operation's probability from one seeded generator.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
from collections.abc import Callable

log = logging.getLogger("lambdex_local.faults")

KINDS = ("conflict", "throttle", "lost", "crash", "redeliver")
_rng = random.Random(int(os.environ.get("LAMBDEX_LOCAL_FAULTS_SEED", "7")))
_lock = threading.Lock()


def parse(spec: str) -> dict[str, float]:
    rates = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        kind, _, rate = part.partition("=")
        if kind not in KINDS:
            raise ValueError(f"LAMBDEX_LOCAL_FAULTS: unknown fault {kind!r} (known: {', '.join(KINDS)})")
        rates[kind] = float(rate)
    return rates


BATCH_KINDS = ("crash", "redeliver")  # drawn once per stream batch (few): the counts file is kept exact


class Faults:
    def __init__(self, rates: dict[str, float], switch: str | None):
        self.rates, self.switch = rates, switch
        self.counts: dict[str, int] = {}
        self.drawn: dict[str, int] = {}

    def draw(self, kind: str) -> bool:
        if self.switch is not None and not os.path.exists(self.switch):
            return False
        with _lock:
            hit = _rng.random() < self.rates.get(kind, 0.0)
            self.drawn[kind] = self.drawn.get(kind, 0) + 1
            if hit:
                self.counts[kind] = self.counts.get(kind, 0) + 1
            if self.switch is not None and (hit or kind in BATCH_KINDS):
                # whole or not at all: the soak may read it at any moment (a truncated file is no JSON)
                with open(self.switch + ".counts.tmp", "w") as out:
                    json.dump({"injected": self.counts, "drawn": self.drawn}, out)
                os.replace(self.switch + ".counts.tmp", self.switch + ".counts")
        if hit:
            log.warning("fault.injected", extra={"fault": kind})
        return hit


def _error(code: str, operation: str, reasons: list[str] | None = None):
    from botocore.exceptions import ClientError

    response: dict = {"Error": {"Code": code, "Message": f"injected {code}"}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": r} for r in reasons]
    return ClientError(response, operation)


def install_from_environment(environ=os.environ) -> Faults | None:
    """Patch botocore's client call in this process when LAMBDEX_LOCAL_FAULTS is set."""
    spec = environ.get("LAMBDEX_LOCAL_FAULTS", "")
    if not spec:
        return None
    faults = Faults(parse(spec), environ.get("LAMBDEX_LOCAL_FAULTS_SWITCH") or None)
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def call(self, operation_name, api_params):
        if operation_name == "TransactWriteItems":
            if faults.draw("conflict"):
                items = api_params.get("TransactItems", [])
                raise _error("TransactionCanceledException", operation_name,
                             ["None"] * (len(items) - 1) + ["TransactionConflict"])
            if faults.draw("throttle"):
                raise _error("ThrottlingException", operation_name)
            result = original(self, operation_name, api_params)
            if faults.draw("lost"):
                raise _error("InternalServerError", operation_name)
            return result
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = call
    log.warning("faults.installed", extra={"rates": faults.rates, "switch": faults.switch})
    return faults


def wrap_stream_handler(handler: Callable, faults: Faults | None) -> Callable:
    """The handler as Lambda would run it with crashes and redeliveries."""
    if faults is None:
        return handler

    def handle(event, context):
        if faults.draw("crash"):
            records = event.get("Records", [])
            handler({**event, "Records": records[: len(records) // 2]}, context)
            raise RuntimeError("injected: the matcher crashed mid-batch")
        result = handler(event, context)
        if faults.draw("redeliver"):
            handler(event, context)
        return result

    return handle
