"""The spreadsheet codec: templates, a streaming reader, a formula-safe writer.

Read an upload file in constant memory, row errors and records in file order::

    >>> import io
    >>> from provisioning.spreadsheet import COMMUNITY_UPLOAD_USERS, RowError, read
    >>> data = io.BytesIO(
    ...     b"LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName\\r\\n"
    ...     b"1001,Ada,Lovelace,ada@example.com,Analytical Engines\\r\\n"
    ...     b"1002,Charles,Babbage,not-an-email,Analytical Engines\\r\\n"
    ... )
    >>> for item in read(data, COMMUNITY_UPLOAD_USERS):
    ...     print(item.code if isinstance(item, RowError) else item.key)
    1001
    invalid_email

The rules it enforces are in the domain reference (docs/domain.md, "The upload files");
docs/upload-files.md is the guide.
"""

from ._codes import ErrorCode, Severity
from ._dates import DateOrder
from ._errors import HeaderError, ReadSummary, RowError
from ._options import OptionNames
from ._reader import (
    DEFAULT_MAX_FIELD_SIZE,
    DEFAULT_MAX_FILE_SIZE,
    DEFAULT_MAX_PROBLEM_ROWS,
    DEFAULT_MAX_RECORD_SIZE,
    Reader,
    ReadReport,
    read,
    read_all,
)
from ._source import ENCODINGS
from ._templates import (
    COMMUNITY_UPLOAD_USERS,
    MARKETING_ENTERPRISE,
    MARKETING_ENTERPRISE_BY_MEMBER_ID,
    MARKETING_PROFESSIONAL,
    Column,
    ColumnType,
    Template,
)
from ._writer import ERROR_REPORT_COLUMNS, neutralise, write, write_blank, write_error_report

#: The top-level name of :class:`Severity` (``provisioning.Severity`` is the rules').
RowSeverity = Severity

__all__ = [
    "COMMUNITY_UPLOAD_USERS",
    "DEFAULT_MAX_FIELD_SIZE",
    "DEFAULT_MAX_FILE_SIZE",
    "DEFAULT_MAX_PROBLEM_ROWS",
    "DEFAULT_MAX_RECORD_SIZE",
    "ENCODINGS",
    "ERROR_REPORT_COLUMNS",
    "MARKETING_ENTERPRISE",
    "MARKETING_ENTERPRISE_BY_MEMBER_ID",
    "MARKETING_PROFESSIONAL",
    "Column",
    "ColumnType",
    "DateOrder",
    "ErrorCode",
    "HeaderError",
    "OptionNames",
    "ReadReport",
    "ReadSummary",
    "Reader",
    "RowError",
    "RowSeverity",
    "Severity",
    "Template",
    "neutralise",
    "read",
    "read_all",
    "write",
    "write_blank",
    "write_error_report",
]
