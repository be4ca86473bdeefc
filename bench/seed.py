"""Bench fixtures made with Limen's own services, in a process of their own (LIMEN_* from env).

python bench/seed.py user EMAIL PASSWORD [admin|analyst]
python bench/seed.py tokens EMAIL COUNT OUT          # one session, COUNT access tokens
python bench/seed.py sessions EMAIL COUNT OUT        # COUNT sessions: "sid token" lines
python bench/seed.py api-keys EMAIL KNOWN TOTAL OUT  # TOTAL keys; KNOWN of them to OUT
python bench/seed.py client CLIENT_ID SECRET         # a confidential client_credentials client
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from webapp import create_app  # noqa: E402
from webapp.extensions import db, identity  # noqa: E402
from webapp.identity import FIRST_PARTY_CLIENT, RequestMeta  # noqa: E402
from webapp.identity.api_keys import format_key  # noqa: E402
from webapp.identity.crypto import random_base62  # noqa: E402
from webapp.models import ApiKey, User  # noqa: E402

META = RequestMeta(ip="127.0.0.1", user_agent="limen-bench")


def _user(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        raise SystemExit(f"no user {email}")
    return user


def user(email: str, password: str, role: str = "analyst") -> None:
    created = identity().accounts.create_user(email, password, roles=(role,), actor="bench")
    db.session.commit()
    print(created.id)


def tokens(email: str, count: str, out: str) -> None:
    ident = identity()
    grant = ident.user_grant(_user(email), FIRST_PARTY_CLIENT, "password")
    first = ident.tokens.start_session(grant, META)
    now = ident.clock()
    with open(out, "w") as fh:
        fh.write(first.access_token + "\n")
        for _ in range(int(count) - 1):
            fh.write(ident.tokens.mint_access(grant, first.session_id, now)[0] + "\n")


def sessions(email: str, count: str, out: str) -> None:
    ident = identity()
    grant = ident.user_grant(_user(email), FIRST_PARTY_CLIENT, "password")
    with open(out, "w") as fh:
        for _ in range(int(count)):
            started = ident.tokens.start_session(grant, META)
            fh.write(f"{started.session_id} {started.access_token}\n")


def victims(count: str, out: str) -> None:
    """Users that will be disabled one per trial, each signed in once (no HTTP, no argon2
    per session: only the account's own hash)."""
    ident = identity()
    with open(out, "w") as fh:
        for i in range(int(count)):
            made = ident.accounts.create_user(
                f"victim{i}-{uuid.uuid4().hex[:6]}@bench.example",
                "correct horse battery staple",
                roles=("analyst",),
                actor="bench",
            )
            db.session.commit()
            grant = ident.user_grant(made, FIRST_PARTY_CLIENT, "password")
            started = ident.tokens.start_session(grant, META)
            fh.write(f"{made.id} {started.access_token}\n")


B62 = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
B62_TABLE = bytes(B62[b % 62] for b in range(256))


def _filler_prefixes(count: int, taken: set[str]) -> list[str]:
    """Unique random prefixes for keys nobody will present (only their row matters)."""
    out: list[str] = []
    while len(out) < count:
        raw = os.urandom(8 * 4096).translate(B62_TABLE).decode()
        for i in range(0, len(raw), 8):
            prefix = raw[i : i + 8]
            if prefix not in taken:
                taken.add(prefix)
                out.append(prefix)
                if len(out) == count:
                    break
    return out


def api_keys(email: str, known: str, total: str, out: str) -> None:
    """KNOWN real keys (as ApiKeyService.create makes them) among TOTAL rows; the rest are
    rows with random prefixes and digests. Written in bulk (COPY on PostgreSQL)."""
    owner = _user(email)
    now = datetime.now(UTC)
    rows: list[tuple[str, str, str]] = []
    plain_known: list[str] = []
    taken: set[str] = set()
    for _ in range(int(known)):
        prefix = random_base62(8)
        taken.add(prefix)
        plain = format_key(prefix, random_base62(32))
        plain_known.append(plain)
        rows.append((str(uuid.uuid4()), prefix, hashlib.sha256(plain.encode()).hexdigest()))
    for prefix in _filler_prefixes(int(total) - int(known), taken):
        rows.append((str(uuid.uuid4()), prefix, os.urandom(32).hex()))
    engine = db.engine
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            buf = io.StringIO()
            stamp = now.isoformat()
            for key_id, prefix, digest in rows:
                buf.write(
                    f'{key_id}\t{owner.id}\tbench\t{prefix}\t{digest}\t["profile"]\t{stamp}\n'
                )
            with cur.copy(  # type: ignore[attr-defined]
                "COPY api_keys (id, user_id, name, prefix, digest, scopes, created_at) FROM STDIN"
            ) as copy:
                copy.write(buf.getvalue())
            raw.commit()
            cur.execute("ANALYZE api_keys")
            raw.commit()
        finally:
            raw.close()
    else:
        db.session.bulk_insert_mappings(
            ApiKey,  # type: ignore[arg-type]
            [
                {
                    "id": key_id,
                    "user_id": owner.id,
                    "name": "bench",
                    "prefix": prefix,
                    "digest": digest,
                    "scopes": ["profile"],
                    "created_at": now,
                }
                for key_id, prefix, digest in rows
            ],
        )
        db.session.commit()
    Path(out).write_text("".join(p + "\n" for p in plain_known))


def client(client_id: str, secret: str) -> None:
    """A confidential client_credentials client with a fixed id and secret, so every server
    in the comparison is asked exactly the same thing."""
    from webapp.identity.crypto import sha256_hex
    from webapp.identity.delegation import OPERATOR
    from webapp.models import OAuthClient

    registered = identity().clients.register(
        name="bench service",
        grants=["client_credentials"],
        scopes=["profile"],
        client_id=client_id,
        actor="bench",
        holder=OPERATOR,
    )
    row = db.session.get(OAuthClient, registered.row.id)
    assert row is not None
    row.secret_digest = sha256_hex(secret)
    db.session.commit()


def main() -> None:
    command, *args = sys.argv[1:]
    app = create_app()
    with app.app_context():
        {
            "user": user,
            "tokens": tokens,
            "sessions": sessions,
            "api-keys": api_keys,
            "client": client,
            "victims": victims,
        }[command](*args)


if __name__ == "__main__":
    main()
