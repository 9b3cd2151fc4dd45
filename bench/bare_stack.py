"""The cold-start floor of the bare stack: what any Chalice + PynamoDB + pydantic Lambda on
botocore imports before a line of its own code (bench/cold_start.py measures `import app`
against it).

`pydantic.BaseModel`, not just `import pydantic`: in pydantic v2 the package import is lazy
and loads almost nothing, and no pydantic Lambda can declare a model without `BaseModel`
(about 18 ms of CPU here). Until 2026-12-01 the floor imported `pydantic` alone; bench/README
keeps the ratios measured against that thinner floor."""

import botocore.session  # noqa: F401
import chalice  # noqa: F401
import pynamodb.models  # noqa: F401
from pydantic import BaseModel  # noqa: F401
