"""The stable codes of every problem the codec reports, and their severities."""

from __future__ import annotations

import enum

__all__ = ["ErrorCode", "Severity"]


class Severity(enum.Enum):
    """What a reported problem means for its row."""

    #: The row is invalid and yields no record; fix it and upload it again.
    ERROR = "error"
    #: The row yields no record because a vendor rule skips it while the rest of the
    #: file loads (Marketing: ``duplicate_email`` and ``invalid_email``).
    SKIPPED = "skipped"
    #: The row's record was yielded; the value deserves a look.
    WARNING = "warning"

    def __str__(self) -> str:
        return self.value


class ErrorCode(enum.StrEnum):
    """A stable code for each kind of problem. Codes never change meaning once released.

    Header and file-level codes come with a :class:`~provisioning.SpreadsheetError`;
    row codes come as :class:`RowError` values while reading.
    """

    # -- the file as a whole (raised as SpreadsheetError) --------------------------------
    #: The stream holds no bytes at all: not even a header row.
    EMPTY_FILE = "empty_file"
    #: Bytes that are not valid in the file's encoding (UTF-8 unless a BOM says UTF-16).
    ENCODING = "encoding"
    #: A NUL character: the file is binary, or UTF-16 without a byte-order mark.
    NUL_BYTE = "nul_byte"
    #: The file is larger than the size limit (50 MB unless configured).
    FILE_TOO_LARGE = "file_too_large"
    #: A line or a (quoted, multi-line) record longer than the record size limit
    #: (1 MiB of text unless configured); in the header row, a ``HeaderError`` problem.
    RECORD_TOO_LARGE = "record_too_large"
    #: More rows with errors (or vendor skips) than the reader reports (100,000 unless
    #: configured): the file is refused there, so its problems fit in memory.
    TOO_MANY_PROBLEMS = "too_many_problems"
    #: An Excel workbook that cannot be read: the extra ``xlsx`` is not installed, it is
    #: not an .xlsx, it is broken, or it unpacks to more than the caps allow.
    WORKBOOK = "workbook"
    #: A workbook's sheet to read is not named (it has several) or not in it; or a
    #: sheet was named for a CSV file.
    SHEET = "sheet"
    #: One or more header problems; ``HeaderError.problems`` lists each one.
    HEADER = "header"

    # -- the header row (each one in HeaderError.problems) -------------------------------
    #: A required column is not in the header.
    MISSING_COLUMN = "missing_column"
    #: The same column appears twice in the header.
    DUPLICATE_COLUMN = "duplicate_column"
    #: A header differs from a template column only in case or spaces.
    INEXACT_HEADER = "inexact_header"
    #: The header has more columns than the reader takes (1,000 unless configured).
    TOO_MANY_COLUMNS = "too_many_columns"
    #: A column the template does not know; its values are kept in ``custom`` (warning).
    UNKNOWN_COLUMN = "unknown_column"
    #: A header cell is blank (warning); values under it are row errors.
    BLANK_HEADER = "blank_header"

    # -- one row -------------------------------------------------------------------------
    #: The row has fewer fields than the header.
    TOO_FEW_FIELDS = "too_few_fields"
    #: The row has more fields than the header.
    TOO_MANY_FIELDS = "too_many_fields"
    #: A quote in the wrong place, e.g. text right after a closing quote.
    BAD_QUOTING = "bad_quoting"
    #: A quoted field is never closed: the rest of the file was read into it.
    UNCLOSED_QUOTE = "unclosed_quote"
    #: A field is longer than the field size limit (32,767 characters unless configured).
    FIELD_TOO_LARGE = "field_too_large"
    #: A required value is empty.
    MISSING_VALUE = "missing_value"
    #: The email address breaks the documented email rule.
    INVALID_EMAIL = "invalid_email"
    #: Not a calendar date, or not a date in an accepted format.
    INVALID_DATE = "invalid_date"
    #: A date that is not ISO 8601 while no day/month order was declared.
    AMBIGUOUS_DATE = "ambiguous_date"
    #: A yes/no column holds something else.
    INVALID_BOOLEAN = "invalid_boolean"
    #: A value that is not one of the column's allowed values.
    INVALID_CHOICE = "invalid_choice"
    #: A value that breaks the column's pattern or a host column's own check, or a key
    #: holding a control character.
    INVALID_VALUE = "invalid_value"
    #: A key (LegacyContactKey, a Marketing member id) longer than 255 characters.
    VALUE_TOO_LONG = "value_too_long"
    #: A value under a blank header.
    VALUE_WITHOUT_HEADER = "value_without_header"
    #: The row repeats an earlier row's key.
    DUPLICATE_KEY = "duplicate_key"
    #: The row repeats an earlier row's email address, ignoring case.
    DUPLICATE_EMAIL = "duplicate_email"
    #: A value a spreadsheet would run as a formula (warning; neutralised on write).
    FORMULA_LIKE = "formula_like"

    # -- the file, reported before the rows it concerns (a warning) --------------------
    #: The file was not UTF-8 and its encoding was guessed (``encoding="auto"``); the
    #: message names the encoding and a value as it was read.
    ENCODING_GUESSED = "encoding_guessed"
