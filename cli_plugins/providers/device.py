"""Device login (RFC 8628): show the code and URL, poll at the server's pace."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import oauth
from ..console import Console
from ..credentials import Credentials
from ..errors import LimenError, LoginCancelled
from ..hookspecs import hookimpl
from . import LoginContext, Provider

if TYPE_CHECKING:
    import httpx

SLOW_DOWN_STEP = 5  # seconds added on every slow_down (RFC 8628 §3.5)
TICK = 0.1


def spinner_frames() -> str:
    encoding = (getattr(sys.stderr, "encoding", None) or "").lower()
    return "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏" if "utf" in encoding else "|/-\\"


def show_code(console: Console, start: dict[str, Any]) -> None:
    """The screen a person sees: where to go and the code to type, large and plain."""
    console.say("To sign in, open this page in a browser on any device:")
    console.say()
    console.say(f"  {start['verification_uri']}", bold=True)
    console.say()
    console.say("and enter the code:")
    console.say()
    console.say(f"  {start['user_code']}", bold=True, fg="cyan")
    console.say()
    if start.get("verification_uri_complete"):
        console.say(f"(Or open {start['verification_uri_complete']} to skip typing the code.)")


class Poller:
    """Polls the token endpoint, honouring ``interval`` and ``slow_down``."""

    def __init__(
        self,
        request: Callable[[], dict[str, Any]],
        console: Console,
        *,
        interval: int,
        expires_in: int,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.request = request
        self.console = console
        self.interval = max(1, interval)
        self.sleep = sleep
        self.clock = clock
        self.deadline = clock() + expires_in
        self._frame = 0

    def run(self) -> dict[str, Any]:
        live = self.console.live
        if not live:
            self.console.say("Waiting for approval in the browser...")
        try:
            while True:
                self._wait(self.interval, live)
                try:
                    return self.request()
                except oauth.OAuthError as exc:
                    self._handle(exc)
        except KeyboardInterrupt:
            raise LoginCancelled("Login cancelled; nothing was saved.") from None
        finally:
            if live:
                self.console.clear_line()

    def _handle(self, exc: oauth.OAuthError) -> None:
        if exc.error == "authorization_pending":
            return
        if exc.error == "slow_down":
            self.interval += SLOW_DOWN_STEP
            return
        if exc.error == "access_denied":
            raise LoginCancelled(
                "The sign-in was denied in the browser; nothing was saved.",
                "Run `limen login --device` again if that was a mistake.",
            )
        if exc.error == "expired_token":
            raise LimenError(
                "The code expired before it was approved.",
                "Run `limen login --device` again and approve it sooner.",
            )
        raise exc

    def _wait(self, seconds: float, live: bool) -> None:
        end = self.clock() + seconds
        frames = spinner_frames()
        while (now := self.clock()) < end:
            if now > self.deadline:
                raise LimenError(
                    "The code expired before it was approved.",
                    "Run `limen login --device` again.",
                )
            if live:
                left = max(0, int(self.deadline - now))
                self._frame = (self._frame + 1) % len(frames)
                self.console.status_line(
                    f"{frames[self._frame]} Waiting for approval in the browser "
                    f"(code expires in {left // 60}:{left % 60:02d}; Ctrl-C to cancel)"
                )
            self.sleep(min(TICK, end - now))


class DeviceProvider(Provider):
    name = "device"
    help = "Sign in on another device: shows a code to enter at the server's /device page."
    needs_person = True

    def login(self, context: LoginContext) -> Credentials:
        tokens = device_login(context, client_id=oauth.CLI_CLIENT_ID, scope=oauth.CLI_SCOPES)
        return context.credentials(tokens, client_id=oauth.CLI_CLIENT_ID)


def device_login(
    context: LoginContext, *, client_id: str, scope: str, auth: httpx.Auth | None = None
) -> dict[str, Any]:
    """The device flow (RFC 8628) as ``client_id``: show the code, poll until approved, and
    return the token response. ``auth`` authenticates a confidential client."""
    metadata = context.metadata()
    start = oauth.post_form(
        metadata,
        context.http,
        "device_authorization_endpoint",
        oauth.client_form(client_id, auth, scope=scope),
        auth,
    )
    show_code(context.console, start)
    form = oauth.client_form(
        client_id, auth, grant_type=oauth.DEVICE_GRANT, device_code=str(start["device_code"])
    )
    return Poller(
        lambda: oauth.token_request(metadata, context.http, form, auth),
        context.console,
        interval=int(start.get("interval") or 5),
        expires_in=int(start.get("expires_in") or 600),
    ).run()


@hookimpl(trylast=True)
def register_providers(register: Callable[[Provider], None]) -> None:
    register(DeviceProvider())
