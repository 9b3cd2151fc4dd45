"""The soak's fault injector (chalicelib/local/faults.py): it counts what it injected and the
chances each kind had, only while its switch file exists, and a crash really stops the
handler mid-batch (the first half handled, then an error) while a redelivery hands the same
batch over twice."""

from __future__ import annotations

import json

import pytest

from chalicelib.local import faults


def counts(switch) -> dict:
    return json.loads((switch.parent / (switch.name + ".counts")).read_text())


def test_only_while_the_switch_exists_and_every_chance_counted(tmp_path):
    switch = tmp_path / "on"
    injector = faults.Faults({"crash": 1.0, "redeliver": 0.0}, str(switch))
    assert not injector.draw("crash")  # switched off: no draw at all
    switch.touch()
    assert injector.draw("crash") and not injector.draw("redeliver")
    assert counts(switch) == {"injected": {"crash": 1}, "drawn": {"crash": 1, "redeliver": 1}}
    switch.unlink()
    assert not injector.draw("crash")
    assert injector.drawn == {"crash": 1, "redeliver": 1}


def test_a_crash_handles_half_the_batch_then_fails_and_a_redelivery_repeats_it(tmp_path):
    switch = tmp_path / "on"
    switch.touch()
    seen: list[list[int]] = []

    def handler(event, context):
        seen.append(event["Records"])
        return {"batchItemFailures": []}

    crashing = faults.wrap_stream_handler(handler, faults.Faults({"crash": 1.0}, str(switch)))
    with pytest.raises(RuntimeError, match="crashed mid-batch"):
        crashing({"Records": [1, 2, 3, 4]}, None)
    assert seen == [[1, 2]]
    seen.clear()
    repeating = faults.wrap_stream_handler(handler, faults.Faults({"redeliver": 1.0}, str(switch)))
    assert repeating({"Records": [1, 2, 3]}, None) == {"batchItemFailures": []}
    assert seen == [[1, 2, 3], [1, 2, 3]]
    assert counts(switch)["injected"] == {"redeliver": 1}


def test_the_counts_file_is_replaced_whole_while_a_reader_reads_it(tmp_path):
    """The soak reads the file while the runner rewrites it: a reader never sees it half-written."""
    import threading

    switch = tmp_path / "on"
    switch.touch()
    injector = faults.Faults({"crash": 0.5}, str(switch))
    stop = threading.Event()
    bad: list[str] = []

    def read():
        while not stop.is_set():
            try:
                counts(switch)
            except FileNotFoundError:
                pass
            except json.JSONDecodeError as error:
                bad.append(str(error))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(3000):
            injector.draw("crash")
    finally:
        stop.set()
        reader.join(60)
    assert not bad, bad[:3]
    assert counts(switch)["drawn"] == {"crash": 3000}
