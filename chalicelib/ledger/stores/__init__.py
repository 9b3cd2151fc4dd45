"""Stores: one module per table (or aggregate) owns its keys, indexes, queries and
conditional writes. Each has a DynamoDB implementation and an in-memory twin that pass
one shared contract suite (`tests/contract/`)."""
