"""Sphinx directives that render the rulebook itself, so docs and code cannot disagree.

``{rule-catalog}`` becomes one list per rule group: every rule id (a link to its entry
in the domain reference), what it says, where it comes from, and whether it is ours
(with the settings that govern it). ``{rule-index}`` becomes the domain reference's
rules by id: one entry per rule, each an anchor ``rule-<id>`` the catalog links to.
``{permission-matrix}`` becomes one table per method, actions by roles, read off the
tables ``decide`` itself reads (``RuleBook.permission_matrix``).
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive

from provisioning import Action, ProvisioningMethod, Role
from provisioning.rules import DEFAULT_RULEBOOK, RULES, Rule, RuleGroup, Verdict

#: The page of the domain reference, beside the catalog's page.
_DOMAIN_PAGE = "domain.html"


def _anchor(rule: Rule) -> str:
    return "rule-" + rule.id.lower().replace("_", "-")


def _entries(rules: list[Rule]) -> nodes.definition_list:
    """The rules as a list, one entry each, readable at any width (long ids and
    overrides never stretch a table past the page): the id, linked to the domain
    reference, then what it says, its source and, for ours, how to override it."""
    entries = nodes.definition_list(classes=["rule-catalog"])
    for rule in rules:
        item = nodes.definition_list_item()
        term = nodes.term()
        link = nodes.reference("", "", refuri=f"{_DOMAIN_PAGE}#{_anchor(rule)}")
        link += nodes.literal(text=rule.id)
        term += link
        if rule.ours:
            term += nodes.Text(" (ours)")
        item += term
        body = nodes.definition()
        body += nodes.paragraph(text=rule.statement)
        facts = nodes.paragraph()
        facts += nodes.emphasis(text="Source: ")
        facts += nodes.Text(rule.source + ".")
        if rule.ours:
            facts += nodes.emphasis(text=" Override: ")
            facts += nodes.literal(text=rule.override)
        body += facts
        item += body
        entries += item
    return entries


class RuleCatalog(Directive):
    """Render every rule of the default rulebook, grouped."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        out: list[nodes.Node] = []
        for group in RuleGroup:
            rules = [r for r in RULES if r.group is group]
            section = nodes.section(ids=[f"rules-{group.name.lower()}"])
            section += nodes.title(text=str(group).capitalize())
            section += _entries(rules)
            out.append(section)
        return out


class RuleIndex(Directive):
    """Every rule of the default rulebook by id: what it says, its source, its override."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        entries = nodes.definition_list()
        for rule in sorted(RULES, key=lambda r: r.id):
            item = nodes.definition_list_item()
            term = nodes.term(ids=[_anchor(rule)])
            term += nodes.literal(text=rule.id)
            item += term
            body = nodes.definition()
            body += nodes.paragraph(text=rule.statement)
            source = f"Source: {rule.source}. Group: {rule.group}."
            if rule.ours:
                source += f" Ours; override: {rule.override}."
            body += nodes.paragraph(text=source)
            item += body
            entries += item
        return [entries]


_MARK = {Verdict.ALLOWED: "allowed", Verdict.REFUSED: "refused", Verdict.DEPENDS: "depends"}


def _matrix_cell(permission: Any) -> nodes.entry:
    entry = nodes.entry()
    paragraph = nodes.paragraph()
    paragraph += nodes.strong(text=_MARK[permission.verdict])
    for rule in permission.rules:
        paragraph += nodes.Text(" ")
        link = nodes.reference(
            "", "", refuri=f"{_DOMAIN_PAGE}#rule-{rule.lower().replace('_', '-')}"
        )
        link += nodes.literal(text=rule)
        paragraph += link
    entry += paragraph
    return entry


class PermissionMatrix(Directive):
    """Render the default rulebook's permission matrix: a table per method."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        matrix = DEFAULT_RULEBOOK.permission_matrix()
        out: list[nodes.Node] = []
        roles = list(Role)
        for method in ProvisioningMethod:
            section = nodes.section(ids=[f"matrix-{method.value.replace('_', '-')}"])
            section += nodes.title(text=f"Under {method.value}")
            table = nodes.table()
            group = nodes.tgroup(cols=len(roles) + 1)
            table += group
            for width in (14, *([12] * len(roles))):
                group += nodes.colspec(colwidth=width)
            head = nodes.thead()
            group += head
            row = nodes.row()
            for text in ("action", *(r.value for r in roles)):
                entry = nodes.entry()
                entry += nodes.paragraph(text=text)
                row += entry
            head += row
            body = nodes.tbody()
            group += body
            for action in Action:
                row = nodes.row()
                entry = nodes.entry()
                entry += nodes.paragraph("", "", nodes.literal(text=action.value))
                row += entry
                for role in roles:
                    row += _matrix_cell(matrix[action, method, role])
                body += row
            section += table
            out.append(section)
        return out


def setup(app: Any) -> dict[str, Any]:
    """Register the directives."""
    app.add_directive("rule-catalog", RuleCatalog)
    app.add_directive("rule-index", RuleIndex)
    app.add_directive("permission-matrix", PermissionMatrix)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
