"""A Sphinx directive that renders the rule catalog from the rulebook itself.

``{rule-catalog}`` in a page becomes one table per rule group: every rule id, what it
says, where it comes from, and whether it is ours (with the settings that govern it).
Docs and code cannot disagree: the table is the rulebook.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive

from provisioning.rules import RULES, Rule, RuleGroup


def _table(rules: list[Rule]) -> nodes.table:
    headers = ("rule", "what it says", "source", "ours, and how to override it")
    table = nodes.table()
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in (22, 46, 16, 16):
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    row = nodes.row()
    for text in headers:
        row += nodes.entry("", nodes.paragraph(text=text))
    head += row
    body = nodes.tbody()
    group += body
    for rule in rules:
        row = nodes.row()
        ours = f"ours; override: {rule.override}" if rule.ours else ""
        cells = (nodes.literal(text=rule.id), rule.statement, rule.source, ours)
        for cell in cells:
            entry = nodes.entry()
            paragraph = nodes.paragraph()
            paragraph += cell if isinstance(cell, nodes.Node) else nodes.Text(cell)
            entry += paragraph
            row += entry
        body += row
    return table


class RuleCatalog(Directive):
    """Render every rule of the default rulebook, grouped."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        out: list[nodes.Node] = []
        for group in RuleGroup:
            rules = [r for r in RULES if r.group is group]
            section = nodes.section(ids=[f"rules-{group.name.lower()}"])
            section += nodes.title(text=str(group).capitalize())
            section += _table(rules)
            out.append(section)
        return out


def setup(app: Any) -> dict[str, Any]:
    """Register the directive."""
    app.add_directive("rule-catalog", RuleCatalog)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
