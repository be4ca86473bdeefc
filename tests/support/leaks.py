"""Find secrets in logs. Every secret Limen issues has a recognisable shape, so a scan for
those shapes (plus the suite's passwords) finds any secret the suite issued."""

from __future__ import annotations

import re

from tests.support.factories import PASSWORD

SECRET_SHAPES = {
    "JWT (access or ID token)": re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{16,}"),
    "refresh token": re.compile(r"limen_rt_[\w-]{20,}"),
    "API key": re.compile(r"limen_[0-9A-Za-z]{8}_[0-9A-Za-z]{30,}"),
    "client secret": re.compile(r"limen_cs_[\w-]{20,}"),
    "mailed one-time link token": re.compile(r"limen_ml_[\w-]{20,}"),
    "session cookie": re.compile(r"limen_session=[\w.-]{20,}"),
    "upstream (GitHub) token": re.compile(r"\bgh[opsu]_[0-9A-Za-z]{30,}"),
}
KNOWN_PASSWORDS = (PASSWORD, "correct horse battery", "a long admin password")


def find_leaks(text: str) -> list[str]:
    """One line per secret-shaped string found, naming its kind and a short prefix."""
    found = [
        f"{kind}: {m.group(0)[:16]}…"
        for kind, pattern in SECRET_SHAPES.items()
        for m in pattern.finditer(text)
    ]
    found += [f"password: {p[:4]}…" for p in KNOWN_PASSWORDS if p in text]
    return found
