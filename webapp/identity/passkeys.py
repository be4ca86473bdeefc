"""Passkeys (WebAuthn, with the ``webauthn`` package): register several, name, rename and
remove them, and check an assertion for a sign-in by passkey alone or as the second step.

The relying party is the issuer: its host is the RP ID and its scheme, host and port the one
origin accepted. Browsers refuse an IP address as an RP ID, so behind an issuer such as
``http://127.0.0.1:5000`` passkeys are off (``available`` is False) and sign-in works as before.

Every ceremony's challenge lives in Redis for ``CHALLENGE_TTL`` seconds under its digest, with
what it was issued for (a registration for one user, a sign-in, or the second step of one
user's sign-in); an answer takes it with GETDEL, so each challenge is good for one answer.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn, cast
from urllib.parse import urlsplit

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from webapp.models import Passkey, User

from .audit import AuditLog
from .crypto import sha256_hex
from .errors import InvalidCredentials, NotFound, PolicyViolation
from .principal import RequestMeta

CHALLENGE_KEY = "limen:passkey-challenge:{digest}"
CHALLENGE_TTL = 300  # seconds: the browser's prompt times out after TIMEOUT_MS anyway
TIMEOUT_MS = 120_000
MAX_PASSKEYS = 20
MAX_NAME = 64
MAX_CREDENTIAL_JSON = 16_384  # a registration answer with "none" attestation is ~1 KiB

SIGN_IN = "sign-in"
SECOND_FACTOR = "second-factor"
REGISTER = "register"

_TRANSPORTS = {t.value for t in AuthenticatorTransport}


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkeys are for: the RP ID (the issuer's host), its name, the one origin."""

    rp_id: str
    name: str
    origin: str

    @classmethod
    def of_issuer(cls, issuer: str, name: str = "Limen") -> RelyingParty | None:
        """The relying party of an issuer URL; None when its host is an IP address (which
        browsers refuse as an RP ID) or missing."""
        parts = urlsplit(issuer)
        host = parts.hostname or ""
        if not host:
            return None
        try:
            ipaddress.ip_address(host)
        except ValueError:
            origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}".lower()
            return cls(rp_id=host.lower(), name=name, origin=origin)
        return None


def clean_name(name: str | None, fallback: str) -> str:
    """A passkey's name as stored: trimmed, control characters removed, at most 64 characters;
    ``fallback`` when nothing is left."""
    text = "".join(ch for ch in (name or "") if ch.isprintable()).strip()
    if len(text) > MAX_NAME:
        raise PolicyViolation(f"A passkey's name has at most {MAX_NAME} characters.")
    return text or fallback


class Passkeys:
    """The passkeys of local accounts: registration, names, removal, assertions."""

    def __init__(
        self,
        db: DbSession,
        redis_client: redis.Redis,
        audit: AuditLog,
        clock: Callable[[], datetime],
        relying_party: RelyingParty | None,
    ) -> None:
        self._db = db
        self._redis = redis_client
        self._audit = audit
        self._clock = clock
        self.relying_party = relying_party

    @property
    def available(self) -> bool:
        """Whether passkeys can work here (the issuer has a host name, not an IP address)."""
        return self.relying_party is not None

    def _rp(self) -> RelyingParty:
        if self.relying_party is None:
            raise PolicyViolation(
                "Passkeys are off: the issuer (LIMEN_ISSUER) is an IP address, which browsers "
                "refuse as a passkey's site. Use a host name such as localhost."
            )
        return self.relying_party

    # -- the person's list --------------------------------------------------------------------
    def of_user(self, user: User) -> list[Passkey]:
        """The user's passkeys, oldest first."""
        query = select(Passkey).where(Passkey.user_id == user.id)
        return list(self._db.scalars(query.order_by(Passkey.created_at, Passkey.id)))

    def count(self, user: User) -> int:
        """How many passkeys the user has."""
        query = select(func.count()).select_from(Passkey).where(Passkey.user_id == user.id)
        return int(self._db.scalar(query) or 0)

    def _own(self, user: User, passkey_id: str) -> Passkey:
        row = self._db.get(Passkey, passkey_id)
        if row is None or row.user_id != user.id:
            raise NotFound("No such passkey on your account; reload the page to see your list.")
        return row

    # -- registration -------------------------------------------------------------------------
    def registration_options(self, user: User) -> str:
        """The JSON options for ``navigator.credentials.create()``: a discoverable credential
        with user verification, none of the user's existing passkeys again."""
        rp = self._rp()
        if self.count(user) >= MAX_PASSKEYS:
            raise PolicyViolation(
                f"You have {MAX_PASSKEYS} passkeys, the most an account may have; remove one "
                "you no longer use first."
            )
        options = generate_registration_options(
            rp_id=rp.rp_id,
            rp_name=rp.name,
            user_id=user.id.encode(),
            user_name=user.email,
            user_display_name=user.display_name or user.email,
            timeout=TIMEOUT_MS,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[self._descriptor(p) for p in self.of_user(user)],
        )
        self._keep_challenge(options.challenge, REGISTER, user.id)
        return options_to_json(options)

    def register(
        self, user: User, credential_json: str, name: str | None, meta: RequestMeta | None = None
    ) -> Passkey:
        """Store the passkey the browser created for ``user`` from the options above;
        ``PolicyViolation`` (nothing stored) if the answer does not check out."""
        rp = self._rp()
        fallback = f"Passkey {self.count(user) + 1}"
        label = clean_name(name, fallback)
        credential = self._parse(
            credential_json, parse_registration_credential_json, PolicyViolation
        )
        challenge = self._take_challenge(credential, REGISTER, user.id, PolicyViolation)
        try:
            verified = verify_registration_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=rp.rp_id,
                expected_origin=rp.origin,
                require_user_verification=True,
            )
        except WebAuthnException as exc:
            raise PolicyViolation(f"The new passkey could not be verified: {exc}") from None
        credential_id = bytes_to_base64url(verified.credential_id)
        if self._db.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)):
            raise PolicyViolation("This passkey is already registered.")
        transports = [t.value for t in credential.response.transports or [] if t in _TRANSPORTS]
        row = Passkey(
            user_id=user.id,
            credential_id=credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=transports,
            name=label,
            created_at=self._clock(),
        )
        self._db.add(row)
        self._db.flush()
        self._audit.record(
            "passkey.registered",
            user_id=user.id,
            actor=user.id,
            meta=meta,
            passkey_id=row.id,
            name=row.name,
        )
        return row

    def rename(
        self, user: User, passkey_id: str, name: str, meta: RequestMeta | None = None
    ) -> Passkey:
        """Give one of the user's passkeys a new name."""
        row = self._own(user, passkey_id)
        row.name = clean_name(name, row.name)
        self._audit.record(
            "passkey.renamed",
            user_id=user.id,
            actor=user.id,
            meta=meta,
            passkey_id=row.id,
            name=row.name,
        )
        return row

    def remove(self, user: User, passkey_id: str, meta: RequestMeta | None = None) -> str:
        """Remove one of the user's passkeys; returns its name."""
        row = self._own(user, passkey_id)
        name = row.name
        self._db.delete(row)
        self._audit.record(
            "passkey.removed", user_id=user.id, actor=user.id, meta=meta, passkey_id=passkey_id
        )
        return name

    # -- assertions -----------------------------------------------------------------------------
    def sign_in_options(self) -> str:
        """Options for ``navigator.credentials.get()`` that let the person pick any of their
        passkeys (discoverable credentials, user verification required)."""
        rp = self._rp()
        options = generate_authentication_options(
            rp_id=rp.rp_id,
            timeout=TIMEOUT_MS,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        self._keep_challenge(options.challenge, SIGN_IN, None)
        return options_to_json(options)

    def second_factor_options(self, user: User) -> str:
        """Options for the second step of ``user``'s sign-in: one of their passkeys."""
        rp = self._rp()
        passkeys = self.of_user(user)
        if not passkeys:
            raise PolicyViolation("This account has no passkey; enter the one-time code.")
        options = generate_authentication_options(
            rp_id=rp.rp_id,
            timeout=TIMEOUT_MS,
            allow_credentials=[self._descriptor(p) for p in passkeys],
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        self._keep_challenge(options.challenge, SECOND_FACTOR, user.id)
        return options_to_json(options)

    def verify(
        self,
        credential_json: str,
        purpose: str,
        meta: RequestMeta | None,
        user_id: str | None = None,
    ) -> User:
        """The user whose passkey signed this answer to a ``purpose`` challenge (for
        ``user_id`` when given). Records the use; ``InvalidCredentials`` otherwise, with the
        failure on record and nothing else changed (a counter that went back is refused too:
        a sign of a cloned authenticator)."""
        rp = self._rp()
        try:
            credential = self._parse(
                credential_json, parse_authentication_credential_json, InvalidCredentials
            )
            challenge = self._take_challenge(credential, purpose, user_id, InvalidCredentials)
        except InvalidCredentials as exc:
            self._failed(user_id, meta, "malformed_or_replayed", exc)
        row = self._db.scalar(
            select(Passkey).where(Passkey.credential_id == bytes_to_base64url(credential.raw_id))
        )
        if row is None:
            self._failed(
                user_id,
                meta,
                "unknown_credential",
                InvalidCredentials(
                    "This passkey is not registered here (it may have been removed). Sign in "
                    "with your password, or choose another passkey."
                ),
            )
        owner_handle = credential.response.user_handle
        if (user_id is not None and row.user_id != user_id) or (
            owner_handle is not None and owner_handle != row.user_id.encode()
        ):
            self._failed(
                user_id or row.user_id,
                meta,
                "credential_of_another_user",
                InvalidCredentials("This passkey belongs to another account."),
                passkey_id=row.id,
            )
        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=rp.rp_id,
                expected_origin=rp.origin,
                credential_public_key=row.public_key,
                # The counter is compared below, once the signature is known to be genuine.
                credential_current_sign_count=0,
                require_user_verification=purpose == SIGN_IN,
            )
        except WebAuthnException as exc:
            self._failed(
                row.user_id,
                meta,
                "invalid_assertion",
                InvalidCredentials(f"The passkey's answer could not be verified: {exc}"),
                passkey_id=row.id,
            )
        stored = row.sign_count
        if (verified.new_sign_count or stored) and verified.new_sign_count <= stored:
            self._failed(
                row.user_id,
                meta,
                "sign_count_regression",
                InvalidCredentials(
                    "This passkey's use counter went backwards, which happens when an "
                    "authenticator was copied; it was refused. Sign in another way and "
                    "check your passkeys."
                ),
                passkey_id=row.id,
                stored=stored,
                presented=verified.new_sign_count,
            )
        row.sign_count = verified.new_sign_count
        row.last_used_at = self._clock()
        user = self._db.get(User, row.user_id)
        if user is None:  # the row cascades away with its user: a race with a deletion
            raise InvalidCredentials("The account is no longer available.")
        self._audit.record(
            "passkey.used",
            user_id=user.id,
            actor=user.id,
            meta=meta,
            passkey_id=row.id,
            purpose=purpose,
        )
        return user

    # -- internals ------------------------------------------------------------------------------
    @staticmethod
    def _descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
        return PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(passkey.credential_id),
            transports=[AuthenticatorTransport(t) for t in passkey.transports if t in _TRANSPORTS],
        )

    def _keep_challenge(self, challenge: bytes, purpose: str, user_id: str | None) -> None:
        self._redis.set(
            CHALLENGE_KEY.format(digest=sha256_hex(bytes_to_base64url(challenge))),
            json.dumps({"purpose": purpose, "uid": user_id}),
            ex=CHALLENGE_TTL,
        )

    def _take_challenge(
        self,
        credential: RegistrationCredential | AuthenticationCredential,
        purpose: str,
        user_id: str | None,
        error: type[InvalidCredentials] | type[PolicyViolation],
    ) -> bytes:
        """The challenge this answer signed, if Limen issued it for ``purpose`` (and
        ``user_id``) and no answer used it yet; it is spent either way."""
        try:
            client_data = parse_client_data_json(credential.response.client_data_json)
        except WebAuthnException:
            raise error("The passkey's answer is malformed (clientDataJSON).") from None
        key = CHALLENGE_KEY.format(digest=sha256_hex(bytes_to_base64url(client_data.challenge)))
        raw = cast(bytes | None, self._redis.getdel(key))
        issued = json.loads(raw) if raw is not None else None
        if (
            not isinstance(issued, dict)
            or issued.get("purpose") != purpose
            or issued.get("uid") != user_id
        ):
            raise error(
                "This passkey request expired or was already answered; start again "
                "(each request is good for one answer within a few minutes)."
            )
        return client_data.challenge

    @staticmethod
    def _parse(
        credential_json: str,
        parse: Callable[[str], Any],
        error: type[InvalidCredentials] | type[PolicyViolation],
    ) -> Any:
        if not credential_json or len(credential_json) > MAX_CREDENTIAL_JSON:
            raise error("No passkey answer was sent (or it is far too large).")
        try:
            return parse(credential_json)
        except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise error(f"The passkey's answer is malformed: {exc}") from None

    def _failed(
        self,
        user_id: str | None,
        meta: RequestMeta | None,
        reason: str,
        error: InvalidCredentials,
        **details: Any,
    ) -> NoReturn:
        self._audit.record(
            "passkey.failure",
            outcome="failure",
            user_id=user_id,
            meta=meta,
            reason=reason,
            **details,
        )
        raise error
