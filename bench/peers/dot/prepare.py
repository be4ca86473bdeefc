"""Migrate the benchmark peer's database and (re)create its one client application.

Run with the peer's venv: DOT_DATABASE_URL=postgresql://... .venv/bin/python prepare.py

Environment:
    DOT_DATABASE_URL        as in benchpeer/settings.py (unset: SQLite under the temp dir)
    DOT_HASH_CLIENT_SECRET  1 (default, DOT's own default) stores the client secret hashed with
                            Django's password hasher (PBKDF2-SHA256, checked on every token
                            request); 0 stores it in plain text (hash_client_secret=False).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret-0123456789abcdef0123456789"  # noqa: S105 - fixed bench creds
APP_NAME = "bench"


def hash_client_secret_from_env() -> bool:
    """DOT_HASH_CLIENT_SECRET as a bool: 1/true/yes (default) or 0/false/no."""
    raw = os.environ.get("DOT_HASH_CLIENT_SECRET", "1").strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"DOT_HASH_CLIENT_SECRET must be 0 or 1, not {raw!r}")


def clear_tokens() -> None:
    """Empty the token tables: tokens of earlier runs only grow the table the bench inserts into."""
    from django.db import connection
    from oauth2_provider.models import (
        get_access_token_model,
        get_grant_model,
        get_id_token_model,
        get_refresh_token_model,
    )

    models = [
        get_refresh_token_model(),
        get_access_token_model(),
        get_id_token_model(),
        get_grant_model(),
    ]
    if connection.vendor == "postgresql":
        # One statement, whatever the size (an ORM delete walks every row's relations).
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {tables} CASCADE")
    else:
        for model in models:
            model.objects.all().delete()


def main() -> int:
    hashed = hash_client_secret_from_env()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchpeer.settings")

    import django

    django.setup()

    from django.core.management import call_command
    from django.db import transaction
    from oauth2_provider.models import get_application_model

    call_command("migrate", interactive=False, verbosity=0)

    application_model = get_application_model()
    with transaction.atomic():
        clear_tokens()
        application_model.objects.filter(client_id=CLIENT_ID).delete()
        application_model.objects.create(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            hash_client_secret=hashed,
            client_type=application_model.CLIENT_CONFIDENTIAL,
            authorization_grant_type=application_model.GRANT_CLIENT_CREDENTIALS,
            name=APP_NAME,
            redirect_uris="",
        )
    print(f"prepared application {CLIENT_ID} (hash_client_secret={hashed})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
