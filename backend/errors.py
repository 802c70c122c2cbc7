"""Domain errors: why a use case refused, in a sentence for the person who asked, with no HTTP in them.

Services raise these; one exception handler (backend.api.deps.domain_error_handler) turns them into HTTP
answers for the JSON API and the console's pages alike.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refused request, with a sentence for the person who asked."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """The conversation, ticket or record asked for does not exist."""


class NotAllowed(DomainError):
    """The person asking may not do this (an agent where only a supervisor may)."""


class Conflict(DomainError):
    """The thing is not in a state that allows this now; `owner` names who holds it, when that is why."""

    def __init__(self, detail: str, *, owner: str | None = None) -> None:
        super().__init__(detail)
        self.owner = owner


class InvalidInput(DomainError):
    """What was sent cannot be used as it is (an empty message, a negative amount)."""
