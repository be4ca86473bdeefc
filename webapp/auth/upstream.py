"""Sign-in through upstream identity providers (generic OIDC): redirect, callback, provisioning.

Authlib's client does discovery, state, nonce and PKCE, and validates the ID token against the
provider's JWKS (signature, iss, aud, exp, nonce). Every outcome becomes either a Limen session
through ``identity.tokens`` or an explanatory page and an audit event — never a half sign-in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import structlog
from authlib.common.errors import AuthlibBaseError
from flask import Flask, current_app, redirect, render_template, request, session, url_for
from joserfc.errors import JoseError
from sqlalchemy.exc import SQLAlchemyError

from webapp.extensions import identity
from webapp.handoff import top_level
from webapp.http import request_meta, safe_next, set_token_cookies, settings
from webapp.identity import errors as ie
from webapp.identity.provisioning import UpstreamProfile
from webapp.settings import UpstreamSettings
from webapp.upstream import UpstreamProvider, provider_from

from . import bp

log = structlog.get_logger("limen.upstream")
NEXT_KEY = "limen_upstream_next"


def init_upstream(app: Flask, configs: Iterable[UpstreamSettings]) -> None:
    """Register each configured provider with Authlib's client (discovery on first use).
    Without providers, Authlib's client and ``requests`` are never imported: a serving worker
    that has no upstream sign-in does not carry them."""
    configured = {p.name: provider_from(p) for p in configs}
    if not configured:
        app.extensions["limen.upstream"] = (None, configured)
        return
    from authlib.integrations.flask_client import OAuth

    registry = OAuth(app)
    for p in configured.values():
        kwargs = {"scope": p.scopes, "code_challenge_method": "S256", "timeout": 10}
        if p.kind == "github":
            registry.register(
                p.name,
                client_id=p.client_id,
                client_secret=p.client_secret,
                authorize_url=f"{p.issuer}/login/oauth/authorize",
                access_token_url=f"{p.issuer}/login/oauth/access_token",
                api_base_url=p.api_url + "/",
                client_kwargs=kwargs,
            )
        else:
            registry.register(
                p.name,
                client_id=p.client_id,
                client_secret=p.client_secret,
                server_metadata_url=f"{p.issuer}/.well-known/openid-configuration",
                client_kwargs=kwargs,
            )
    app.extensions["limen.upstream"] = (registry, configured)


def _unreachable() -> type[Exception]:
    """The error a provider that cannot be reached raises (Authlib's client uses requests,
    imported only once a provider is configured)."""
    import requests

    return requests.RequestException


def _client(name: str) -> tuple[Any, UpstreamProvider]:
    registry, configured = current_app.extensions["limen.upstream"]
    if name not in configured:
        raise ie.NotFound(f"There is no sign-in provider called {name!r}.")
    return registry.create_client(name), configured[name]


def _failure(provider: UpstreamProvider, reason: str, message: str, status: int = 400) -> Any:
    identity().audit.record(  # a failure on record: kept though the answer refuses
        "login.upstream_failure",
        outcome="failure",
        meta=request_meta(),
        provider=provider.name,
        reason=reason,
    )
    log.info("upstream_failure", provider=provider.name, reason=reason)
    return render_template(
        "message.html",
        title=f"Sign-in with {provider.label} failed",
        message=message,
        hint="Go back to the sign-in page and try again.",
    ), status


@bp.get("/login/<name>")
def upstream_login(name: str) -> Any:
    client, provider = _client(name)
    session[NEXT_KEY] = safe_next(request.args.get("next"))
    callback = f"{settings().issuer}{url_for('auth.upstream_callback', name=name)}"
    if provider.kind == "oidc":
        try:
            metadata = client.load_server_metadata()
        except (_unreachable(), ValueError):
            return _failure(
                provider,
                "provider_down",
                f"{provider.label} could not be reached. Try again in a minute.",
                502,
            )
        if metadata.get("issuer") != provider.issuer:  # RFC 8414 §3.3: no provider mix-up
            return _failure(
                provider,
                "issuer_mismatch",
                f"{provider.label} identifies itself as {metadata.get('issuer')!r}, "
                f"not {provider.issuer!r}; an administrator must fix its issuer.",
            )
    return top_level(client.authorize_redirect(callback))  # never an XHR to the provider


@bp.get("/callback/<name>")
def upstream_callback(name: str) -> Any:
    client, provider = _client(name)
    if request.args.get("error"):
        reason = request.args.get("error", "")[:64]
        text = (
            "You declined the request."
            if reason == "access_denied"
            else f"{provider.label} answered with an error ({reason})."
        )
        return _failure(provider, reason, text, 401)
    try:
        token = client.authorize_access_token()
        if provider.kind == "github":
            profile = github_profile(client, provider, token)
        else:
            profile = oidc_profile(provider, token)
    except _unreachable():
        return _failure(
            provider,
            "provider_down",
            f"{provider.label} could not be reached to finish signing in.",
            502,
        )
    except ie.PolicyViolation as exc:
        return _failure(provider, "not_allowed", exc.detail, 403)
    except (AuthlibBaseError, JoseError, ValueError, KeyError, TypeError) as exc:
        reason = "state_mismatch" if "state" in str(exc).lower() else "invalid_response"
        text = (
            "The answer did not belong to this sign-in (state mismatch); start again."
            if reason == "state_mismatch"
            else f"{provider.label}'s answer could not be verified ({type(exc).__name__})."
        )
        return _failure(provider, reason, text)
    try:
        tokens = identity().upstream_login(profile, provider.policy, request_meta())
    except (ie.PolicyViolation, ie.AccountDisabled) as exc:
        return _failure(provider, type(exc).__name__, exc.detail, 403)
    except SQLAlchemyError:
        log.exception("provisioning_failed", provider=provider.name)
        return _failure(
            provider,
            "provisioning_failed",
            "Limen could not set up your account, and nothing was saved. Try again "
            "in a minute; if it keeps failing, tell an administrator.",
            503,
        )
    response = redirect(session.pop(NEXT_KEY, "/"), 303)
    set_token_cookies(response, tokens)
    return response


def oidc_profile(provider: UpstreamProvider, token: dict[str, Any]) -> UpstreamProfile:
    """Facts from the verified ID token (Authlib checked signature, iss, aud, exp, nonce)."""
    claims = dict(token.get("userinfo") or {})
    groups = claims.get(provider.groups_claim) or []
    return UpstreamProfile(
        provider=provider.name,
        subject=str(claims["sub"]),
        email=claims.get("email"),
        email_verified=claims.get("email_verified") is True,
        name=str(claims.get("name") or ""),
        groups=tuple(str(g) for g in groups) if isinstance(groups, list) else (),
    )


def github_profile(
    client: Any, provider: UpstreamProvider, token: dict[str, Any]
) -> UpstreamProfile:
    """GitHub's documented shapes: /user, /user/emails (the verified primary), orgs, teams."""
    user = client.get("user", token=token).json()
    emails = client.get("user/emails", token=token).json()
    primary = next((e for e in emails if e.get("primary")), None)
    orgs = [o["login"] for o in client.get("user/orgs", token=token).json()]
    teams = [
        f"{t['organization']['login']}/{t['slug']}"
        for t in client.get("user/teams", token=token).json()
    ]
    if provider.allowed_orgs and not provider.allowed_orgs & set(orgs):
        raise ie.PolicyViolation(
            f"Your GitHub account is not a member of {', '.join(sorted(provider.allowed_orgs))};"
            " ask to be added there, then sign in again."
        )
    return UpstreamProfile(
        provider=provider.name,
        subject=str(user["id"]),
        email=primary["email"] if primary else None,
        email_verified=bool(primary and primary.get("verified")),
        name=str(user.get("name") or user.get("login") or ""),
        groups=tuple(orgs + teams),
    )
