"""The identity core: framework-free services; the only place auth decisions are made.

``Identity`` is the one composition root of the core: built once per process (``create_app``
for the web app, ``webapp.jobs.build_runtime`` for the worker and cron; the tests build it the
same way) from explicit parts — a DB session, a Redis client, the settings tree and a clock —
it constructs every service, including those only the jobs use, and is the narrow face
blueprints and jobs call.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import NoReturn

import redis
from sqlalchemy.orm import Session as DbSession

from webapp.authz.decisions import DecisionPoint
from webapp.authz.store import PolicyStore
from webapp.models import RefreshFamily, Session, User, utcnow
from webapp.settings import Settings

from .account_mail import AccountMail
from .api_keys import ApiKeyService
from .audit import AuditLog
from .auth_context import AuthContext
from .backchannel import BackchannelLogout
from .clients import ClientRegistry
from .consents import Consents
from .credential_rotation import CredentialRotation
from .crypto import derive_fernet
from .db import after_commit
from .delegation import Holder, hand_on
from .emails import EmailPolicy
from .end_session import EndSession
from .errors import (
    EmailNotVerified,
    InvalidCredentials,
    InvalidRefreshToken,
    InvalidToken,
    MfaRequired,
    NotAMember,
)
from .key_lifecycle import KeyLifecycle
from .key_usage import KeyUsage
from .lockout import UnknownAddressLockout
from .mail import MailRenderer, Outbox
from .mfa import Mfa
from .oauth import OAuthService
from .oauth_codes import AuthorizationCodes, DeviceCodes
from .passkeys import SECOND_FACTOR, SIGN_IN, Passkeys, RelyingParty
from .passwords import LocalAccounts, Passwords
from .principal import Principal, RequestMeta
from .provisioning import Provisioner, RolePolicy, UpstreamProfile
from .purge import Purger
from .rbac import permissions_for
from .request_objects import PushedRequests
from .revocation import Revocation
from .sessions import SessionStore
from .signing_keys import KeyRing
from .tokens import FIRST_PARTY_CLIENT, Grant, TokenService, TokenSet
from .users import SessionDirectory, UserDirectory
from .verify import Credential, Verifier
from .verify_cache import Invalidation, VerificationCache

# Sessions /auth/refresh serves: the portal's and the CLI's (first-party, public clients).
# Every other client's refresh tokens are redeemed at /oauth/token, authenticating as itself.
FIRST_PARTY_REFRESH = frozenset({FIRST_PARTY_CLIENT, "limen-cli"})

__all__ = ["FIRST_PARTY_CLIENT", "Credential", "Identity", "Principal", "RequestMeta"]


def build_passwords(settings: Settings) -> Passwords:
    return Passwords(
        settings.argon2_time_cost,
        settings.argon2_memory_kib,
        settings.argon2_parallelism,
        settings.password_hash_concurrency,
        settings.password_hash_nice,
        settings.password_hash_queue,
    )


class Identity:
    """The identity core, built once from a DB session, Redis, settings and a clock.

    Every service (verification, tokens, keys, clients, users, ...) is an attribute; views
    and jobs call them and never construct their own.
    """

    def __init__(
        self,
        *,
        db: DbSession,
        redis_client: redis.Redis,
        settings: Settings,
        passwords: Passwords,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        secret = settings.secret_key_value()
        self.db = db
        self.clock = clock
        self.settings = settings
        self.audit = AuditLog(db, clock)
        self.verify_cache = VerificationCache(
            settings.verify_cache_size, settings.verify_cache_seconds
        )
        self.invalidation = Invalidation(
            redis_client, self.verify_cache, settings.invalidation_ack_timeout
        )
        self.sessions = SessionStore(redis_client, self.invalidation)
        self.keys = KeyRing(db, derive_fernet(secret, b"signing-keys"), clock)
        self.revocation = Revocation(db, self.sessions, self.audit, clock)
        self.tokens = TokenService(
            db,
            redis_client,
            self.sessions,
            self.keys,
            self.revocation,
            self.audit,
            clock,
            derive_fernet(secret, b"refresh-retry"),
            issuer=settings.issuer,
            audience=settings.audience,
            access_ttl=settings.access_token_ttl,
            refresh_ttl=settings.refresh_token_ttl,
            retry_window=settings.refresh_retry_window,
            memo=self.verify_cache.memo,
            # A client's algorithm is fixed at registration: remembered like its row.
            access_alg_for=lambda client_id: self.verify_cache.memo(
                f"access-alg:{client_id}", lambda: self.clients.access_token_alg(client_id)
            ),
        )
        self.passwords = passwords
        self.emails = EmailPolicy(settings.internal_email_domains)
        self.accounts = LocalAccounts(
            db,
            passwords,
            self.audit,
            clock,
            emails=self.emails,
            ghosts=UnknownAddressLockout(
                redis_client, settings.lockout_threshold, settings.lockout_seconds
            ),
            lockout_threshold=settings.lockout_threshold,
            lockout_seconds=settings.lockout_seconds,
            min_length=settings.password_min_length,
        )
        self.outbox = Outbox(
            db,
            derive_fernet(secret, b"mail"),
            MailRenderer(settings.issuer),
            clock,
            delivery=settings.mail.delivery(not settings.is_production),
        )
        self.account_mail = AccountMail(
            db,
            self.outbox,
            self.accounts,
            passwords,
            self.revocation,
            self.audit,
            clock,
            self.emails,
        )
        self.audit.add_listener(self.account_mail.on_audit)
        self.api_keys = ApiKeyService(
            db, self.audit, clock, self.invalidation, KeyUsage(redis_client, clock)
        )
        self.verifier = Verifier(self.tokens, self.sessions, self.api_keys, self.verify_cache)
        self.clients = ClientRegistry(db, self.audit, clock, self.invalidation)
        self.codes = AuthorizationCodes(db, self.revocation, self.audit, clock)
        self.devices = DeviceCodes(db, redis_client, self.audit, clock)
        self.pushed_requests = PushedRequests(redis_client)
        self.mfa = Mfa(
            db,
            redis_client,
            self.audit,
            derive_fernet(secret, b"mfa"),
            clock,
            settings.mfa_roles,
        )
        self.passkeys = Passkeys(
            db, redis_client, self.audit, clock, RelyingParty.of_issuer(settings.issuer)
        )
        self.provisioner = Provisioner(
            db,
            self.revocation,
            self.audit,
            clock,
            self.emails,
            settings.bootstrap_admins.split(","),
        )
        self.users = UserDirectory(db, self.revocation, self.audit, clock)
        self.my_sessions = SessionDirectory(db, self.sessions, self.revocation, clock)
        self.consents = Consents(db, clock, self.revocation, self.audit)
        self.oauth = OAuthService(db, self.sessions, self.tokens, self.verifier, clock)
        # Authorization (webapp.authz): the policy store and the one decision point.
        self.policies = PolicyStore(db, self.audit, clock, self.invalidation)
        self.authz = DecisionPoint(self.policies, self.verify_cache, self.audit)
        # What the background jobs use (webapp.jobs holds no services of its own).
        self.key_lifecycle = KeyLifecycle(db, self.keys, self.audit, clock)
        self.credential_rotation = CredentialRotation(
            db,
            self.api_keys,
            self.clients,
            self.audit,
            clock,
            derive_fernet(secret, b"pending-secrets"),
        )
        self.backchannel = BackchannelLogout(
            db, self.keys, self.audit, clock, issuer=settings.issuer
        )
        self.purger = Purger(db, self.audit, clock, batch_size=settings.jobs.purge_batch_size)
        self.end_session = EndSession(db, self.keys, self.revocation, issuer=settings.issuer)

    # -- flows ---------------------------------------------------------------------------
    def authenticate(self, credential: Credential) -> Principal:
        """The Principal a credential speaks for; ``InvalidToken`` if it does not verify."""
        return self.verifier.authenticate(credential)

    def profile(self, sub: str) -> tuple[str | None, str | None]:
        """(email, display name) of a subject; remembered like a verification. An address
        change empties every process's memory (``AccountMail.change_address``), and a display
        name is only filled in when empty (upstream sign-in)."""

        def load() -> tuple[str | None, str | None]:
            user = self.db.get(User, sub)
            return (user.email, user.display_name) if user else (None, None)

        return self.verify_cache.memo(f"profile:{sub}", load)  # type: ignore[no-any-return]

    def session_auth(self, sid: str | None) -> AuthContext | None:
        """How and when the person behind a live session signed in (None: no such session,
        or a service's)."""
        record = self.sessions.get(sid) if sid else None
        return AuthContext.from_record(record) if record else None

    def user_grant(self, user: User, client_id: str, auth_method: str) -> Grant:
        """A person's own sign-in, just now: everything their roles allow, and the
        authentication context of this sign-in (auth_time now, amr and acr of the method)."""
        roles = user.role_names
        now = int(self.clock().timestamp())
        return Grant(
            subject=user.id,
            user_id=user.id,
            roles=roles,
            scopes=hand_on(Holder.roles_of(roles), permissions_for(roles)),
            client_id=client_id,
            auth_method=auth_method,
            auth=AuthContext.of_sign_in(auth_method, now),
        )

    def password_login(
        self,
        email: str,
        password: str,
        meta: RequestMeta,
        client_id: str = FIRST_PARTY_CLIENT,
        otp: str | None = None,
    ) -> TokenSet:
        """Sign in with a password (and a one-time code when the account has one), for the
        portal or another trusted first-party client."""

        def second_factor(user: User) -> bool:
            if not self.mfa.enabled(user):
                return True
            if otp is None:
                raise MfaRequired(self.mfa.issue_ticket(user, client_id))
            return self.mfa.verify(user, otp)

        user = self.accounts.verify_login(email, password, meta, second_factor)
        return self._signed_in(user, client_id, meta)

    def upstream_login(
        self, profile: UpstreamProfile, policy: RolePolicy, meta: RequestMeta
    ) -> TokenSet:
        """Sign in someone an upstream provider vouched for, provisioning them if new."""
        user = self.provisioner.sign_in(profile, policy, meta)
        if policy.teams_org:  # team membership follows the provider's groups
            self.policies.sync_teams(
                policy.teams_org, user, profile.groups, source=f"upstream:{profile.provider}"
            )
        grant = self.user_grant(user, FIRST_PARTY_CLIENT, f"upstream:{profile.provider}")
        return self.tokens.start_session(grant, meta)

    def complete_second_step(
        self, ticket: str, otp: str, meta: RequestMeta, *, passkey: str | None = None
    ) -> TokenSet:
        """The portal's second step: a ticket from a correct password, and the code (or,
        with ``passkey``, the answer of one of the account's passkeys)."""
        user_id, client_id = self.mfa.redeem_ticket(ticket)
        user = self.db.get(User, user_id)
        if user is None or not user.is_active:
            raise InvalidCredentials("The account is no longer available.")
        if passkey is not None:
            try:
                self.passkeys.verify(passkey, SECOND_FACTOR, meta, user_id=user.id)
            except InvalidCredentials as exc:
                self._second_step_failed(user, client_id, meta, exc.detail)
            method = "password+passkey"
        elif self.mfa.verify(user, otp):
            method = "password+otp"
        else:
            self._second_step_failed(user, client_id, meta, None)
        user = self.accounts.second_factor_passed(user, meta)
        return self._signed_in(user, client_id, meta, method)

    def second_step_user(self, ticket: str) -> User | None:
        """The account a pending second step is for, without using the ticket up (None when
        the ticket expired or was used)."""
        user_id = self.mfa.ticket_user(ticket)
        return self.db.get(User, user_id) if user_id else None

    def _second_step_failed(
        self, user: User, client_id: str, meta: RequestMeta, detail: str | None
    ) -> NoReturn:
        fresh = self.mfa.issue_ticket(user, client_id)  # another try, same lockout count
        try:
            self.accounts.second_factor_failed(user, meta)
        except InvalidCredentials as exc:
            if detail is not None:
                exc.detail = detail
                exc.args = (detail,)
            exc.retry_ticket = fresh  # type: ignore[attr-defined]
            raise

    def passkey_login(
        self, credential: str, meta: RequestMeta, client_id: str = FIRST_PARTY_CLIENT
    ) -> TokenSet:
        """Sign in with a passkey alone (a discoverable credential, user verified)."""
        user = self.passkeys.verify(credential, SIGN_IN, meta)
        user = self.accounts.second_factor_passed(user, meta)  # locked / disabled refuse
        return self._signed_in(user, client_id, meta, "passkey")

    def _signed_in(
        self, user: User, client_id: str, meta: RequestMeta, method: str | None = None
    ) -> TokenSet:
        if self.settings.mail.email_verification_required and user.email_verified_at is None:
            raise EmailNotVerified()  # a refusal: the boundary rolls the sign-in's writes back
        if method is None:
            method = "password+otp" if self.mfa.enabled(user) else "password"
        grant = self.user_grant(user, client_id, method)
        if self.mfa.required(user) and not self.mfa.enabled(user) and method == "password":
            # Until they set up two-step verification, the session can do nothing else.
            grant = Grant(
                grant.subject,
                grant.user_id,
                grant.roles,
                ("profile",),
                grant.client_id,
                "password:mfa-setup-required",
                grant.auth,
            )
        self.audit.record(
            "login.success", user_id=user.id, client_id=client_id, meta=meta, method=method
        )
        self.account_mail.signed_in(user, meta)
        return self.tokens.start_session(grant, meta)

    def refresh(
        self,
        refresh_token: str,
        meta: RequestMeta,
        *,
        client_id: str | None = None,
        scope: str | None = None,
        organization: str | None = None,
    ) -> TokenSet:
        """Rotate a refresh token: ``client_id``'s at /oauth/token (already authenticated),
        or with none, a portal or CLI session's at /auth/refresh. ``scope`` may narrow the new
        access token, never widen it (RFC 6749 §6). ``organization`` switches the session to
        act in that organisation (``""``: in none); ``NotAMember`` unless the person is in it."""
        clients = FIRST_PARTY_REFRESH if client_id is None else frozenset({client_id})
        return self.tokens.refresh(
            refresh_token,
            lambda family: self._current_grant(family, scope, organization),
            meta,
            clients=clients,
        )

    def _session_org(
        self, family: RefreshFamily, current: str | None, asked: str | None
    ) -> str | None:
        """The organisation the refreshed tokens act in: the one asked for (a member's only),
        else the session's own while the person is still a member of it. A membership that
        ended drops the organisation from the session (never a token for a stale one)."""
        user_id = family.user_id or ""
        if asked is not None:
            if asked and not self.policies.is_member(asked, user_id):
                raise NotAMember(
                    f"You are not a member of an organisation {asked[:64]!r} (or there is no "
                    "such organisation); `limen org list` or GET /api/v1/me/orgs shows yours."
                )
            org = asked or None
        elif current and self.policies.is_member(current, user_id):
            org = current
        else:
            org = None
        if org != current:
            sid = family.session_id
            after_commit(self.db, lambda: self.sessions.set_org(sid, org), "session org")
            self.audit.record(
                "session.org_changed",
                user_id=family.user_id,
                client_id=family.client_id,
                session_id=sid,
                org=org,
                previous=current,
                outcome="switched" if asked is not None else "membership_ended",
            )
        return org

    def _current_grant(
        self, family: RefreshFamily, scope: str | None, organization: str | None = None
    ) -> Grant:
        """Who the family belongs to now (roles may have changed, the user may be disabled),
        and the part of its scope asked for: never more than the family was granted."""
        user = self.db.get(User, family.user_id) if family.user_id else None
        if user is None or not user.is_active:
            self.revocation.revoke_session(family.session_id, reason="user_disabled")
            raise InvalidRefreshToken("The account is disabled; the session has been ended.")
        roles = user.role_names
        granted = family.scope.split()
        if scope is not None:
            asked = scope.split()
            granted = list(hand_on(Holder.scoped(roles, granted, "this refresh token"), asked))
        session = self.sessions.get(family.session_id) or {}
        return Grant(
            subject=user.id,
            user_id=user.id,
            roles=roles,
            scopes=hand_on(Holder.roles_of(roles), granted, narrow=True),
            client_id=family.client_id or FIRST_PARTY_CLIENT,
            auth_method=str(session.get("method", "password")),
            auth=AuthContext.from_record(session),  # a refresh is not a new sign-in
            org=self._session_org(family, _text(session.get("org")), organization),
        )

    def why_signed_out(self, access_token: str) -> str | None:
        """Why the session behind ``access_token`` (ours by its signature, expired or not)
        was revoked: its ``revoked_reason``, or None if it was not, or the token is no token
        of ours. Read only when a browser's session is found gone, to tell the person why."""
        try:
            claims = self.tokens.decode_access(access_token, expired_ok=True)
        except InvalidToken:
            return None
        row = self.db.get(Session, claims["sid"])
        if row is None or row.revoked_at is None or row.user_id != claims["sub"]:
            return None
        return row.revoked_reason or "revoked"

    def logout(self, sid: str, principal_sub: str | None, meta: RequestMeta) -> bool:
        """Revoke session ``sid`` as a logout; True if it was still live."""
        return self.revocation.revoke_session(
            sid, reason="logout", event="logout", actor=principal_sub, meta=meta
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
