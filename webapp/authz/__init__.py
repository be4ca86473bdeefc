"""Authorization: Cedar policies over organisations, teams and resources, decided in one place.

``DecisionPoint`` is the per-process face: it keeps each organisation's parsed ``Snapshot``
while the verification cache is live and its epoch unchanged. Every change to the store
broadcasts on the invalidation channel and waits for every process to confirm it emptied its
caches (the epoch moves), so once a change call returns no process decides on the old set.
While the listener is down, each decision re-reads the organisation's revision instead.
"""

from __future__ import annotations

# Identity (the core's composition root) builds the authorization services: load it first so
# that importing any authz module on its own (a script, the benchmark) resolves in one order.
import webapp.identity  # noqa: F401

from .decisions import DecisionPoint
from .engine import Decision, Request
from .errors import BadDecisionRequest, NoAdministrator, PolicyInvalid
from .store import PolicyStore

__all__ = [
    "BadDecisionRequest",
    "Decision",
    "DecisionPoint",
    "NoAdministrator",
    "PolicyInvalid",
    "PolicyStore",
    "Request",
]
