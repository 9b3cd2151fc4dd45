"""The environment of in-process runs on moto (tests and the moto benchmarks).

Importing this module sets it; import it before anything from `chalicelib`, whose
models read the environment when they are imported.
"""

import os

TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "LAMBDEX_TABLE_PREFIX": "test",
    "LAMBDEX_DYNAMODB_ENDPOINT": "",
    "LAMBDEX_ADMIN_TOKEN": "test-admin-token",
    "LAMBDEX_ALGOD_TOKEN": "test-algod-token",
    "LAMBDEX_JWT_SECRET": "test-jwt-secret-0123456789abcdef0123456789",
    "LAMBDEX_ADDRESS_SEED": "test-address-seed",
    "LAMBDEX_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",  # tests/api/test_observability.py turns them on to read them
}

os.environ.update(TEST_ENVIRONMENT)
