"""The clock: the date a function takes when its caller passes no ``as_of``."""

from __future__ import annotations

import datetime as dt

__all__ = ["today"]


def today() -> dt.date:
    """The date used when a caller passes no ``as_of``: today in UTC."""
    return dt.datetime.now(dt.UTC).date()
