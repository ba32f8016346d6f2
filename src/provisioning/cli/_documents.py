"""Tenant TOML files with their ``[[actors]]``, and the saved plan file of ``plan --save``."""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ..actors import Actor
from ..catalog import Product
from ..exceptions import DocumentError, InvalidValueError
from ..repository import UploadMode
from ..serialization import tenant_from_dict
from ..spreadsheet import DateOrder
from ..tenants import Tenant
from ..uploads import ContactPlan, Safeguard, UploadPlan
from ._inputs import DOCUMENT_CAP, InputError, read_capped
from ._reading import ReadingOptions

__all__ = ["PLAN_FORMAT", "InputError", "SavedPlan", "TenantFile", "load_tenant_file", "read_text"]

_ACTOR_KEYS = ("id", "role", "name")

#: The ``format`` value of a plan file; a file with another one is refused. Version 3
#: added the product and the reader's options (``reading``).
PLAN_FORMAT = "provisioning-plan/3"

#: The keys of a plan file's ``reading`` object.
_READING_KEYS = ("date_order", "lenient_headers", "encoding", "sheet", "max_file_size")


#: How a plan file names the upload file's digest.
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of the regular file ``path``, at most :data:`DOCUMENT_CAP` bytes.

    :class:`InputError` when it is not a regular file, too large or not UTF-8.
    """
    data = read_capped(path, what, DOCUMENT_CAP)
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
        actors, problems = _actors(data.pop("actors", []))
        tenant: Tenant | None = None
        try:
            tenant = tenant_from_dict(data)
        except DocumentError as exc:
            problems = [*exc.errors, *problems]
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: malformed TOML: {exc}") from None
    except RecursionError:
        raise InputError(f"{path}: the tenant file nests tables or arrays too deeply") from None
    if problems or tenant is None:
        noun = "problem" if len(problems) == 1 else "problems"
        body = "\n".join(f"  {p}" for p in problems)
        raise InputError(f"{path}: the tenant document has {len(problems)} {noun}:\n{body}")
    return TenantFile(tenant, actors)


@attrs.frozen(kw_only=True)
class SavedPlan:
    """What ``plan --save`` records so that ``apply --plan`` can refuse a stale plan, and
    everything that shaped the plan, so that the file is read and planned again the same."""

    tenant: str
    actor: str
    #: The product the upload is for (``community`` or ``marketing``).
    product: str
    mode: str
    as_of: dt.date
    #: The store's revision the plan was made against (a refused plan has none: not saved).
    revision: int | None
    file_digest: str
    overrides: tuple[str, ...]
    counts: Mapping[str, int]
    #: A digest of the tenant and its actors as stored when the plan was made: what the
    #: rules and the safeguards decided by (its method, SSO setup, Super Admins).
    tenant_digest: str
    #: How the file was read: the reader's options, as the flags gave them.
    reading: ReadingOptions
    #: The size limit the file was read within (``--max-file-size``), in bytes.
    max_file_size: int

    @classmethod
    def of(
        cls,
        plan: UploadPlan | ContactPlan,
        *,
        tenant_digest: str,
        product: Product,
        reading: ReadingOptions,
        max_file_size: int,
    ) -> SavedPlan:
        """The facts of ``plan`` that a later apply checks, and how it was made."""
        return cls(
            tenant_digest=tenant_digest,
            product=product.value,
            reading=reading,
            max_file_size=max_file_size,
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
        data = {"format": PLAN_FORMAT, **attrs.asdict(self, recurse=False)}
        data["as_of"] = self.as_of.isoformat()
        data["overrides"] = list(self.overrides)
        data["counts"] = dict(self.counts)
        order = self.reading.date_order
        data["reading"] = {
            "date_order": None if order is None else order.value,
            "lenient_headers": self.reading.lenient_headers,
            "encoding": self.reading.encoding,
            "sheet": self.reading.sheet,
            "max_file_size": data.pop("max_file_size"),
        }
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def load(cls, path: Path) -> SavedPlan:
        """Read a plan file written by ``plan --save``, checking every field strictly.

        A plan file is untrusted input: a field missing, of another JSON type or with an
        unknown value, or a key the format does not have, is :class:`InputError`.
        """
        text = read_text(path, "plan file")
        try:
            data = json.loads(text, object_pairs_hook=_no_repeated_keys)
        except _FieldError as exc:
            raise InputError(f"{path}: not a valid plan file: {exc}") from None
        except RecursionError:
            raise InputError(f"{path}: the plan file nests arrays or objects too deeply") from None
        except ValueError as exc:  # JSONDecodeError, or an integer of too many digits
            raise InputError(f"{path}: the plan file is not valid JSON: {exc}") from None
        try:
            return cls._from_json(data)
        except _FieldError as exc:
            raise InputError(f"{path}: not a valid plan file: {exc}") from None

    @classmethod
    def _from_json(cls, data: object) -> SavedPlan:
        if not isinstance(data, dict):
            raise _FieldError(f"expected a JSON object, got {_json_type(data)}")
        # The format first: a plan of another version has other keys, and is refused for
        # its version, not for them.
        if "format" in data and data["format"] != PLAN_FORMAT:
            raise _FieldError(
                f"format: expected {PLAN_FORMAT!r}, got {data['format']!r}; a plan saved by "
                "another version is never applied: run plan again"
            )
        known = ("format", *(a.name for a in attrs.fields(cls) if a.name != "max_file_size"))
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise _FieldError(f"{unknown[0]}: unknown key; a plan file has {', '.join(known)}")
        missing = [k for k in known if k not in data]
        if missing:
            raise _FieldError(f"{missing[0]}: required")
        modes = [m.value for m in UploadMode]
        safeguards = [s.value for s in Safeguard]
        overrides = data["overrides"]
        if not isinstance(overrides, list):
            raise _FieldError(f"overrides: expected an array, got {_json_type(overrides)}")
        for index, item in enumerate(overrides):
            _choice(f"overrides[{index}]", item, safeguards)
        counts = data["counts"]
        if not isinstance(counts, dict):
            raise _FieldError(f"counts: expected an object, got {_json_type(counts)}")
        for name, value in counts.items():
            _count(f"counts.{name}", value)
        digest = _string("file_digest", data["file_digest"])
        if not _DIGEST.fullmatch(digest):
            raise _FieldError(f"file_digest: expected 'sha256:' and 64 hex digits, got {digest!r}")
        tenant_digest = _string("tenant_digest", data["tenant_digest"])
        if not _DIGEST.fullmatch(tenant_digest):
            raise _FieldError(
                f"tenant_digest: expected 'sha256:' and 64 hex digits, got {tenant_digest!r}"
            )
        as_of = _string("as_of", data["as_of"])
        try:
            if not _ISO_DAY.fullmatch(as_of):
                raise ValueError(as_of)
            day = dt.date.fromisoformat(as_of)
        except ValueError:
            raise _FieldError(f"as_of: expected a date YYYY-MM-DD, got {as_of!r}") from None
        reading, max_file_size = _reading(data["reading"])
        return cls(
            tenant=_string("tenant", data["tenant"]),
            actor=_string("actor", data["actor"]),
            product=_choice("product", data["product"], [p.value for p in Product]),
            reading=reading,
            max_file_size=max_file_size,
            mode=_choice("mode", data["mode"], modes),
            as_of=day,
            revision=_count("revision", data["revision"]),
            file_digest=digest,
            overrides=tuple(overrides),
            counts=dict(counts),
            tenant_digest=tenant_digest,
        )


def _reading(value: object) -> tuple[ReadingOptions, int]:
    """A plan file's ``reading`` object: the reader's options, and the size limit."""
    if not isinstance(value, dict):
        raise _FieldError(f"reading: expected an object, got {_json_type(value)}")
    unknown = sorted(str(k) for k in value if k not in _READING_KEYS)
    if unknown:
        raise _FieldError(
            f"reading.{unknown[0]}: unknown key; reading has {', '.join(_READING_KEYS)}"
        )
    missing = [k for k in _READING_KEYS if k not in value]
    if missing:
        raise _FieldError(f"reading.{missing[0]}: required")
    order = value["date_order"]
    if order is not None:
        order = DateOrder(_choice("reading.date_order", order, [o.value for o in DateOrder]))
    lenient = value["lenient_headers"]
    if not isinstance(lenient, bool):
        raise _FieldError(
            f"reading.lenient_headers: expected true or false, got {_json_type(lenient)}"
        )
    texts = {}
    for name in ("encoding", "sheet"):
        text = value[name]
        if text is not None:
            text = _string(f"reading.{name}", text)
        texts[name] = text
    size = _count("reading.max_file_size", value["max_file_size"])
    if size < 1:
        raise _FieldError("reading.max_file_size: expected a whole number 1 or more, got 0")
    options = ReadingOptions(
        date_order=order, lenient_headers=lenient, encoding=texts["encoding"], sheet=texts["sheet"]
    )
    return options, size


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are unique: a repeated key would hide what was reviewed."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _FieldError(f"{key}: the key appears twice")
        data[key] = value
    return data


class _FieldError(Exception):
    """One field of a plan file is wrong; the message starts with its name."""


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int | float):
        return f"{value!r} (a number)"
    if isinstance(value, str):
        return f"{value!r} (a string)"
    return "an array" if isinstance(value, list) else "an object"


def _string(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise _FieldError(f"{field}: expected a string, got {_json_type(value)}")
    return value


def _choice(field: str, value: object, allowed: list[str]) -> str:
    text = _string(field, value)
    if text not in allowed:
        raise _FieldError(f"{field}: expected one of {', '.join(allowed)}, got {text!r}")
    return text


def _count(field: str, value: object) -> int:
    # bool is an int in Python, but true is no revision; 2.0 and 1e400 are floats.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _FieldError(f"{field}: expected a whole number 0 or more, got {_json_type(value)}")
    return value
