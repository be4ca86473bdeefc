"""Search over one organisation's snapshot (AuthZEN 1.0 search): which subjects of a type may
do an action on a resource, which resources of a type a subject may act on, which actions a
subject may do on a resource, and, for the portal, who may do anything to a resource.

Candidates come from the entity graph (the schema's actions, for an action search), in a
stable order, and each is decided by Cedar on the same sliced path as a single decision. One
page decides at most ``SCAN_LIMIT`` candidates and returns at most ``limit`` results, with an
opaque token that continues after the last candidate decided, so a search is bounded however
large the organisation is.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .engine import Decision, Request, Snapshot, Uid, action_uid, uid_text
from .errors import BadDecisionRequest
from .schema import TEAM, USER

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
SCAN_LIMIT = 1000
PRINCIPAL_TYPES = (USER, TEAM)
T = TypeVar("T")


@dataclass(frozen=True)
class Hit:
    """One candidate the policies allow, with the decision that allowed it."""

    key: str  # an entity id, or an action uid
    decision: Decision


@dataclass(frozen=True)
class Page:
    """One page of a search: the allowed candidates and where to continue ("" when done)."""

    hits: list[Hit]
    next_token: str
    scanned: int


@dataclass(frozen=True)
class Access:
    """What one principal may do to a resource: action uid -> the policies that permit it."""

    principal: Uid
    actions: dict[str, list[dict[str, str]]] = field(default_factory=dict)


# -- page tokens ----------------------------------------------------------------------------
def encode_token(kind: str, after: str) -> str:
    """An opaque continuation token: the search kind and the last candidate decided."""
    raw = json.dumps({"k": kind, "a": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(kind: str, token: str | None) -> str | None:
    """The candidate to continue after; a token this kind of search did not give is a 400."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or data.get("k") != kind or not isinstance(data.get("a"), str):
        raise BadDecisionRequest(
            "page.token is not a token this search gave; repeat the search without it.",
            "invalid-page-token",
        )
    return str(data["a"])


def clamp_limit(limit: int | None) -> int:
    """The page size asked for, within 1..MAX_LIMIT (default DEFAULT_LIMIT)."""
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise BadDecisionRequest(f"page.limit must be between 1 and {MAX_LIMIT}.")
    return limit


# -- what the schema allows ---------------------------------------------------------------------
def applies_to(snapshot: Snapshot, action: str) -> tuple[frozenset[str], frozenset[str]]:
    """The principal and resource types ``action`` applies to, as the schema declares."""
    namespace = action.rsplit("::Action::", 1)[0] if "::Action::" in action else ""
    name = action_uid(action)[1]
    body = snapshot.schema.merged.get(namespace) or {}
    spec = ((body.get("actions") or {}).get(name) or {}).get("appliesTo") or {}

    def qualified(names: Any) -> frozenset[str]:
        found = [n for n in names or [] if isinstance(n, str)]
        return frozenset(n if "::" in n or not namespace else f"{namespace}::{n}" for n in found)

    return qualified(spec.get("principalTypes")), qualified(spec.get("resourceTypes"))


def _known_type(snapshot: Snapshot, role: str, type_: str) -> None:
    if type_ not in snapshot.schema.entity_types:
        raise BadDecisionRequest(
            f"Unknown {role} type {type_!r}; the schema declares: "
            f"{', '.join(sorted(snapshot.schema.entity_types))}.",
            "unknown-entity-type",
        )


def _fits(snapshot: Snapshot, action: str, principal_type: str, resource_type: str) -> None:
    if action not in snapshot.schema.actions:
        raise BadDecisionRequest(
            f"Unknown action {action}; the schema declares: "
            f"{', '.join(sorted(snapshot.schema.actions))}.",
            "unknown-action",
        )
    principals, resources = applies_to(snapshot, action)
    if principal_type not in principals or resource_type not in resources:
        raise BadDecisionRequest(
            f"Action {action} does not apply to a {principal_type} acting on a "
            f"{resource_type}; it applies to subjects {sorted(principals)} and resources "
            f"{sorted(resources)}.",
            "action-does-not-apply",
        )


# -- the searches ---------------------------------------------------------------------------
def _scan(
    kind: str,
    candidates: list[str],
    token: str | None,
    limit: int,
    judge: Callable[[str], T | None],
) -> tuple[list[tuple[str, T]], str, int]:
    """Judge candidates after the token's, in order, until ``limit`` are kept or
    ``SCAN_LIMIT`` were judged: the kept ones, the next token ("" when done), how many."""
    after = decode_token(kind, token)
    start = 0
    if after is not None:
        start = next((i for i, c in enumerate(candidates) if c > after), len(candidates))
    kept: list[tuple[str, T]] = []
    index = start
    while index < len(candidates) and len(kept) < limit and index - start < SCAN_LIMIT:
        found = judge(candidates[index])
        if found is not None:
            kept.append((candidates[index], found))
        index += 1
    more = index < len(candidates)
    return kept, encode_token(kind, candidates[index - 1]) if more else "", index - start


def _decisions(
    kind: str,
    candidates: list[str],
    token: str | None,
    limit: int,
    decide: Callable[[str], Decision],
) -> Page:
    def allowed(candidate: str) -> Decision | None:
        decision = decide(candidate)
        return decision if decision.allowed else None

    kept, next_token, scanned = _scan(kind, candidates, token, limit, allowed)
    return Page([Hit(key, decision) for key, decision in kept], next_token, scanned)


def subjects(
    snapshot: Snapshot,
    subject_type: str,
    action: str,
    resource: Uid,
    context: dict[str, Any],
    *,
    token: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """Subjects of ``subject_type`` in the organisation that may do ``action`` on ``resource``."""
    _known_type(snapshot, "subject", subject_type)
    _known_type(snapshot, "resource", resource[0])
    _fits(snapshot, action, subject_type, resource[0])
    return _decisions(
        "subject",
        snapshot.ids_of(subject_type),
        token,
        limit,
        lambda sid: snapshot.decide(Request((subject_type, sid), action, resource, context)),
    )


def resources(
    snapshot: Snapshot,
    subject: Uid,
    action: str,
    resource_type: str,
    context: dict[str, Any],
    *,
    token: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """Resources of ``resource_type`` that ``subject`` may do ``action`` on."""
    _known_type(snapshot, "subject", subject[0])
    _known_type(snapshot, "resource", resource_type)
    _fits(snapshot, action, subject[0], resource_type)
    return _decisions(
        "resource",
        snapshot.ids_of(resource_type),
        token,
        limit,
        lambda rid: snapshot.decide(Request(subject, action, (resource_type, rid), context)),
    )


def actions(
    snapshot: Snapshot,
    subject: Uid,
    resource: Uid,
    context: dict[str, Any],
    *,
    token: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """Actions that apply to these types and that ``subject`` may do on ``resource``."""
    _known_type(snapshot, "subject", subject[0])
    _known_type(snapshot, "resource", resource[0])
    candidates = sorted(
        a
        for a in snapshot.schema.actions
        if subject[0] in (fit := applies_to(snapshot, a))[0] and resource[0] in fit[1]
    )
    return _decisions(
        "action",
        candidates,
        token,
        limit,
        lambda action: snapshot.decide(Request(subject, action, resource, context)),
    )


def who_can(
    snapshot: Snapshot, resource: Uid, *, token: str | None = None, limit: int = DEFAULT_LIMIT
) -> tuple[list[Access], str, list[str]]:
    """Every person and team of the organisation that may do anything to ``resource``, with
    the permitting policies per action; the page token; and the actions that could not be
    decided without a context (the schema requires one), which are left out."""
    _known_type(snapshot, "resource", resource[0])
    fitting = {
        kind: sorted(
            a
            for a in snapshot.schema.actions
            if kind in (fit := applies_to(snapshot, a))[0] and resource[0] in fit[1]
        )
        for kind in PRINCIPAL_TYPES
    }
    candidates = sorted(
        uid_text((kind, pid)) for kind in PRINCIPAL_TYPES for pid in snapshot.ids_of(kind)
    )
    undecidable: set[str] = set()

    def judge(candidate: str) -> Access | None:
        principal = _split(candidate)
        access = Access(principal)
        for action in fitting[principal[0]]:
            try:
                decision = snapshot.decide(Request(principal, action, resource, {}))
            except BadDecisionRequest:
                undecidable.add(action)
                continue
            if decision.allowed:
                access.actions[action] = decision.reasons
        return access if access.actions else None

    kept, next_token, _ = _scan("access", candidates, token, limit, judge)
    return [access for _, access in kept], next_token, sorted(undecidable)


def _split(text: str) -> Uid:
    """A candidate of ``who_can`` back to its uid (it was written by ``uid_text``)."""
    kind = next(k for k in PRINCIPAL_TYPES if text.startswith(f"{k}::"))
    return kind, json.loads(text[len(kind) + 2 :])
