"""How the reader's messages name its options, for whoever reads them.

A message that suggests an option ("read the file with date_order=DateOrder.DAY_FIRST")
must name one the person can type where they are: a Python argument in a notebook, a
flag in the command, a menu in a host's web form. The reader takes an
:class:`OptionNames` and builds every such suggestion from it.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

__all__ = ["OptionNames"]


@attrs.frozen(kw_only=True)
class OptionNames:
    """How the reader's messages name its options: Python arguments unless told otherwise.

    Each field is the text a message inserts where it suggests that option; those with
    ``{}`` get a value, written with ``quote``. The command passes its own flags
    (``--date-order day-first``); a host with its own front end passes its own words.
    """

    #: Declaring the day/month order of non-ISO dates.
    date_order: str = "date_order=DateOrder.DAY_FIRST or DateOrder.MONTH_FIRST"
    #: Accepting headers that differ from the template's only in case or spaces.
    lenient_headers: str = "lenient_headers=True"
    #: Raising the size limit.
    max_file_size: str = "a larger max_file_size="
    #: Naming the encoding a file is read in: ``{}`` is the encoding.
    encoding: str = "encoding={}"
    #: Naming the sheet of a workbook to read: ``{}`` is the sheet's name.
    sheet: str = "sheet={}"
    #: How a value is written into the texts above (a shell quotes, Python uses repr).
    quote: Callable[[str], str] = repr

    def with_encoding(self, name: str) -> str:
        """The suggestion to read the file in the encoding ``name``."""
        return self.encoding.format(self.quote(name))

    def with_sheet(self, name: str) -> str:
        """The suggestion to read the sheet ``name``."""
        return self.sheet.format(self.quote(name))
