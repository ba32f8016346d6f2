"""pandas, imported only when a ``to_pandas()`` is called: the library does not need it."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["INSTALL_HINT", "data_frame"]

#: How to get pandas, for the error raised without it.
INSTALL_HINT = (
    "to_pandas() needs pandas, which is not installed: install the extra with "
    "pip install -e '.[pandas]' in a clone of the project (or pip install pandas)"
)


def data_frame(records: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> Any:
    """A ``pandas.DataFrame`` of ``records`` with exactly ``columns``, in that order.

    The columns are there even when ``records`` is empty, so code that groups by a
    column works on an empty table too; each column gets pandas' nullable type (a line
    number column stays whole numbers, a missing value is ``pandas.NA``).
    :class:`ImportError` saying how to install pandas when it is missing.
    """
    try:
        pandas = importlib.import_module("pandas")
    except ImportError as exc:
        raise ImportError(INSTALL_HINT, name="pandas") from exc
    return pandas.DataFrame.from_records(list(records), columns=list(columns)).convert_dtypes()
