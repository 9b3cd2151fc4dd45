"""`lambdex`: the operator CLI (Typer + Rich). Not part of the Lambda package: it lives
outside `chalicelib/`, which is all that Chalice ships besides app.py."""
