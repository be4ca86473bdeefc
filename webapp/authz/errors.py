"""Typed failures of the authorization core; the HTTP glue turns them into answers."""

from __future__ import annotations

from typing import Any

from webapp.identity.errors import IdentityError


class PolicyInvalid(IdentityError):
    """A schema, policy set, template link or entity Cedar refused: nothing was saved.
    ``errors`` holds Cedar's messages, with ``line``/``column`` where they are known."""

    code = "invalid_policy"

    def __init__(self, detail: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(detail)
        self.errors = errors


class NoAdministrator(IdentityError):
    """The change would leave no member able to administer the organisation."""

    code = "no_administrator"


class BadDecisionRequest(IdentityError):
    """A decision request names an entity type or action the schema does not know, or
    Cedar cannot build the request (a context that does not fit the action)."""

    code = "bad_decision_request"

    def __init__(self, detail: str, slug: str = "invalid-decision-request") -> None:
        super().__init__(detail)
        self.slug = slug
