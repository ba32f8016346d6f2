"""A template as a Frictionless Table Schema, so other tools can check the same file."""

from __future__ import annotations

from typing import Any

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


def _spellings(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        for spelling in (value, value.capitalize(), value.upper()):
            if spelling not in out:
                out.append(spelling)
    return out


def table_schema(template: Template[Any]) -> dict[str, Any]:
    """The Table Schema (https://specs.frictionlessdata.io/table-schema/) of ``template``.

    What a Table Schema cannot say is in the field descriptions: emails are unique
    ignoring case, non-ISO dates need a declared day/month order, choices ignore case.
    The delimiter is a CSV dialect matter, given as ``x-delimiter``.
    """
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
        if column.header == template.key:
            constraints["unique"] = True
        if column.kind is ColumnType.EMAIL:
            field["format"] = "email"
            field["description"] += " Unique in the file, ignoring case."
        elif column.kind is ColumnType.DATE:
            field["description"] += " ISO 8601 (YYYY-MM-DD)."
        elif column.kind is ColumnType.BOOLEAN:
            field["trueValues"] = _spellings([k for k, v in BOOLEANS.items() if v])
            field["falseValues"] = _spellings([k for k, v in BOOLEANS.items() if not v])
        elif column.kind is ColumnType.CHOICE:
            constraints["enum"] = list(column.choice_values)
        if column.pattern is not None:
            constraints["pattern"] = column.pattern
        if constraints:
            field["constraints"] = constraints
        fields.append(field)
    return {
        "name": template.name,
        "description": template.description,
        "version": template.version,
        "fields": fields,
        "primaryKey": [template.key],
        "missingValues": [""],
        "x-delimiter": template.delimiter,
    }
