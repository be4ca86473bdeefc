"""Django settings for the django-oauth-toolkit benchmark peer.

Environment:
    DOT_DATABASE_URL  postgresql://user[:password]@host[:port]/dbname[?host=/socket/dir];
                      unset means SQLite in a file under the temp dir (DOT_SQLITE_PATH overrides).
    DOT_SECRET_KEY    Django SECRET_KEY; unset means a random one per process (nothing here
                      signs anything that another process must read back).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DOT_SECRET_KEY") or secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
]

# Django's startproject middleware, less the ones that serve only HTML pages (messages,
# clickjacking); the session and auth middleware are lazy and touch no database here.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "benchpeer.urls"
WSGI_APPLICATION = "benchpeer.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
        },
    },
]

CONN_MAX_AGE = 60  # persistent connections: fair against Limen's pooled connections


def database_from_url(url: str | None) -> dict[str, Any]:
    """Django DATABASES['default'] for a postgresql:// URL, or SQLite when url is empty."""
    if not url:
        path = os.environ.get("DOT_SQLITE_PATH") or os.path.join(
            tempfile.gettempdir(), "limen-bench-dot.sqlite3"
        )
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path}
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"DOT_DATABASE_URL must be postgresql://..., not {parts.scheme}://")
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or ""])[0]
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ValueError("DOT_DATABASE_URL names no database")
    options: dict[str, str] = {}
    if "sslmode" in query:
        options["sslmode"] = query["sslmode"][0]
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": CONN_MAX_AGE,
        "CONN_HEALTH_CHECKS": False,
        "OPTIONS": options,
    }


DATABASES = {"default": database_from_url(os.environ.get("DOT_DATABASE_URL"))}
DATABASES["default"].setdefault("CONN_MAX_AGE", CONN_MAX_AGE)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False

# Django's default PASSWORD_HASHERS (PBKDF2-SHA256) stay: DOT hashes client secrets with them.

OAUTH2_PROVIDER = {
    "SCOPES": {"api:read": "Read the bench API"},
    "DEFAULT_SCOPES": ["api:read"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": 600,  # as the other servers in the benchmark
}

# Quiet: nothing per request. Server errors still reach stderr (gunicorn's error log).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler", "level": "ERROR"}},
    "root": {"handlers": ["stderr"], "level": "ERROR"},
    "loggers": {"django": {"handlers": ["stderr"], "level": "ERROR", "propagate": False}},
}
