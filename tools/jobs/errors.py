"""The errors a job's caller can get: each says what happened and what to do."""

from __future__ import annotations

from junior_ai.core.errors import InvalidInputError


class UnknownJobError(InvalidInputError):
    """No such job for this caller: never existed, expired, or belongs to someone else (all look the same)."""


class JobLimitError(InvalidInputError):
    """The caller already has as many jobs as allowed."""
