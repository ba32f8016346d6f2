"""The reader's options as the command's flags: parsed, named in messages, saved in plans."""

from __future__ import annotations

import functools
import shlex
from collections.abc import Callable
from typing import IO, Any, TypeVar

import attrs
import click

from ..spreadsheet import ENCODINGS, DateOrder, OptionNames, Reader, Template, read

__all__ = ["COMMAND_NAMES", "ReadingOptions", "open_reader", "reading_options"]

_F = TypeVar("_F", bound=Callable[..., Any])

#: How the reader's messages name its options in the command: as flags a person types.
COMMAND_NAMES = OptionNames(
    date_order="--date-order day-first or --date-order month-first",
    lenient_headers="--lenient-headers",
    max_file_size="a larger --max-file-size",
    encoding="--encoding {}",
    sheet="--sheet {}",
    quote=shlex.quote,
)

#: ``--date-order`` choices and the order each one declares.
DATE_ORDERS = {"day-first": DateOrder.DAY_FIRST, "month-first": DateOrder.MONTH_FIRST}
_FLAG = {order: flag for flag, order in DATE_ORDERS.items()}


@attrs.frozen(kw_only=True)
class ReadingOptions:
    """How an upload file is read: what the flags said (``None``: the reader's default)."""

    date_order: DateOrder | None = None
    lenient_headers: bool = False
    #: The encoding asked for (``auto`` allows a guess); ``None``: UTF-8, or as a BOM says.
    encoding: str | None = None
    #: The sheet of a workbook; ``None``: its only sheet.
    sheet: str | None = None

    def flag(self, name: str) -> str:
        """How the command line gives the option ``name`` (a parameter name) as set here."""
        if name == "date_order":
            order = self.date_order
            return "without --date-order" if order is None else f"--date-order {_FLAG[order]}"
        if name == "lenient_headers":
            return "with --lenient-headers" if self.lenient_headers else "without --lenient-headers"
        value = getattr(self, name)
        option = "--" + name.replace("_", "-")
        return f"without {option}" if value is None else f"{option} {shlex.quote(value)}"


#: The names of the command parameters :func:`reading_options` adds.
PARAMETERS = tuple(a.name for a in attrs.fields(ReadingOptions))


def reading_options(command: _F) -> _F:
    """Add the reader's flags to ``command``, handed to it as one ``reading`` argument."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        order = kwargs.pop("date_order")
        kwargs["reading"] = ReadingOptions(
            date_order=None if order is None else DATE_ORDERS[order],
            lenient_headers=kwargs.pop("lenient_headers"),
            encoding=kwargs.pop("encoding"),
            sheet=kwargs.pop("sheet"),
        )
        return command(*args, **kwargs)

    options = [
        click.option(
            "--date-order",
            "date_order",
            type=click.Choice(list(DATE_ORDERS)),
            default=None,
            help="How dates that are not YYYY-MM-DD are written: day-first (31/12/2024) or "
            "month-first (12/31/2024). Without it such dates are errors, never guessed.",
        ),
        click.option(
            "--lenient-headers",
            "lenient_headers",
            is_flag=True,
            default=False,
            help="Accept headers that differ from the template's only in case or spaces "
            "(each one a warning).",
        ),
        click.option(
            "--encoding",
            "encoding",
            type=click.Choice(ENCODINGS, case_sensitive=False),
            default=None,
            help="The file's encoding (default: UTF-8, or UTF-16 with a byte-order mark). "
            "cp1252 is Excel's plain CSV on Windows; auto reads UTF-8 or guesses "
            "(Windows-1252, UTF-16 without a mark) with a warning.",
        ),
        click.option(
            "--sheet",
            "sheet",
            default=None,
            metavar="NAME",
            help="The sheet to read of an Excel workbook (.xlsx) with several; needs the "
            "extra xlsx.",
        ),
    ]
    decorated: Any = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


def open_reader(
    stream: IO[bytes], template: Template[Any], reading: ReadingOptions, max_file_size: int | None
) -> Reader[Any]:
    """The spreadsheet reader over ``stream`` with the command's options and flag names."""
    return read(
        stream,
        template,
        date_order=reading.date_order,
        lenient_headers=reading.lenient_headers,
        max_file_size=max_file_size,
        option_names=COMMAND_NAMES,
        encoding=reading.encoding,
        sheet=reading.sheet,
    )
