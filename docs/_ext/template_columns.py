"""A Sphinx directive that renders an upload template's columns from the template itself.

``{template-columns} COMMUNITY_UPLOAD_USERS`` becomes a table of that template of
:mod:`provisioning.spreadsheet`: every header, the record field it fills, its type, whether
it is required, whose column it is, what it holds and an example. A field added to the
model and its template shows here with no edit of the docs.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive

from provisioning import spreadsheet
from provisioning.spreadsheet import Template


def _cell(content: str | nodes.Node) -> nodes.entry:
    entry = nodes.entry()
    paragraph = nodes.paragraph()
    paragraph += content if isinstance(content, nodes.Node) else nodes.Text(content)
    entry += paragraph
    return entry


def _literal(text: str) -> nodes.Node:
    return nodes.literal(text=text) if text else nodes.Text("")


class TemplateColumns(Directive):
    """Render one template's columns as a table."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        template = getattr(spreadsheet, name, None)
        if not isinstance(template, Template):
            raise self.error(f"provisioning.spreadsheet has no template {name!r}")
        headers = ("header", "record field", "type", "required", "whose", "holds", "example")
        table = nodes.table()
        group = nodes.tgroup(cols=len(headers))
        table += group
        for width in (16, 16, 8, 8, 8, 32, 12):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        row = nodes.row()
        for text in headers:
            row += _cell(text)
        head += row
        body = nodes.tbody()
        group += body
        for column in template.columns:
            kind = column.kind.value
            if column.choice_values:
                kind += ": " + ", ".join(column.choice_values)
            row = nodes.row()
            for content in (
                _literal(column.header),
                _literal(column.field or "custom"),
                kind,
                "yes" if column.required else "",
                column.source,
                column.description,
                _literal(column.example),
            ):
                row += _cell(content)
            body += row
        return [table]


def setup(app: Any) -> dict[str, Any]:
    """Register the directive."""
    app.add_directive("template-columns", TemplateColumns)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
