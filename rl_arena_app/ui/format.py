"""Numbers and times as the dashboard prints them (pure: values in, strings out)."""

from __future__ import annotations

from datetime import datetime

DASH = "-"


def rating(value: float | None) -> str:
    """A rating rounded to a whole point, or a dash."""
    return DASH if value is None else f"{value:.0f}"


def decimal(value: float | None, digits: int = 1) -> str:
    """A number with ``digits`` decimals, or a dash."""
    return DASH if value is None else f"{value:.{digits}f}"


def interval(low: float | None, high: float | None, digits: int = 0) -> str:
    """``[low, high]``, or a dash."""
    if low is None or high is None:
        return DASH
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def change(before: float | None, after: float | None) -> str:
    """``+16`` / ``-4`` / ``±0``, or '' when unknown."""
    if before is None or after is None:
        return ""
    delta = round(after - before)
    return "±0" if delta == 0 else f"{delta:+d}"


def points(value: float | None) -> str:
    """Match points (½ for draws), or a dash."""
    if value is None:
        return DASH
    whole, half = divmod(round(value * 2), 2)
    return f"{whole}½" if half and whole else "½" if half else str(whole)


def iso(when: datetime | None) -> str:
    """A time as ISO 8601 (the browser shows it relative and local), or ''."""
    return "" if when is None else when.isoformat()


def seconds(value: float) -> str:
    """A duration: ``0.8 ms``, ``12 ms``, ``1.4 s``."""
    if value < 0.01:
        return f"{value * 1000:.1f} ms"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.1f} s"
