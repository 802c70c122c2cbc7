"""Domain errors: why a use case refused, in a sentence for the person who asked, with no HTTP in them.

Services raise these; one exception handler (backend.api.deps.domain_error_handler) turns them into HTTP
answers for the JSON API and the console's pages alike. The sentence is a msgid with `{placeholders}`
and its values (`NotAllowed(N_("Only supervisors may do this."))`, `NotFound(N_("No ticket {number}."),
number=n)`): `detail` is the English text the API under /api answers with, and `text(language)` the
same sentence in the console reader's language. A sentence built beforehand (an f-string) still works;
it is simply said as it is, in English.
"""

from __future__ import annotations

from typing import Any

from backend.i18n import t


class DomainError(Exception):
    """A refused request, with a sentence for the person who asked."""

    def __init__(self, detail: str, **values: Any) -> None:
        self.msgid = detail
        self.values = values
        self.detail = t("en", detail, **values) if values else detail
        super().__init__(self.detail)

    def text(self, language: str | None) -> str:
        """The refusal in the reader's language (English when the catalog does not know the sentence)."""
        return t(language, self.msgid, **self.values)


class NotLoggedIn(DomainError):
    """Nobody is logged in where someone must be (the console's JSON API without a session)."""


class NotFound(DomainError):
    """The conversation, ticket or record asked for does not exist."""


class NotAllowed(DomainError):
    """The person asking may not do this (an agent where only a supervisor may)."""


class Conflict(DomainError):
    """The thing is not in a state that allows this now; `owner` names who holds it, when that is why."""

    def __init__(self, detail: str, *, owner: str | None = None, **values: Any) -> None:
        if owner is not None:
            values.setdefault("owner", owner)
        super().__init__(detail, **values)
        self.owner = owner


class InvalidInput(DomainError):
    """What was sent cannot be used as it is (an empty message, a negative amount)."""
