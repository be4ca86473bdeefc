"""Template filters for the portal's pages: times a person reads at a glance."""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import Markup

from webapp.extensions import identity

from . import bp

MINUTE, HOUR, DAY = 60, 3600, 86400


def relative(value: datetime, now: datetime) -> str:
    """``value`` next to ``now`` in words: "just now", "5 min ago", "in 3 days", a date."""
    seconds = int((now - value).total_seconds())
    ahead, span = seconds < 0, abs(seconds)
    if span < MINUTE:
        return "just now"
    if span >= 7 * DAY:
        return value.strftime("%Y-%m-%d")
    amount, unit = next(
        (span // size, name)
        for size, name in ((DAY, "day"), (HOUR, "hour"), (MINUTE, "min"))
        if span >= size
    )
    words = f"{amount} {unit}" + ("s" if amount != 1 and unit != "min" else "")
    return f"in {words}" if ahead else f"{words} ago"


@bp.app_template_filter("when")
def when(value: datetime | str | None, empty: str = "—") -> Markup | str:
    """A ``<time datetime>`` element: relative words, the exact UTC time as its title
    (``value``: a datetime, or an ISO 8601 string as the jobs overview gives them)."""
    if not value:
        return empty
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return str(value)
    if moment.tzinfo is None:  # stored as UTC
        moment = moment.replace(tzinfo=UTC)
    exact = moment.astimezone(UTC)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        exact.isoformat(timespec="seconds").replace("+00:00", "Z"),
        exact.strftime("%Y-%m-%d %H:%M UTC"),
        relative(exact, identity().clock()),
    )
