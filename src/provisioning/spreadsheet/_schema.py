"""A template as a Frictionless Table Schema, so other tools can check the same file."""

from __future__ import annotations

import re
from typing import Any

from .._fields import field_specs
from .._validators import EMAIL, ID_MAX_LENGTH
from ..records import EMAIL_MAX_LENGTH
from ._parse import BOOLEANS
from ._templates import ColumnType, Template

__all__ = ["table_schema"]

_TYPES = {
    ColumnType.TEXT: "string",
    ColumnType.EMAIL: "string",
    ColumnType.DATE: "date",
    ColumnType.BOOLEAN: "boolean",
    ColumnType.CHOICE: "string",
}


#: What the spec allows a schema's ``name`` to be.
NAME = re.compile(r"^[-a-z0-9._/]+$")


#: A value with something besides spaces: what a required text value must be.
NOT_BLANK = r"[\s\S]*\S[\s\S]*"


def schema_name(name: str) -> str:
    """``name`` as the spec allows a schema's: lower case, runs of anything else as ``-``.

    >>> schema_name("Upload Users")
    'upload-users'
    """
    slug = re.sub(r"[^-a-z0-9._/]+", "-", name.lower()).strip("-")
    return slug or "template"


def _spellings(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        for spelling in (value, value.lower(), value.capitalize(), value.upper()):
            if spelling not in out:
                out.append(spelling)
    return out


def table_schema(template: Template[Any]) -> dict[str, Any]:
    """The Table Schema (https://specs.frictionlessdata.io/table-schema/) of ``template``.

    Valid by the spec (frictionless accepts it): ``name`` is the template's name as the
    spec allows (``upload-users``), ``title`` the name people know. Each rule a Table
    Schema can say is a constraint: required values, the key's and the email's
    uniqueness, types and formats (ISO dates, the yes/no spellings), choices (as
    ``enum``, in the usual spellings), patterns, and the longest identifier or email.
    What it cannot say is in the descriptions: emails are unique ignoring case, non-ISO
    dates need a declared day/month order, choices ignore case, values are trimmed.
    The optional columns are all listed, so a file's columns are matched by header
    name: ``fieldsMatch`` is ``partial`` (Table Schema v2; the required columns must be
    there, the others may be, unknown ones are custom fields). The delimiter is a CSV
    dialect matter, given as ``x-delimiter``.
    """
    identifiers = {s.name for s in field_specs(template.record_type) if s.role == "identifier"}
    fields: list[dict[str, Any]] = []
    for column in template.columns:
        field: dict[str, Any] = {
            "name": column.header,
            "type": _TYPES[column.kind],
            "description": column.description,
        }
        if column.example:
            field["example"] = column.example
        constraints: dict[str, Any] = {}
        if column.required:
            constraints["required"] = True
        if column.header in (template.key, template.email):
            constraints["unique"] = True
        if column.kind is ColumnType.EMAIL:
            field["format"] = "email"
            constraints["pattern"] = EMAIL.pattern
            constraints["maxLength"] = EMAIL_MAX_LENGTH
            if column.header == template.email:
                field["description"] = _sentence(
                    field["description"], "Unique in the file, ignoring case.", unless="unique"
                )
        elif column.kind is ColumnType.DATE:
            field["description"] = _sentence(field["description"], "ISO 8601 (YYYY-MM-DD).")
        elif column.kind is ColumnType.BOOLEAN:
            field["trueValues"] = _spellings([k for k, v in BOOLEANS.items() if v])
            field["falseValues"] = _spellings([k for k, v in BOOLEANS.items() if not v])
        elif column.kind is ColumnType.CHOICE:
            constraints["enum"] = _spellings(list(column.choice_values))
        if column.field in identifiers:
            constraints["maxLength"] = ID_MAX_LENGTH
        if column.pattern is not None:
            constraints["pattern"] = column.pattern
        elif column.required and column.kind is ColumnType.TEXT:
            # Values are trimmed, so a value of spaces is as missing as an empty one.
            constraints["pattern"] = NOT_BLANK
        if constraints:
            field["constraints"] = constraints
        fields.append(field)
    return {
        "name": schema_name(template.name),
        "title": template.name,
        "description": template.description,
        "version": template.version,
        "fields": fields,
        # Match a file's columns by header: the required ones must be there, the optional
        # ones may be, and columns the template does not know are allowed (custom fields).
        "fieldsMatch": "partial",
        "primaryKey": [template.key],
        "missingValues": [""],
        "x-delimiter": template.delimiter,
    }


def _sentence(description: str, more: str, *, unless: str = "") -> str:
    """``description`` with the sentence ``more`` after it, unless it says ``unless``."""
    if (unless or more.rstrip(".")).lower() in description.lower():
        return description
    return f"{description} {more}".strip()
