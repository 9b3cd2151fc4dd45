"""Lambdex: one Chalice app serving five exchange API dialects over one ledger.

Thin by design: it registers one Blueprint per dialect (and `docs`: /openapi.json, /docs),
the orders-stream matcher and the scheduler. Everything else lives in `chalicelib/`.
"""

import gc

# No garbage collection while the modules load: they only allocate (classes, models, routes),
# and the repeated full collections of a growing heap were a third of `import app`'s CPU
# (bench/cold_start.py). Resumed at the end of this module, with what was loaded frozen so
# later collections skip it.
_collecting = gc.isenabled()
gc.disable()

import logging  # noqa: E402

from chalice import Chalice, Rate  # noqa: E402

from chalicelib import logs, observability, settings  # noqa: E402
from chalicelib.api import cors, dialects  # noqa: E402
from chalicelib.api.admin import admin  # noqa: E402
from chalicelib.api.algod import algod  # noqa: E402
from chalicelib.api.coinbtr_trading import coinbtr_trading  # noqa: E402
from chalicelib.api.coinbtr_wallet import coinbtr_wallet  # noqa: E402
from chalicelib.api.converter import converter  # noqa: E402
from chalicelib.api.counterparty import counterparty  # noqa: E402
from chalicelib.api.docs import docs  # noqa: E402
from chalicelib.api.health import health  # noqa: E402
from chalicelib.api.relayer import relayer  # noqa: E402
from chalicelib.api.ui import ui  # noqa: E402
from chalicelib.ledger.clock import current as clock  # noqa: E402

observability.configure()
log = logging.getLogger("lambdex.http")

app = Chalice(app_name="lambdex", configure_logs=False)
app.api.binary_types.append("application/msgpack")
app.experimental_feature_flags.update(["WEBSOCKETS"])


@app.middleware("all")
def stage_safe(event, get_response):
    """Outside the local stage, a function whose secrets are the local defaults fails every
    invocation (its first request included) with a clear log line (settings.check_stage_safe)."""
    settings.check_stage_safe()
    return get_response(event)


@app.middleware("http")
def log_request(event, get_response):
    """One JSON line per request: what was asked, the answer, how long it took; 5xx counted."""
    request_id = (event.context or {}).get("requestId")
    with observability.invocation(event.lambda_context, correlation_id=request_id):
        timer = logs.Timer()
        response = get_response(event)
        if response.status_code >= 500:
            observability.count("Http5xx")
        log.info("request", extra={"method": event.method, "route": event.path, "params": event.uri_params,
                                   "status": response.status_code, "ms": timer.ms(), "request_id": request_id})
    return response


app.register_blueprint(admin)
app.register_blueprint(counterparty)
app.register_blueprint(algod)
app.register_blueprint(coinbtr_trading)
app.register_blueprint(coinbtr_wallet)
app.register_blueprint(converter)
app.register_blueprint(relayer)
app.register_blueprint(docs)
app.register_blueprint(ui)
app.register_blueprint(health)


@app.middleware("http")
def cors_origin(event, get_response):
    """With several allowed origins, a response names the caller's (Vary: Origin)."""
    response = get_response(event)
    cors.vary_origin(event.headers, response.headers)
    return response


dialects.install(app)  # after the last Blueprint: error bodies, 405s and the catch-all per dialect


@app.on_dynamodb_record(stream_arn=settings.orders_stream_arn(), batch_size=100, starting_position="TRIM_HORIZON")
def match_orders(event):
    from chalicelib.events import matcher  # the handlers below import their modules on first use: no HTTP
    # request needs the matcher, the scheduler or the realtime code, so the API's cold start skips them

    with observability.invocation(event.context):
        return matcher.handle(event.to_dict(), clock())


@app.schedule(Rate(1, unit=Rate.MINUTES))
def run_scheduler(event):
    from chalicelib.events import scheduler

    with observability.invocation(event.context):
        return scheduler.run(clock())


# -- realtime (docs/realtime.md): the WebSocket API and the publisher on the orders and matches
# streams (the matches stream's mapping is added to this function in infra/stack.json).

@app.on_ws_connect()
def websocket_connect(event):
    from chalicelib.realtime import handlers as realtime

    return realtime.connect(event.to_dict(), clock())


@app.on_ws_message()
def websocket_message(event):
    from chalicelib.realtime import handlers as realtime

    return realtime.message(event.to_dict(), clock())


@app.on_ws_disconnect()
def websocket_disconnect(event):
    from chalicelib.realtime import handlers as realtime

    return realtime.disconnect(event.to_dict())


@app.on_dynamodb_record(stream_arn=settings.orders_stream_arn(), batch_size=100, starting_position="LATEST")
def publish_realtime(event):
    from chalicelib.realtime import publisher

    with observability.invocation(event.context):
        return publisher.handle(event.to_dict(), clock())


cors.apply(app.routes)  # last: every route registered above gets its CORS config (none on /admin)

gc.freeze()  # everything loaded so far is long-lived: later collections need not walk it
if _collecting:
    gc.enable()
