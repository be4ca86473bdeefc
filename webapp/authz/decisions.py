"""The decision point: each organisation's parsed snapshot kept per process, Limen's own admin
checks decided on the built-in set (``admin``), and every decision written to the decision log."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import structlog

from webapp.identity.audit import AuditLog
from webapp.identity.errors import PermissionDenied
from webapp.identity.principal import Principal
from webapp.identity.rbac import PERMISSIONS
from webapp.identity.verify_cache import VerificationCache

from . import admin
from .engine import Decision, Request, Snapshot, uid_text
from .store import PolicyStore

log = structlog.get_logger("limen.authz")
ADMIN_MEMO = 4096  # (caller kind, roles, permission, scope held) -> decision; a handful in use


@dataclass(frozen=True)
class _Kept:
    snapshot: Snapshot
    epoch: int


class DecisionPoint:
    """Decides requests for any organisation on parsed, current policies."""

    def __init__(self, store: PolicyStore, cache: VerificationCache, audit: AuditLog) -> None:
        self._store = store
        self._cache = cache
        self._audit = audit
        self._kept: dict[str, _Kept] = {}
        self._lock = threading.Lock()
        self._system = admin.system_snapshot()
        self._admin_memo: dict[tuple[str, tuple[str, ...], str, bool], Decision] = {}
        self._permissions_memo: dict[tuple[bool, tuple[str, ...], frozenset[str]], list[str]] = {}

    def snapshot(self, org_id: str) -> Snapshot:
        """The organisation's current snapshot: kept, revalidated, or loaded."""
        epoch = self._cache.epoch
        kept = self._kept.get(org_id)
        if kept is not None and self._cache.live and kept.epoch == epoch:
            return kept.snapshot
        revision = self._store.revision(org_id)
        if kept is not None and revision == kept.snapshot.revision:
            snapshot = kept.snapshot  # other news emptied the caches; ours did not change
        else:
            snapshot = self._store.snapshot(org_id)
        with self._lock:
            if self._cache.epoch == epoch:
                self._kept[org_id] = _Kept(snapshot, epoch)
        return snapshot

    def decide(
        self, org_id: str, request: Request, *, client: str | None = None, audit: bool = False
    ) -> Decision:
        """Cedar's decision, written to the decision log with the policies that made it; with
        ``audit`` (an explanation was asked for) also to the audit log, in the caller's
        transaction."""
        decision = self.snapshot(org_id).decide(request)
        facts: dict[str, Any] = {
            "org": org_id,
            "principal": uid_text(request.principal),
            "action": request.action,
            "resource": uid_text(request.resource),
            "allowed": decision.allowed,
            "reasons": [r.get("id", r["policy"]) for r in decision.reasons],
        }
        log.info("authz.decision", client=client, **facts)
        if audit:
            self._audit.record(
                "authz.decision",
                outcome="allow" if decision.allowed else "deny",
                client_id=client,
                **facts,
            )
        return decision

    # -- Limen's own admin checks ----------------------------------------------------------
    def admin_decision(self, principal: Principal, permission: str, scope_held: bool) -> Decision:
        """Cedar's decision on the built-in set: may ``principal`` use ``permission``?

        The set is immutable and a caller's entity is only its kind and roles, so a decision
        is kept per (kind, roles, permission, scope held): the engine decides each once.
        """
        kind = admin.CLIENT if admin.SERVICE in principal.roles else admin.ACCOUNT
        key = (kind, tuple(sorted(set(principal.roles))), permission, scope_held)
        decision = self._admin_memo.get(key)
        if decision is None:
            if permission not in PERMISSIONS:
                raise ValueError(f"{permission!r} is not a Limen permission (identity.rbac).")
            _, given = admin.caller(principal)
            decision = self._system.decide(admin.request(principal, permission, scope_held), given)
            if len(self._admin_memo) >= ADMIN_MEMO:
                self._admin_memo.clear()
            self._admin_memo[key] = decision
        return decision

    def admin_allows(self, principal: Principal, permission: str) -> bool:
        """True if the principal's roles grant ``permission`` and its scopes allow it."""
        held = permission in principal.scopes
        return self.admin_decision(principal, permission, held).allowed

    def admin_permissions(self, principal: Principal) -> list[str]:
        """Every permission the principal may use now, sorted (``/api/v1/me``): the engine's
        decisions, listed once per (kind, roles, scopes) since none of them can change."""
        key = (
            admin.SERVICE in principal.roles,
            tuple(sorted(set(principal.roles))),
            principal.scopes,
        )
        found = self._permissions_memo.get(key)
        if found is None:
            found = [p for p in PERMISSIONS if self.admin_allows(principal, p)]
            if len(self._permissions_memo) >= ADMIN_MEMO:
                self._permissions_memo.clear()
            self._permissions_memo[key] = found
        return list(found)

    def admin(self, principal: Principal, permission: str) -> None:
        """``PermissionDenied`` unless the built-in policies permit ``permission``; a denial
        is logged with the deciding policies, and the detail says whether the role or the
        credential's scopes are what is missing (never which policy said so)."""
        held = permission in principal.scopes
        decision = self.admin_decision(principal, permission, held)
        if decision.allowed:
            return
        log.info(
            "authz.decision",
            org=admin.LIMEN,
            principal=f"{admin.caller(principal)[0][0]}::{principal.sub}",
            action=admin.action_uid(permission),
            resource="::".join(admin.SERVER),
            allowed=False,
            reasons=[r.get("id", r["policy"]) for r in decision.reasons],
            client=principal.client_id,
        )
        if not held and self.admin_decision(principal, permission, True).allowed:
            detail = (
                f"This credential lacks the scope '{permission}'. Use a token or API key "
                f"issued with '{permission}'."
            )
        else:
            detail = f"Your role does not grant '{permission}'. Ask an administrator."
        raise PermissionDenied(detail, permission=permission)
