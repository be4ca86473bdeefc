"""What a person sees in a real terminal (a pty): the device screen, and Ctrl-C."""

from __future__ import annotations

import os
import pty
import re
import select
import time

from .conftest import LIMEN

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def read_until(fd: int, pattern: str, timeout: float = 30) -> str:
    """Terminal output (ANSI codes removed) up to a match of ``pattern`` or the end."""
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
        if re.search(pattern, ANSI.sub("", seen.decode(errors="replace"))):
            break
    return ANSI.sub("", seen.decode(errors="replace"))


def test_device_screen_and_ctrl_c(limen, cli_server):
    pid, fd = pty.fork()
    if pid == 0:  # the child: `limen login --device` on the pty
        try:
            os.execve(LIMEN, [LIMEN, "login", "--device"], limen.env(TERM="xterm"))  # noqa: S606
        finally:
            os._exit(127)
    try:
        screen = read_until(fd, r"Waiting for approval")
        assert f"{cli_server.url}/device" in screen
        assert re.search(r"^\s+[A-Z0-9]{4}-[A-Z0-9]{4}\s*$", screen, re.MULTILINE), screen
        os.write(fd, b"\x03")
        rest = read_until(fd, r"nothing was saved")
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 1
    assert "Login cancelled; nothing was saved." in rest
    assert "Traceback" not in screen + rest
    assert not limen.credentials_file.exists()


SGR = re.compile(rb"\x1b\[[0-9;]*m")  # colour and bold: what NO_COLOR turns off


def device_screen(env: dict[str, str]) -> bytes:
    """The raw bytes `limen login --device` writes to a terminal until it waits (then ^C)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(LIMEN, [LIMEN, "login", "--device"], env)  # noqa: S606
        finally:
            os._exit(127)
    seen = b""
    try:
        deadline = time.monotonic() + 30
        while b"Waiting for approval" not in seen and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.2)[0]:
                seen += os.read(fd, 4096)
        os.write(fd, b"\x03")
        os.waitpid(pid, 0)
    finally:
        os.close(fd)
    return seen


def test_no_color_turns_colour_off(limen):
    assert SGR.search(device_screen(limen.env(TERM="xterm")))
    plain = device_screen(limen.env(TERM="xterm", NO_COLOR="1"))
    assert b"Waiting for approval" in plain and not SGR.search(plain)
