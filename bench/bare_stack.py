"""The cold-start floor of the bare stack: what any Chalice + PynamoDB + pydantic Lambda on
botocore imports before a line of its own code (bench/cold_start.py measures `import app`
against it)."""

import botocore.session  # noqa: F401
import chalice  # noqa: F401
import pydantic  # noqa: F401
import pynamodb.models  # noqa: F401
