"""Domain errors raised by the ledger core.

Each dialect module maps them to its own status code and body; the core never knows
about HTTP. `field` names the offending input where there is one.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the core raises on purpose."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(LedgerError):
    status = 400


class OutOfRange(InvalidInput):
    """A number that does not fit (e.g. more than 38 significant digits)."""


class NotFound(LedgerError):
    status = 404


class AlreadyExists(LedgerError):
    status = 409


class Conflict(LedgerError):
    """The request contradicts stored state (e.g. a re-posted deposit with another amount)."""

    status = 409


class InsufficientFunds(LedgerError):
    status = 400


class Forbidden(LedgerError):
    status = 403


class Unauthorized(LedgerError):
    status = 401


class Busy(LedgerError):
    """Contention did not clear within the retry budget; the caller may retry."""

    status = 503


class MethodNotAllowed(LedgerError):
    """The path exists, the HTTP method does not."""

    status = 405


class PayloadTooLarge(LedgerError):
    status = 413


class UnsupportedMediaType(LedgerError):
    status = 415


class InternalError(LedgerError):
    """An unexpected failure, rendered in the dialect's shape (the cause is logged)."""

    status = 500
