"""A revoked session's client gets an OIDC back-channel logout token from a real worker process,
retried with back-off after the receiver first answers 500."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from webapp.extensions import db
from webapp.identity import RequestMeta
from webapp.identity.backchannel import LOGOUT_EVENT
from webapp.identity.delegation import OPERATOR
from webapp.identity.tokens import Grant
from webapp.jobs import overview
from webapp.models import AuditEvent, BackchannelDelivery

from .conftest import JobsNode, wait_for


class Receiver(ThreadingHTTPServer):
    """A relying party's back-channel logout endpoint on loopback, answering from a script."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[float, int, dict[str, list[str]], str]] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/backchannel-logout"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.server.received.append(
            (time.monotonic(), status, parse_qs(body), self.headers.get("Content-Type", ""))
        )
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver([500, 200])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_logout_token_delivered_after_a_500(make_node: Any, receiver: Receiver) -> None:
    node: JobsNode = make_node(LIMEN_JOB_RETRY_INTERVALS="[2, 2, 2]")
    worker = node.spawn("worker")
    with node.app.app_context():
        ident = node.app.extensions["limen.identity"]
        client = ident.clients.register(
            name="RP",
            grants=["authorization_code"],
            redirect_uris=["https://rp.example/cb"],
            holder=OPERATOR,
        ).row
        db.session.commit()
        ident.backchannel.set_uri(client.client_id, receiver.url, actor="test")
        user = ident.accounts.create_user("bcl@example.com", "correct horse battery staple")
        db.session.commit()
        grant = Grant(user.id, user.id, ("analyst",), ("openid",), client.client_id, "password")
        sid = ident.tokens.start_session(grant, RequestMeta(ip="127.0.0.1")).session_id
        client_id, user_id = client.client_id, user.id

        ident.revocation.revoke_session(sid, reason="logout")  # the event enqueues the job
        db.session.commit()  # the test is the boundary: the event follows the commit

    wait_for(lambda: len(receiver.received) >= 2, 30, "two POSTs\n" + worker.log())
    (t1, s1, _, _), (t2, s2, form, content_type) = receiver.received[:2]
    assert (s1, s2) == (500, 200)
    # The retry waited for its back-off: 2 s, which RQ schedules in whole seconds (up to 1 s
    # early), so at least 1 s and never at once.
    assert t2 - t1 >= 1.0
    assert content_type == "application/x-www-form-urlencoded"

    with node.app.app_context():
        ident = node.app.extensions["limen.identity"]
        token = form["logout_token"][0]
        keys = KeySet.import_key_set(ident.keys.jwks())
        decoded = jwt.decode(token, keys, algorithms=["RS256"])  # signed like its ID tokens
        assert decoded.header["typ"] == "logout+jwt"
        claims = decoded.claims
        assert claims["iss"] == "http://127.0.0.1:5998"
        assert claims["aud"] == client_id
        assert claims["sub"] == user_id and claims["sid"] == sid
        assert claims["events"] == {LOGOUT_EVENT: {}}
        assert {"iat", "jti", "exp"} <= set(claims) and "nonce" not in claims

        def delivered() -> BackchannelDelivery | None:
            db.session.rollback()
            row = db.session.scalar(select(BackchannelDelivery))
            return row if row is not None and row.status == "delivered" else None

        row = wait_for(delivered, 10, "the delivery to be recorded")
        assert row.attempts == 2 and row.session_id == sid
        events = db.session.scalars(
            select(AuditEvent.event).where(AuditEvent.session_id == sid)
        ).all()
        assert "backchannel_logout.delivered" in events and "session.revoked" in events
        run = next(r for r in overview(node.jobs)["runs"] if r["job"] == "backchannel.deliver")
        assert (run["status"], run["attempts"]) == ("succeeded", 2)
        assert "HTTP 500" in (run["error"] or "") or run["error"] is None
        db.session.rollback()
