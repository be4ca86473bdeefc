"""Device polling: the server's interval, +5 s on slow_down, clean endings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cli_plugins.console import Console
from cli_plugins.errors import LimenError, LoginCancelled
from cli_plugins.oauth import OAuthError
from cli_plugins.providers.device import Poller


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def answers(
    *replies: str | dict[str, Any], clock: Clock, polls: list[float]
) -> Callable[[], dict[str, Any]]:
    queue = list(replies)

    def request() -> dict[str, Any]:
        polls.append(clock.now)
        reply = queue.pop(0)
        if isinstance(reply, str):
            raise OAuthError(reply, "", 400)
        return reply

    return request


def poller(request: Callable[[], dict[str, Any]], clock: Clock, **kwargs: Any) -> Poller:
    kwargs.setdefault("interval", 5)
    kwargs.setdefault("expires_in", 600)
    return Poller(request, Console(interactive=False), sleep=clock.sleep, clock=clock, **kwargs)


def test_polls_at_the_interval_and_slows_down_by_5s():
    clock, polls = Clock(), []
    request = answers(
        "authorization_pending",
        "slow_down",
        "authorization_pending",
        {"access_token": "t"},
        clock=clock,
        polls=polls,
    )
    assert poller(request, clock).run() == {"access_token": "t"}
    gaps = [round(b - a) for a, b in zip([0.0, *polls], polls, strict=False)]
    assert gaps == [5, 5, 10, 10]


@pytest.mark.parametrize(
    ("error", "exc", "words"),
    [("access_denied", LoginCancelled, "denied"), ("expired_token", LimenError, "expired")],
)
def test_final_errors_end_the_login(error, exc, words):
    clock, polls = Clock(), []
    with pytest.raises(exc, match=words):
        poller(answers(error, clock=clock, polls=polls), clock).run()


def test_code_expiry_stops_polling():
    clock, polls = Clock(), []
    request = answers(*["authorization_pending"] * 10, clock=clock, polls=polls)
    with pytest.raises(LimenError, match="expired"):
        poller(request, clock, expires_in=12).run()
    assert len(polls) == 2


def test_ctrl_c_is_a_clean_cancellation():
    clock = Clock()

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    waiting = Poller(
        lambda: {},
        Console(interactive=False),
        interval=5,
        expires_in=600,
        sleep=interrupted,
        clock=clock,
    )
    with pytest.raises(LoginCancelled) as caught:
        waiting.run()
    assert caught.value.exit_code == 1 and "nothing was saved" in caught.value.message
