"""The identity services the jobs use, built in one place from the app's ``Identity``."""

from __future__ import annotations

from datetime import timedelta

from webapp.identity import Identity
from webapp.identity.backchannel import BackchannelLogout
from webapp.identity.credential_rotation import CredentialRotation
from webapp.identity.crypto import derive_fernet
from webapp.identity.key_lifecycle import KeyLifecycle, LifecyclePolicy
from webapp.identity.purge import Purger, Retention

from .settings import JobSettings


def key_policy(ident: Identity, settings: JobSettings) -> LifecyclePolicy:
    return LifecyclePolicy(
        rotation_days=settings.key_rotation_days,
        publish_seconds=settings.key_publish_seconds,
        access_token_ttl=ident.settings.access_token_ttl,
        retire_margin_seconds=settings.key_retire_margin_seconds,
    )


def key_lifecycle(ident: Identity) -> KeyLifecycle:
    return KeyLifecycle(ident.db, ident.keys, ident.audit, ident.clock)


def credential_rotation(ident: Identity) -> CredentialRotation:
    cipher = derive_fernet(ident.settings.secret_key_value(), b"pending-secrets")
    return CredentialRotation(
        ident.db, ident.api_keys, ident.clients, ident.audit, ident.clock, cipher
    )


def backchannel(ident: Identity) -> BackchannelLogout:
    return BackchannelLogout(
        ident.db, ident.keys, ident.audit, ident.clock, issuer=ident.settings.issuer
    )


def purger(ident: Identity, settings: JobSettings) -> Purger:
    return Purger(ident.db, ident.audit, ident.clock, batch_size=settings.purge_batch_size)


def retention(settings: JobSettings) -> Retention:
    return Retention(
        audit_days=settings.audit_retention_days, job_runs_days=settings.job_runs_retention_days
    )


def client_secret_overlap(settings: JobSettings) -> timedelta:
    return timedelta(seconds=settings.client_secret_overlap_seconds)
