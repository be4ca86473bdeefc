"""Limen's application factory (``webapp.create_app`` is this ``create_app``).

``create_app(settings=None)``: defaults, then ``LIMEN_*`` environment variables, then the
explicit override (what tests pass). Production refuses to start while any setting is wrong.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from pydantic import SecretStr
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp import connections, logs, ratelimits, security, transactions
from webapp.extensions import csrf, db, limiter, redis_store
from webapp.settings import Settings, development_secret, unknown_variables


class ConfigurationError(RuntimeError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("Limen cannot start:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


def resolve_settings(settings: Settings | dict[str, Any] | None) -> Settings:
    """The settings tree: ``settings`` as given, else built from defaults, ``LIMEN_*`` and the
    overrides in the dict. A malformed value is a ConfigurationError naming the variable."""
    try:
        resolved = settings if isinstance(settings, Settings) else Settings(**(settings or {}))
    except ValueError as exc:  # pydantic's ValidationError is one; so are upstream sections
        raise ConfigurationError([str(exc)]) from exc
    if not resolved.is_production and resolved.secret_key is None:
        resolved = resolved.model_copy(
            update={"secret_key": SecretStr(development_secret(resolved.instance_path))}
        )
    return resolved


def _flask_config(s: Settings) -> dict[str, Any]:
    return {
        "SECRET_KEY": s.secret_key_value(),
        "SQLALCHEMY_DATABASE_URI": s.sqlalchemy_url,
        "SQLALCHEMY_ENGINE_OPTIONS": connections.engine_options(s),
        "MAX_CONTENT_LENGTH": s.max_body_bytes,
        "SESSION_COOKIE_NAME": s.cookie_prefix_host + "limen_session",
        "SESSION_COOKIE_SECURE": s.cookie_secure,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": timedelta(seconds=s.refresh_token_ttl),
        "WTF_CSRF_CHECK_DEFAULT": False,
        "WTF_CSRF_TIME_LIMIT": None,
        "RATELIMIT_ENABLED": s.ratelimit_enabled,
        **_ratelimit_storage(s),
        "RATELIMIT_HEADERS_ENABLED": False,  # its Retry-After would leak onto 423s
        "RATELIMIT_KEY_PREFIX": "limen-rl",
        "JSON_SORT_KEYS": False,
    }


def _ratelimit_storage(s: Settings) -> dict[str, Any]:
    """flask-limiter's storage: the same Redis as everything else (through Sentinel too)."""
    target = s.redis_sentinel
    if target is None:
        return {"RATELIMIT_STORAGE_URI": s.redis_url or "memory://"}
    return {
        "RATELIMIT_STORAGE_URI": target.limits_uri(),
        "RATELIMIT_STORAGE_OPTIONS": {
            "db": target.db,
            "use_replicas": False,  # counters read on a replica could lag behind the master
            "socket_connect_timeout": 2,
            "socket_timeout": 2,
            "sentinel_kwargs": {"socket_connect_timeout": 1, "socket_timeout": 1},
        },
    }


def checked_settings(settings: Settings | dict[str, Any] | None = None) -> Settings:
    """The settings tree, or a ConfigurationError listing every problem: production refuses
    an unsafe configuration, and any mode refuses an unknown ``LIMEN_*`` variable."""
    s = resolve_settings(settings)
    problems = s.problems()
    if s.is_production and problems:
        raise ConfigurationError(problems)
    unknown = unknown_variables(os.environ)
    if unknown:  # a misspelled setting would otherwise be silently ignored, in any mode
        raise ConfigurationError(unknown)
    return s


def create_app(settings: Settings | dict[str, Any] | None = None) -> Flask:
    s = checked_settings(settings)

    app = Flask(
        __name__,
        instance_path=str(s.instance_path.resolve()),
        static_folder=str(Path(__file__).resolve().parent.parent / "static"),
    )
    app.config.update(_flask_config(s))
    app.session_interface = security.LazySessionInterface()
    app.extensions["limen.settings"] = s
    from webapp.inputs import HeadAsGet

    app.wsgi_app = HeadAsGet(app.wsgi_app)  # type: ignore[method-assign]
    ratelimits.install_flood_gate(app, limiter)  # inside ProxyFix: the limiter's address
    if s.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=s.trusted_proxies,
            x_proto=s.trusted_proxies,
            x_host=s.trusted_proxies,
        )

    logs.configure(s.effective_log_format, s.log_level, s.log_flush_seconds)
    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    ratelimits.checked_only_where_declared(app, limiter)  # limits live on their views
    redis_store.init_app(app, s.redis_url)
    _build_identity(app, s)
    _build_jobs(app, s)

    from webapp import api, auth, authzen, errors, health, inputs, oauth, portal
    from webapp.oauth.server import configure_oauth

    configure_oauth(app)
    from webapp.auth.upstream import init_upstream

    init_upstream(app, s.upstream)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(oauth.bp)
    app.register_blueprint(oauth.wellknown)
    app.register_blueprint(portal.bp)
    app.register_blueprint(authzen.bp)
    errors.register_app_errors(app)
    logs.init_app(app, success_sample=s.log_success_sample)
    inputs.init_app(app)  # after the request id is set, so refusals are logged with it
    security.init_app(app, hsts=s.issuer.startswith("https://"))
    transactions.init_app(app)  # last registered, so the first after_request to run
    return app


def _build_identity(app: Flask, s: Settings) -> None:
    from webapp.identity import Identity, build_passwords

    app.extensions["limen.identity"] = Identity(
        db=db.session,  # type: ignore[arg-type]
        redis_client=app.extensions["limen.redis"],
        settings=s,
        passwords=build_passwords(s),
    )


def _build_jobs(app: Flask, s: Settings) -> None:
    """The jobs runtime the web app enqueues through, on the app's identity, Redis and engine.

    Revocations enqueue their back-channel logouts and committed mails their delivery; each
    web process listens for key-ring news on Redis pub/sub (started by its first request).
    Jobs run in this process only under the dev server and in tests: inside an app context,
    the scope of the app's database session.
    """
    from webapp.jobs import JobsRuntime

    with app.app_context():
        engine = db.engine
    rt = JobsRuntime(
        identity=app.extensions["limen.identity"],
        redis_client=app.extensions["limen.redis"],
        engine=engine,
        settings=s,
        scope=app.app_context,
    )
    rt.wire()
    app.extensions["limen.jobs"] = rt

    def listen() -> None:  # the runtime on the app now (tests may swap in their own)
        app.extensions["limen.jobs"].ensure_listener()

    app.before_request(listen)
