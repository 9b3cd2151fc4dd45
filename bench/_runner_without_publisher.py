"""The local stack (`python -m chalicelib.local.runner`) without the realtime publisher:
`match_latency.py` with BENCH_PUBLISHER=0 starts this instead, to tell the matcher's own
latency from the publisher's competition for the runner's one process. In AWS the publisher
is its own function with its own CPU."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib.local import runner  # noqa: E402


def app_without_publisher():
    module = runner._import_app()
    if hasattr(module, "publish_realtime"):
        delattr(module, "publish_realtime")  # the runner then starts no publisher
    return module


if __name__ == "__main__":
    sys.exit(runner.main(lambda settings: runner.Runner(settings, load_app=app_without_publisher)))
