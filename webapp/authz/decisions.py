"""The decision point: each organisation's parsed snapshot kept per process, and every
decision written to the decision log."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import structlog

from webapp.identity.audit import AuditLog
from webapp.identity.verify_cache import VerificationCache

from .engine import Decision, Request, Snapshot, uid_text
from .store import PolicyStore

log = structlog.get_logger("limen.authz")


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
