"""Decision latency in process: Limen's decision point (a kept snapshot, sliced per request)
against Cedar over the whole set, with 10,000 policies and 100,000 entities.

    .venv/bin/python bench/authz_decisions.py [--policies 10000] [--entities 100000]
                                              [--requests 5000] [--json out.json]

The organisation: 1,000 teams of people, 2,000 projects with folders and files; 9,990
template links ("team T reads project P") and a few static policies (admins, a forbid on
secret projects). Requests are random member/file reads. Prints p50/p99 per decision, and
the same for Cedar given the full set and every entity (what slicing saves); and Limen's own
admin checks (what ``require(permission)`` costs): the kept decision, and the engine deciding
it afresh on the built-in set.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cedarpy

from webapp.authz import admin
from webapp.authz import schema as cs
from webapp.authz.decisions import DecisionPoint
from webapp.authz.engine import Member, Request, Snapshot, policy_table
from webapp.identity.principal import Principal
from webapp.identity.rbac import PERMISSIONS

ORG = "bench"
SCHEMA: dict[str, Any] = {
    "Acme": {
        "entityTypes": {
            "Project": {
                "memberOfTypes": ["Limen::Organisation"],
                "shape": {"type": "Record", "attributes": {"secret": {"type": "Boolean"}}},
            },
            "Folder": {"memberOfTypes": ["Project"]},
            "File": {"memberOfTypes": ["Folder"]},
        },
        "actions": {
            "read": {
                "appliesTo": {
                    "principalTypes": ["Limen::User"],
                    "resourceTypes": ["Project", "Folder", "File"],
                }
            }
        },
    }
}
POLICIES = cs.first_policies(ORG) + (
    '@id("team-read")\n'
    'permit (principal in ?principal, action == Acme::Action::"read", resource in ?resource);\n'
    '@id("no-secrets")\n'
    "forbid (principal, action, resource is Acme::Project) when { resource.secret };\n"
)


def organisation(n_policies: int, n_entities: int, rng: random.Random) -> Snapshot:
    teams = 1000
    projects = 2000
    people = max(1, n_entities // 10)
    folders = projects * 5
    files = max(1, n_entities - people - teams - projects - folders - 1)
    members = [Member(f"u{i}@example.com", (f"t{i % teams}",)) for i in range(people)]
    members[0] = Member("u0@example.com", ("admins", "t0"))
    resources = []
    for p in range(projects):
        resources.append(
            _entity("Acme::Project", f"p{p}", {"secret": p % 97 == 0}, ("Limen::Organisation", ORG))
        )
    for f in range(folders):
        resources.append(
            _entity("Acme::Folder", f"d{f}", {}, ("Acme::Project", f"p{f % projects}"))
        )
    for f in range(files):
        resources.append(_entity("Acme::File", f"f{f}", {}, ("Acme::Folder", f"d{f % folders}")))
    links = [
        {
            "id": f"l{i}",
            "template": "team-read",
            "principal": {"type": "Limen::Team", "id": f"t{rng.randrange(teams)}"},
            "resource": {"type": "Acme::Project", "id": f"p{rng.randrange(projects)}"},
        }
        for i in range(n_policies - 2)
    ]
    checked = cs.check_schema(SCHEMA)
    return Snapshot.build(ORG, 1, checked, policy_table(POLICIES, links), members, resources)


def _entity(kind: str, eid: str, attrs: dict[str, Any], parent: tuple[str, str]) -> dict[str, Any]:
    return {
        "uid": {"type": kind, "id": eid},
        "attrs": attrs,
        "parents": [{"type": parent[0], "id": parent[1]}],
    }


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_us": round(statistics.median(ordered) * 1e6, 1),
        "p99_us": round(ordered[int(len(ordered) * 0.99) - 1] * 1e6, 1),
    }


def measure(snapshot: Snapshot, requests: list[Request]) -> tuple[dict[str, float], int]:
    for request in requests[:200]:  # warm the slice cache the way traffic does
        snapshot.decide(request)
    samples, allowed = [], 0
    for request in requests:
        start = time.perf_counter()
        allowed += snapshot.decide(request).allowed
        samples.append(time.perf_counter() - start)
    return percentiles(samples), allowed


def whole_set(snapshot: Snapshot, requests: list[Request]) -> dict[str, float]:
    """Cedar with every policy (parsed once) and every entity (parsed once)."""
    est = {"staticPolicies": snapshot.policies, "templates": {}, "templateLinks": []}
    policies = cedarpy.PolicySet.from_json_str(json.dumps(est))
    entities = cedarpy.Entities.from_json_str(json.dumps(list(snapshot.entities.values())))
    samples = []
    for request in requests:
        start = time.perf_counter()
        cedarpy.is_authorized(
            {
                "principal": {"type": request.principal[0], "id": request.principal[1]},
                "action": request.action,
                "resource": {"type": request.resource[0], "id": request.resource[1]},
                "context": {},
            },
            policies,
            entities,
        )
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


def admin_checks(rng: random.Random, n: int) -> dict[str, dict[str, float]]:
    """``require(permission)``'s decision for callers of every role, kept and afresh."""
    point = DecisionPoint(None, None, None)  # type: ignore[arg-type]  (no organisation used)
    callers = [
        Principal(f"u{i}", roles, frozenset(PERMISSIONS), "password", "access_token")
        for i, roles in enumerate([("admin",), ("analyst",), ("service",), ("admin", "analyst")])
    ]
    asks = [(rng.choice(callers), rng.choice(PERMISSIONS)) for _ in range(n)]
    kept, fresh = [], []
    for principal, permission in asks:
        start = time.perf_counter()
        point.admin_allows(principal, permission)
        kept.append(time.perf_counter() - start)
    system = admin.system_snapshot()
    for principal, permission in asks[:1000]:
        start = time.perf_counter()
        _, given = admin.caller(principal)
        system.decide(admin.request(principal, permission, True), given)
        fresh.append(time.perf_counter() - start)
    return {"kept": percentiles(kept), "engine": percentiles(fresh)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=int, default=10_000)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rng = random.Random(7)  # noqa: S311  (reproducible data, not secrets)
    built = time.perf_counter()
    snapshot = organisation(args.policies, args.entities, rng)
    build_s = time.perf_counter() - built
    people = sum(1 for uid in snapshot.entities if uid[0] == cs.USER)
    files = [uid for uid in snapshot.entities if uid[0] == "Acme::File"]
    action = 'Acme::Action::"read"'
    requests = [
        Request((cs.USER, f"u{rng.randrange(people)}@example.com"), action, rng.choice(files))
        for _ in range(args.requests)
    ]
    sliced, allowed = measure(snapshot, requests)
    whole = whole_set(snapshot, requests[:500])
    result = {
        "policies": len(snapshot.policies),
        "entities": len(snapshot.entities),
        "snapshot_build_s": round(build_s, 2),
        "decision_sliced": sliced,
        "decision_whole_set": whole,
        "allowed_share": round(allowed / len(requests), 3),
        "goal_p99_us": 300,
        "limen_admin_check": admin_checks(rng, args.requests),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
