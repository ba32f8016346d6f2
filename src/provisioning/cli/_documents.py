"""Tenant TOML files with their ``[[actors]]``, and the saved plan file of ``plan --save``."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ..actors import Actor
from ..exceptions import DocumentError, InvalidValueError
from ..serialization import tenant_from_dict
from ..tenants import Tenant
from ..uploads import UploadPlan

__all__ = ["PLAN_FORMAT", "InputError", "SavedPlan", "TenantFile", "load_tenant_file", "read_text"]

_ACTOR_KEYS = ("id", "role", "name")

#: The ``format`` value of a plan file; a file with another one is refused.
PLAN_FORMAT = "provisioning-plan/1"


class InputError(Exception):
    """A file the command was given cannot be used: unreadable, undecodable or malformed."""


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of ``path``; :class:`InputError` when it is not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{path}: the {what} is not UTF-8 text (byte {data[exc.start]:#04x} on line "
            f"{line}); save it as UTF-8"
        ) from None


@attrs.frozen
class TenantFile:
    """A tenant document and the actors it names."""

    tenant: Tenant
    actors: tuple[Actor, ...]


def _actors(value: object) -> tuple[tuple[Actor, ...], list[str]]:
    if not isinstance(value, list):
        return (), [f"actors: expected an array of tables ([[actors]]), got {value!r}"]
    actors: list[Actor] = []
    problems: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        where = f"actors[{index}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: expected a table with id, role and name, got {item!r}")
            continue
        unknown = sorted(str(k) for k in item if k not in _ACTOR_KEYS)
        problems.extend(
            f"{where}.{key}: unknown key; allowed keys: {', '.join(_ACTOR_KEYS)}" for key in unknown
        )
        fields = {k: item[k] for k in _ACTOR_KEYS if k in item}
        ident = fields.get("id")
        if isinstance(ident, str) and ident.strip():
            if ident.strip() in seen:
                problems.append(f"{where}.id: actor {ident.strip()!r} appears twice")
                continue
            seen.add(ident.strip())
        bad = [k for k, v in fields.items() if not isinstance(v, str)]
        problems.extend(f"{where}.{k}: expected a string, got {fields[k]!r}" for k in bad)
        if bad or unknown:
            continue
        if "id" not in fields or "role" not in fields:
            missing = " and ".join(k for k in ("id", "role") if k not in fields)
            problems.append(f"{where}: {missing} required")
            continue
        try:
            actor = Actor(**fields)
        except InvalidValueError as exc:
            field = exc.field or "id"
            problems.append(f"{where}.{field}: {str(exc).removeprefix(f'{field}: ')}")
            continue
        actors.append(actor)
    return tuple(actors), problems


def load_tenant_file(path: Path) -> TenantFile:
    """Read a tenant TOML file; every problem of the tenant and its actors reported at once."""
    text = read_text(path, "tenant file")
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: malformed TOML: {exc}") from None
    actors, problems = _actors(data.pop("actors", []))
    tenant: Tenant | None = None
    try:
        tenant = tenant_from_dict(data)
    except DocumentError as exc:
        problems = [*exc.errors, *problems]
    if problems or tenant is None:
        noun = "problem" if len(problems) == 1 else "problems"
        body = "\n".join(f"  {p}" for p in problems)
        raise InputError(f"{path}: the tenant document has {len(problems)} {noun}:\n{body}")
    return TenantFile(tenant, actors)


@attrs.frozen(kw_only=True)
class SavedPlan:
    """What ``plan --save`` records so that ``apply --plan`` can refuse a stale plan."""

    tenant: str
    actor: str
    mode: str
    as_of: dt.date
    #: The store's revision the plan was made against.
    revision: int | None
    file_digest: str
    overrides: tuple[str, ...]
    counts: Mapping[str, int]

    @classmethod
    def of(cls, plan: UploadPlan) -> SavedPlan:
        """The facts of ``plan`` that a later apply checks."""
        return cls(
            tenant=plan.tenant_id,
            actor=plan.actor.id,
            mode=plan.mode.value,
            as_of=plan.as_of,
            revision=plan.revision,
            file_digest=plan.file_digest or "",
            overrides=tuple(sorted(s.value for s in plan.overrides)),
            counts=plan.counts.as_dict(),
        )

    def to_json(self) -> str:
        """The plan file's text."""
        data = {"format": PLAN_FORMAT, **attrs.asdict(self)}
        data["as_of"] = self.as_of.isoformat()
        data["overrides"] = list(self.overrides)
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def load(cls, path: Path) -> SavedPlan:
        """Read a plan file written by ``plan --save``."""
        text = read_text(path, "plan file")
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
                raise ValueError(f"not a {PLAN_FORMAT} document")
            overrides: Sequence[str] = data["overrides"]
            return cls(
                tenant=str(data["tenant"]),
                actor=str(data["actor"]),
                mode=str(data["mode"]),
                as_of=dt.date.fromisoformat(data["as_of"]),
                revision=None if data["revision"] is None else int(data["revision"]),
                file_digest=str(data["file_digest"]),
                overrides=tuple(str(o) for o in overrides),
                counts={str(k): int(v) for k, v in data["counts"].items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"{path}: not a plan file written by `plan --save` ({exc})") from None
