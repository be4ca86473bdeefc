"""The policy store: organisations, their members and teams, resource entities, and the
versioned schema + policies + template links, validated by Cedar before anything is saved.

Services flush and never commit (``webapp/identity/db.py``): the request, job or command that
calls them commits. Every change bumps the organisation's ``revision`` and queues, for when it
commits, the broadcast that makes every process drop its parsed copy and waits for their
acknowledgements (``Invalidation.after_commit``). A refused change leaves the session as it
was: checks run before any write, or inside a savepoint that the refusal rolls back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import cedarpy
import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from webapp.identity.audit import AuditLog
from webapp.identity.db import execute_dml
from webapp.identity.errors import Conflict, NotFound, PolicyViolation
from webapp.identity.verify_cache import Invalidation
from webapp.models import AuthzEntity, AuthzMembership, AuthzOrg, AuthzPolicyVersion, User

from . import schema as cs
from .engine import Member, Request, Snapshot, policy_table
from .errors import NoAdministrator, PolicyInvalid

log = structlog.get_logger("limen.authz")
ORG_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def _check_name(value: str, what: str) -> None:
    if not NAME.match(value):
        raise PolicyViolation(
            f"{what} {value[:40]!r} is not allowed: use letters, digits, '_', '.', '-' "
            "(at most 100, starting with a letter or digit)."
        )


class PolicyStore:
    """Reads and writes the authorization data of organisations."""

    def __init__(
        self,
        db: DbSession,
        audit: AuditLog,
        clock: Callable[[], datetime],
        invalidation: Invalidation,
    ) -> None:
        self._db = db
        self._audit = audit
        self._clock = clock
        self._invalidation = invalidation

    # -- reading -----------------------------------------------------------------------------
    def org(self, org_id: str) -> AuthzOrg:
        """The organisation, or NotFound."""
        org = self._db.get(AuthzOrg, org_id) if ORG_ID.match(org_id) else None
        if org is None:
            raise NotFound(f"There is no organisation {org_id[:64]!r}.")
        return org

    def orgs(self) -> list[AuthzOrg]:
        """Every organisation, by id."""
        return list(self._db.scalars(select(AuthzOrg).order_by(AuthzOrg.id)))

    def current(self, org_id: str) -> AuthzPolicyVersion:
        """The version in force (the newest)."""
        row = self._db.scalars(
            select(AuthzPolicyVersion)
            .where(AuthzPolicyVersion.org_id == org_id)
            .order_by(AuthzPolicyVersion.version.desc())
            .limit(1)
        ).first()
        if row is None:
            raise NotFound(f"Organisation {org_id!r} has no policies yet.")
        return row

    def version(self, org_id: str, version: int) -> AuthzPolicyVersion:
        """One version, or NotFound."""
        row = self._db.get(AuthzPolicyVersion, (org_id, version))
        if row is None:
            raise NotFound(f"Organisation {org_id!r} has no policy version {version}.")
        return row

    def history(self, org_id: str) -> list[AuthzPolicyVersion]:
        """Every version, newest first."""
        self.org(org_id)
        return list(
            self._db.scalars(
                select(AuthzPolicyVersion)
                .where(AuthzPolicyVersion.org_id == org_id)
                .order_by(AuthzPolicyVersion.version.desc())
            )
        )

    def members(self, org_id: str) -> list[Member]:
        """Active people in the organisation with their teams."""
        rows = self._db.execute(
            select(func.coalesce(User.email_normalized, User.email), AuthzMembership.team)
            .join(User, User.id == AuthzMembership.user_id)
            .where(AuthzMembership.org_id == org_id, User.is_active.is_(True))
            .order_by(User.email, AuthzMembership.team)
        )
        teams: dict[str, list[str]] = {}
        for email, team in rows:
            teams.setdefault(email, [])
            if team:
                teams[email].append(team)
        return [Member(email, tuple(t)) for email, t in teams.items()]

    def memberships(self, user_id: str) -> list[tuple[AuthzOrg, tuple[str, ...]]]:
        """The organisations a person belongs to, by id, each with their teams there."""
        rows = self._db.execute(
            select(AuthzOrg, AuthzMembership.team)
            .join(AuthzMembership, AuthzMembership.org_id == AuthzOrg.id)
            .where(AuthzMembership.user_id == user_id)
            .order_by(AuthzOrg.id, AuthzMembership.team)
        )
        found: dict[str, tuple[AuthzOrg, list[str]]] = {}
        for org, team in rows:
            entry = found.setdefault(org.id, (org, []))
            if team:
                entry[1].append(team)
        return [(org, tuple(teams)) for org, teams in found.values()]

    def is_member(self, org_id: str, user_id: str) -> bool:
        """True if the active person ``user_id`` belongs to the organisation (any team; one
        indexed read); malformed ids are not organisations."""
        if not ORG_ID.match(org_id):
            return False
        found = self._db.scalar(
            select(AuthzMembership.user_id)
            .join(User, User.id == AuthzMembership.user_id)
            .where(
                AuthzMembership.org_id == org_id,
                AuthzMembership.user_id == user_id,
                User.is_active.is_(True),
            )
            .limit(1)
        )
        return found is not None

    def resources(self, org_id: str) -> list[dict[str, Any]]:
        """The organisation's resource entities in Cedar's JSON entity form."""
        rows = self._db.scalars(select(AuthzEntity).where(AuthzEntity.org_id == org_id))
        return [
            {"uid": {"type": r.type, "id": r.eid}, "attrs": r.attrs, "parents": r.parents}
            for r in rows
        ]

    def snapshot(self, org_id: str) -> Snapshot:
        """Everything a decision in ``org_id`` needs, parsed."""
        org = self.org(org_id)
        row = self.current(org_id)
        checked = cs.check_schema(row.schema_json)
        return Snapshot.build(
            org_id,
            org.revision,
            checked,
            policy_table(row.policies, row.links),
            self.members(org_id),
            self.resources(org_id),
        )

    def revision(self, org_id: str) -> int | None:
        """The organisation's revision (one indexed read), None if it does not exist."""
        return self._db.scalar(select(AuthzOrg.revision).where(AuthzOrg.id == org_id))

    # -- writing -----------------------------------------------------------------------------
    def create_org(self, org_id: str, name: str, *, owner: User, actor: str) -> AuthzOrg:
        """A new organisation whose first administrator is ``owner`` (in its ``admins`` team)."""
        if not ORG_ID.match(org_id):
            raise PolicyViolation(
                "An organisation id is 1-63 lower-case letters, digits or '-', starting with a "
                "letter or digit."
            )
        if self._db.get(AuthzOrg, org_id) is not None:
            raise Conflict(f"Organisation {org_id!r} already exists.")
        org = AuthzOrg(id=org_id, name=name, revision=1, created_at=self._clock())
        self._db.add(org)
        self._db.flush()  # the rows below refer to it (no ORM relationship orders them)
        self._db.add(AuthzMembership(org_id=org_id, user_id=owner.id, team=""))
        self._db.add(AuthzMembership(org_id=org_id, user_id=owner.id, team="admins"))
        self._db.add(
            AuthzPolicyVersion(
                org_id=org_id,
                version=1,
                schema_json={},
                policies=cs.first_policies(org_id),
                links=[],
                author=actor,
                note="created",
                created_at=self._clock(),
            )
        )
        self._audit.record("authz.org_created", actor=actor, org=org_id)
        self._db.flush()
        return org

    def save(
        self,
        org_id: str,
        *,
        schema: Any,
        policies: str,
        links: list[dict[str, Any]],
        actor: str,
        note: str = "",
    ) -> AuthzPolicyVersion:
        """A new version, after Cedar accepted the schema, the policies against it, the links,
        the existing resources, and at least one member can still administer."""
        org = self.org(org_id)
        checked, table = self._checked(schema, policies, links)
        resources = self.resources(org_id)
        self._validate_entities(resources, checked)
        self._ensure_administrator(org_id, checked, table, self.members(org_id), resources)
        latest = self.current(org_id).version
        row = AuthzPolicyVersion(
            org_id=org_id,
            version=latest + 1,
            schema_json=schema,
            policies=policies,
            links=links,
            author=actor,
            note=note[:500],
            created_at=self._clock(),
        )
        self._db.add(row)
        self._changed(org, "authz.policies_saved", actor, version=row.version, note=row.note)
        return row

    def rollback(self, org_id: str, version: int, *, actor: str) -> AuthzPolicyVersion:
        """A new version with the content of ``version`` (validated again, like any change)."""
        old = self.version(org_id, version)
        return self.save(
            org_id,
            schema=old.schema_json,
            policies=old.policies,
            links=list(old.links),
            actor=actor,
            note=f"rollback to version {version}",
        )

    def set_member(
        self, org_id: str, user: User, teams: list[str], *, actor: str, source: str = "manual"
    ) -> None:
        """Put ``user`` in the organisation with exactly these teams."""
        org = self.org(org_id)
        for team in teams:
            _check_name(team, "Team name")
        with self._db.begin_nested():  # a refusal below rolls back to here
            self._db.execute(
                delete(AuthzMembership).where(
                    AuthzMembership.org_id == org_id, AuthzMembership.user_id == user.id
                )
            )
            for team in ["", *sorted(set(teams))]:
                self._db.add(
                    AuthzMembership(org_id=org_id, user_id=user.id, team=team, source=source)
                )
            self._db.flush()
            self._ensure_current_administrator(org_id)
        self._changed(org, "authz.member_set", actor, user_id=user.id, teams=sorted(set(teams)))

    def sync_teams(self, org_id: str, user: User, groups: Iterable[str], *, source: str) -> bool:
        """Make ``user``'s teams from ``source`` (an upstream provider) exactly ``groups``,
        keeping teams an administrator gave by hand. Never blocks a sign-in: a missing
        organisation or a change that would leave no administrator is logged and skipped.
        Returns whether anything changed."""
        org = self._db.get(AuthzOrg, org_id)
        if org is None:
            log.warning("authz.team_sync_skipped", org=org_id, reason="no such organisation")
            return False
        rows = list(
            self._db.scalars(
                select(AuthzMembership).where(
                    AuthzMembership.org_id == org_id, AuthzMembership.user_id == user.id
                )
            )
        )
        manual = {r.team for r in rows if r.source != source}
        synced = {r.team for r in rows if r.source == source} - {""}
        wanted = {g for g in groups if NAME.match(g)} - manual
        in_org = any(r.team == "" for r in rows)
        if synced == wanted and in_org:
            return False
        try:
            with self._db.begin_nested():  # a refusal rolls back this sync, not the sign-in
                for row in rows:
                    if row.source == source and row.team not in wanted and row.team != "":
                        self._db.delete(row)
                if not in_org:
                    self._db.add(
                        AuthzMembership(org_id=org_id, user_id=user.id, team="", source=source)
                    )
                for team in sorted(wanted - synced):
                    self._db.add(
                        AuthzMembership(org_id=org_id, user_id=user.id, team=team, source=source)
                    )
                self._db.flush()
                self._ensure_current_administrator(org_id)
        except NoAdministrator:
            log.warning("authz.team_sync_refused", org=org_id, user_id=user.id)
            return False
        self._changed(org, "authz.teams_synced", source, user_id=user.id, teams=sorted(wanted))
        return True

    def remove_member(self, org_id: str, user: User, *, actor: str) -> None:
        """Take ``user`` out of the organisation and all its teams."""
        org = self.org(org_id)
        with self._db.begin_nested():  # a refusal below rolls back to here
            gone = execute_dml(
                self._db,
                delete(AuthzMembership).where(
                    AuthzMembership.org_id == org_id, AuthzMembership.user_id == user.id
                ),
            )
            if not gone.rowcount:
                raise NotFound(f"{user.email} is not a member of {org_id!r}.")
            self._ensure_current_administrator(org_id)
        self._changed(org, "authz.member_removed", actor, user_id=user.id)

    def put_entities(self, org_id: str, entities: list[dict[str, Any]], *, actor: str) -> int:
        """Create or replace resource entities (Cedar JSON form), checked against the schema."""
        org = self.org(org_id)
        checked = cs.check_schema(self.current(org_id).schema_json)
        self._validate_entities(entities, checked)
        for item in entities:
            self._db.merge(
                AuthzEntity(
                    org_id=org_id,
                    type=item["uid"]["type"],
                    eid=item["uid"]["id"],
                    attrs=item.get("attrs") or {},
                    parents=item.get("parents") or [],
                )
            )
        self._changed(org, "authz.entities_put", actor, count=len(entities))
        return len(entities)

    def delete_entity(self, org_id: str, type_: str, eid: str, *, actor: str) -> None:
        """Remove one resource entity."""
        org = self.org(org_id)
        row = self._db.get(AuthzEntity, (org_id, type_, eid))
        if row is None:
            raise NotFound(f"There is no {type_} {eid!r} in {org_id!r}.")
        self._db.delete(row)
        self._changed(org, "authz.entity_deleted", actor, type=type_, id=eid)

    def check(
        self, org_id: str, schema: Any, policies: str, links: list[dict[str, Any]]
    ) -> Snapshot:
        """Everything ``save`` checks, without saving (``limen policy validate``); returns
        the candidate as a snapshot over today's members and resources (``policy test``)."""
        self.org(org_id)
        checked, table = self._checked(schema, policies, links)
        resources = self.resources(org_id)
        self._validate_entities(resources, checked)
        members = self.members(org_id)
        self._ensure_administrator(org_id, checked, table, members, resources)
        return Snapshot.build(org_id, 0, checked, table, members, resources)

    # -- the checks --------------------------------------------------------------------------
    def _checked(
        self, schema: Any, policies: str, links: list[dict[str, Any]]
    ) -> tuple[cs.CheckedSchema, dict[str, dict[str, Any]]]:
        checked = cs.check_schema(schema)
        parsed = cs.parse_policies(policies)
        cs.validate_policies(policies, checked)
        for item in links:
            for slot in ("principal", "resource"):
                if slot in item and item[slot]["type"] not in checked.entity_types:
                    message = f"Link {item['id']!r}: unknown {slot} type {item[slot]['type']!r}."
                    raise PolicyInvalid(message + " Nothing was saved.", [{"message": message}])
        cs.link(parsed, links)
        return checked, policy_table(policies, links)

    @staticmethod
    def _validate_entities(entities: list[dict[str, Any]], checked: cs.CheckedSchema) -> None:
        for item in entities:
            kind = item["uid"]["type"]
            if kind.startswith(cs.LIMEN + "::") or kind not in checked.entity_types:
                message = f"{kind!r} is not a resource type of this organisation's schema."
                raise PolicyInvalid(message + " Nothing was saved.", [{"message": message}])
        try:
            cedarpy.Entities.from_json_str(json.dumps(entities), checked.parsed)
        except ValueError as exc:
            raise PolicyInvalid(
                "The entities do not fit the schema; nothing was saved.", [{"message": str(exc)}]
            ) from exc

    def _ensure_current_administrator(self, org_id: str) -> None:
        row = self.current(org_id)
        checked = cs.check_schema(row.schema_json)
        table = policy_table(row.policies, row.links)
        self._ensure_administrator(
            org_id, checked, table, self.members(org_id), self.resources(org_id)
        )

    def _ensure_administrator(
        self,
        org_id: str,
        checked: cs.CheckedSchema,
        table: dict[str, dict[str, Any]],
        members: list[Member],
        resources: list[dict[str, Any]],
    ) -> None:
        """Refuse (and roll back) unless some member may still administer the organisation."""
        snapshot = Snapshot.build(org_id, 0, checked, table, members, resources)
        for member in members:
            request = Request((cs.USER, member.email), cs.ADMINISTER, (cs.ORG, org_id))
            if snapshot.decide(request).allowed:
                return
        raise NoAdministrator(
            f"After this change no member could administer {org_id!r} "
            f"({cs.ADMINISTER} on {cs.ORG}::{json.dumps(org_id)}); nothing was changed."
        )

    def _changed(self, org: AuthzOrg, event: str, actor: str, **details: Any) -> None:
        """Bump the revision and record the change; once it commits, every process drops its
        copy of the organisation (and confirms it) before the caller's answer leaves."""
        org_id = org.id
        # in SQL, so two changes never lose a bump
        org.revision = AuthzOrg.revision + 1  # type: ignore[assignment]
        self._audit.record(event, actor=actor, org=org_id, **details)
        try:
            self._db.flush()
        except IntegrityError as exc:  # two changes raced for the same version number
            detail = f"{org_id!r} changed at the same time; nothing was saved. Retry."
            raise Conflict(detail) from exc
        self._invalidation.after_commit(self._db, f"authz:{org_id}")
