"""Templates: what one kind of upload file looks like, as data a host can extend."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from typing import IO, Any, Generic, TypeVar

import attrs

from .._validators import header_problem
from ..exceptions import InvalidValueError
from ..records import Contact, RecordStatus, UserRecord
from ._codes import ErrorCode

#: The statuses a file may give: every one but Deleted, which only deleting a person's
#: data sets.
_FILE_STATUSES = tuple(s for s in RecordStatus if s is not RecordStatus.DELETED)

__all__ = [
    "COMMUNITY_UPLOAD_USERS",
    "MARKETING_ENTERPRISE",
    "MARKETING_ENTERPRISE_BY_MEMBER_ID",
    "MARKETING_PROFESSIONAL",
    "Column",
    "ColumnType",
    "Template",
]

R = TypeVar("R", UserRecord, Contact)


class ColumnType(enum.Enum):
    """How a column's text becomes a value, and back."""

    #: Trimmed text; empty is ``None`` (or missing, for a required column).
    TEXT = "text"
    #: An email address: trimmed, domain lower-cased, checked by the documented rule.
    EMAIL = "email"
    #: A date by the date rule (``DateOrder``); written as ISO 8601.
    DATE = "date"
    #: ``true/false``, ``yes/no``, ``y/n``, ``1/0`` in any case; written as ``true/false``.
    BOOLEAN = "boolean"
    #: One of the column's choices, in any case; written as the choice is spelt.
    CHOICE = "choice"

    def __str__(self) -> str:
        return self.value


def _choices(
    value: type[enum.Enum] | Iterable[str | enum.Enum],
) -> type[enum.Enum] | tuple[str, ...] | tuple[enum.Enum, ...]:
    """An enum, some of its members, or strings (a mix is no choice list)."""
    if isinstance(value, type):
        return value
    items = tuple(value)
    if any(isinstance(item, enum.Enum) for item in items) and not all(
        isinstance(item, enum.Enum) for item in items
    ):
        raise InvalidValueError("choices are an enum, some of its members, or strings")
    return items  # type: ignore[return-value]


def _check_header(_inst: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if header_problem(value) is not None:
        raise InvalidValueError(
            f"header must be non-empty text without surrounding spaces or line breaks, "
            f"got {value!r}",
            field="header",
        )


@attrs.frozen(kw_only=True)
class Column:
    """One column of a template: its header and how its text becomes a record value.

    ``field`` names the record attribute the value goes to; a column without a field is
    a custom (demographic) column whose trimmed, non-empty text is kept in the record's
    ``custom`` mapping under the header.
    """

    #: The header exactly as the file must spell it.
    header: str = attrs.field(validator=_check_header)
    #: The record attribute, or ``None`` for a custom column kept in ``record.custom``.
    field: str | None = None
    kind: ColumnType = ColumnType.TEXT
    #: Whether every row must have a value.
    required: bool = False
    #: For ``CHOICE``: an enum (its values are the choices), some of its members (a
    #: status a file may not set is left out), or the allowed strings.
    choices: type[enum.Enum] | tuple[str, ...] | tuple[enum.Enum, ...] = attrs.field(
        default=(), converter=_choices
    )
    #: For ``TEXT``: a regular expression the trimmed value must match in full.
    pattern: str | None = None
    #: For ``TEXT``: applied to the trimmed, non-empty text (``str.upper``, say); it
    #: returns the value or raises ``ValueError`` to refuse it. Make it idempotent, so
    #: a file written from the records reads back the same.
    normalise: Callable[[str], str] | None = None
    #: What the column holds, for people filling the file in.
    description: str = ""
    #: An example value, used by ``Template.write_blank(example=True)``.
    example: str = ""
    #: Whose rule the column is: ``"vendor"`` or ``"ours"`` (see docs/domain.md).
    source: str = "ours"

    def __attrs_post_init__(self) -> None:
        if self.kind is ColumnType.CHOICE and not self.choice_values:
            raise InvalidValueError(
                f"column {self.header!r} is a CHOICE column without choices", field="choices"
            )
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise InvalidValueError(
                    f"column {self.header!r} has an invalid pattern {self.pattern!r}: {exc}",
                    field="pattern",
                ) from None

    @property
    def choice_values(self) -> tuple[str, ...]:
        """The allowed values as written in a file."""
        return tuple(str(c.value) if isinstance(c, enum.Enum) else c for c in self.choices)


def _to_columns(value: Iterable[Column]) -> tuple[Column, ...]:
    return tuple(value)


def _to_codes(value: Iterable[ErrorCode]) -> frozenset[ErrorCode]:
    return frozenset(value)


def _fields_of(record_type: type[Any]) -> dict[str, attrs.Attribute[Any]]:
    return {a.name: a for a in attrs.fields(record_type)}


@attrs.frozen(kw_only=True)
class Template(Generic[R]):
    """One kind of upload file: its columns, key, uniqueness rules and delimiter.

    Build your own, or extend a built-in one with custom demographic columns::

        ours = COMMUNITY_UPLOAD_USERS.extend(Column(header="Chapter"))
    """

    #: A name people recognise, e.g. ``"Upload Users"``.
    name: str
    #: The record class each valid row becomes: ``UserRecord`` or ``Contact``.
    record_type: type[R]
    columns: tuple[Column, ...] = attrs.field(converter=_to_columns)
    #: The header of the key column: unique within a file, compared exactly.
    key: str
    #: The header of the email column: unique within a file, compared ignoring case.
    email: str
    #: ``","`` for CSV, ``"\t"`` for tab-delimited text.
    delimiter: str = ","
    version: str = "1"
    description: str = ""
    #: Codes the vendor skips rather than rejects (the row is reported as ``SKIPPED``
    #: and the rest of the file loads), e.g. Marketing's repeated and invalid emails.
    skip_codes: frozenset[ErrorCode] = attrs.field(default=frozenset(), converter=_to_codes)

    def __attrs_post_init__(self) -> None:
        problems: list[str] = []
        fields = _fields_of(self.record_type)
        headers = [c.header for c in self.columns]
        seen: set[str] = set()
        for header in headers:
            if header in seen:
                problems.append(f"column {header!r} appears twice")
            seen.add(header)
        mapped: dict[str, str] = {}
        for column in self.columns:
            if column.field is None:
                continue
            if column.field not in fields or column.field == "custom":
                problems.append(
                    f"column {column.header!r} maps to {column.field!r}, which is not a "
                    f"field of {self.record_type.__name__}"
                )
            elif column.field in mapped:
                problems.append(
                    f"columns {mapped[column.field]!r} and {column.header!r} both map to "
                    f"{column.field!r}"
                )
            mapped[column.field] = column.header
        problems.extend(
            f"custom column {column.header!r} must be TEXT or CHOICE with string choices: "
            "custom values are text"
            for column in self.columns
            if column.field is None
            and (
                column.kind not in (ColumnType.TEXT, ColumnType.CHOICE)
                or isinstance(column.choices, type)
                or any(isinstance(c, enum.Enum) for c in column.choices)
            )
        )
        by_header = {c.header: c for c in self.columns}
        for name, attribute in fields.items():
            if attribute.default is attrs.NOTHING and name not in mapped:
                problems.append(f"no column maps to the required field {name!r}")
            elif attribute.default is attrs.NOTHING and not by_header[mapped[name]].required:
                problems.append(
                    f"column {mapped[name]!r} must be required: {name!r} has no default"
                )
        for role, header in (("key", self.key), ("email", self.email)):
            if header not in by_header:
                problems.append(f"the {role} column {header!r} is not one of the columns")
            elif not by_header[header].required:
                problems.append(f"the {role} column {header!r} must be required")
        if len(self.delimiter) != 1 or self.delimiter in "\"'\r\n\x00 ":
            problems.append(
                f"delimiter must be one character other than quotes, spaces "
                f"and line breaks, got {self.delimiter!r}"
            )
        if problems:
            raise InvalidValueError(
                f"template {self.name!r} is invalid: " + "; ".join(problems), field="columns"
            )

    @property
    def headers(self) -> tuple[str, ...]:
        """Every header, in the template's order."""
        return tuple(c.header for c in self.columns)

    @property
    def required_headers(self) -> tuple[str, ...]:
        """The headers every file must have."""
        return tuple(c.header for c in self.columns if c.required)

    def column(self, header: str) -> Column:
        """The column with this exact header; ``KeyError`` if there is none."""
        for column in self.columns:
            if column.header == header:
                return column
        raise KeyError(header)

    def extend(
        self, *columns: Column, name: str | None = None, record_type: type[R] | None = None
    ) -> Template[R]:
        """A copy with ``columns`` added at the end (custom demographics, say).

        ``record_type`` makes the rows a subclass of the record class instead, one with
        fields of its own that the new columns map to.
        """
        return attrs.evolve(
            self,
            columns=self.columns + columns,
            name=name or self.name,
            record_type=record_type or self.record_type,
        )

    def to_table_schema(self) -> dict[str, Any]:
        """A Frictionless Table Schema describing this template's file.

        Other tools (``frictionless validate``, for one) can check a file against it.
        """
        from ._schema import table_schema  # noqa: PLC0415 - the schema module needs us

        return table_schema(self)

    def write_blank(self, stream: IO[str], *, example: bool = False) -> None:
        """Write the header row (and with ``example=True`` one example row) to ``stream``.

        Open the file with ``newline=""``; the rows end with ``\\r\\n`` as Excel's do.
        """
        from ._writer import write_blank  # noqa: PLC0415 - the writer needs us

        write_blank(self, stream, example=example)


def _col(header: str, field: str | None, description: str, example: str = "", **kw: Any) -> Column:
    return Column(header=header, field=field, description=description, example=example, **kw)


_VENDOR = {"source": "vendor", "required": True}
_DATE = {"kind": ColumnType.DATE}

#: The Community "Upload Users" template [HL 360043414832, 360058261332]. The five
#: required headers are the vendor's; the optional columns are ours, named after the
#: vendor's Push API member record (see the domain reference, docs/domain.md).
COMMUNITY_UPLOAD_USERS: Template[UserRecord] = Template(
    name="Upload Users",
    record_type=UserRecord,
    key="LegacyContactKey",
    email="EmailAddress",
    description="Community users: one row per user, keyed by LegacyContactKey.",
    columns=(
        _col("LegacyContactKey", "legacy_contact_key",
             "The user's unique id; with SSO, the identifier the IdP asserts.", "1001",
             **_VENDOR),
        _col("FirstName", "first_name", "Given name.", "Ada", **_VENDOR),
        _col("LastName", "last_name", "Family name.", "Lovelace", **_VENDOR),
        _col("EmailAddress", "email", "Email address, unique in the file ignoring case.",
             "ada@example.com", kind=ColumnType.EMAIL, **_VENDOR),
        _col("CompanyName", "company_name", "Employer or organisation.",
             "Analytical Engines", **_VENDOR),
        _col("PrefixCode", "prefix", "Name prefix, e.g. Dr.", "Dr"),
        _col("MiddleName", "middle_name", "Middle name.", "King"),
        _col("SuffixCode", "suffix", "Name suffix, e.g. Jr.", ""),
        _col("InformalName", "informal_name", "What the user likes to be called.", "Ada"),
        _col("Title", "title", "Job title.", "Analyst"),
        _col("MemberId", "member_id", "Membership number in the AMS.", "M-1815"),
        _col("MemberSince", "member_since", "Date membership began.", "2015-12-10", **_DATE),
        _col("MemberExpiresOn", "member_expires_on", "Date membership ends.", "2026-12-31",
             **_DATE),
        _col("Birthday", "birthday", "Date of birth.", "1815-12-10", **_DATE),
        _col("Address1", "address1", "Street address, first line.", "12 St James's Square"),
        _col("Address2", "address2", "Street address, second line.", ""),
        _col("City", "city", "City.", "London"),
        _col("State", "state", "State, province or region.", ""),
        _col("PostalCode", "postal_code", "Postal code.", "SW1Y 4JH"),
        _col("Country", "country", "Country.", "United Kingdom"),
        _col("Phone1", "phone1", "Main phone number.", "+44 20 7946 0958"),
        _col("Phone1Type", "phone1_type", "Kind of Phone1, e.g. Mobile.", "Mobile"),
        _col("Phone2", "phone2", "Second phone number.", ""),
        _col("Phone2Type", "phone2_type", "Kind of Phone2.", ""),
        _col("IsMember", "is_member", "Whether the user is a member (true/false).", "true",
             kind=ColumnType.BOOLEAN),
        _col("Status", "status", "Enabled, Deactivated, Pending Approval, Pending "
             "Verification or Rejected; empty means Enabled.", "Enabled",
             kind=ColumnType.CHOICE, choices=_FILE_STATUSES),
    ),
)  # fmt: skip

_MARKETING_SKIPS = frozenset(
    {ErrorCode.DUPLICATE_EMAIL, ErrorCode.DUPLICATE_KEY, ErrorCode.INVALID_EMAIL}
)


def _marketing_columns(*, member_id_required: bool) -> tuple[Column, ...]:
    return (
        _col("Email", "email", "Email address; one contact per address.",
             "ada@example.com", kind=ColumnType.EMAIL, required=True),
        _col("MemberId", "member_id", "Your own member id for the contact.", "M-1815",
             required=member_id_required),
        _col("FirstName", "first_name", "Given name.", "Ada"),
        _col("LastName", "last_name", "Family name.", "Lovelace"),
    )  # fmt: skip


#: Marketing Enterprise contacts: CSV keyed by Email [HL 360033049211]. Of repeated
#: emails only the first row is loaded; invalid emails are skipped and reported.
MARKETING_ENTERPRISE: Template[Contact] = Template(
    name="Marketing Enterprise contacts",
    record_type=Contact,
    key="Email",
    email="Email",
    description="Marketing Enterprise contacts, keyed by Email.",
    columns=_marketing_columns(member_id_required=False),
    skip_codes=_MARKETING_SKIPS,
)

#: Marketing Enterprise contacts keyed by a custom member id instead of Email.
MARKETING_ENTERPRISE_BY_MEMBER_ID: Template[Contact] = Template(
    name="Marketing Enterprise contacts (member id)",
    record_type=Contact,
    key="MemberId",
    email="Email",
    description="Marketing Enterprise contacts, keyed by a custom member id.",
    columns=_marketing_columns(member_id_required=True),
    skip_codes=_MARKETING_SKIPS,
)

#: Marketing Professional contacts: tab-delimited text keyed by Email [HL 5194754870676].
MARKETING_PROFESSIONAL: Template[Contact] = Template(
    name="Marketing Professional contacts",
    record_type=Contact,
    key="Email",
    email="Email",
    delimiter="\t",
    description="Marketing Professional contacts (tab-delimited), keyed by Email.",
    columns=tuple(
        c for c in _marketing_columns(member_id_required=False) if c.header != "MemberId"
    ),
    skip_codes=_MARKETING_SKIPS,
)
