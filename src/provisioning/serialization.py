"""Tenants and rulebook settings to and from dicts, JSON and TOML, with the library's own converter.

The converter is built by :func:`make_converter` and never touches cattrs' global one.
Unknown keys are refused, and every problem of a document is reported at once, each
with its path:

>>> from provisioning import DocumentError
>>> from provisioning.serialization import tenant_from_dict
>>> try:
...     tenant_from_dict({"id": "acme", "name": "Acme",
...                       "products": {"community": "sheet"}, "colour": "red"})
... except DocumentError as exc:
...     for problem in exc.errors:
...         print(problem)  # doctest: +ELLIPSIS
products.community: 'sheet' is not one of 'standalone', 'spreadsheet_upload', ...
colour: unknown key; allowed keys: account_requests, id, initial_upload_done, ...
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import tomllib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)
from dateutil.relativedelta import relativedelta

from .actors import Role
from .catalog import Capability, IntegrationSystem, Product, ProvisioningMethod
from .exceptions import DocumentError, InvalidValueError
from .records import CustomFields
from .rules import RuleBook, Settings
from .tenants import IdentityProvider, ProductMethods, Tenant

__all__ = [
    "make_converter",
    "rulebook_from_dict",
    "rulebook_from_toml",
    "rulebook_to_dict",
    "settings_from_dict",
    "settings_to_dict",
    "tenant_from_dict",
    "tenant_from_json",
    "tenant_from_toml",
    "tenant_to_dict",
    "tenant_to_json",
]

_T = TypeVar("_T")
_E = TypeVar("_E", bound=enum.Enum)

_PERIOD_UNITS = ("years", "months", "weeks", "days")


class _PathError(ValueError):
    """A problem below the value a hook is structuring, at ``subpath``."""

    def __init__(self, subpath: str, reason: str) -> None:
        super().__init__(f"{subpath}: {reason}")
        self.subpath = subpath
        self.reason = reason


def _enum_hook(value: Any, cls: type[_E]) -> _E:
    if isinstance(value, cls):
        return value
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in cls)
        raise ValueError(f"{value!r} is not one of {allowed}") from None


def _date_hook(value: Any, _cls: type) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValueError(f"expected a date, got a date and time {value.isoformat()!r}")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 date (YYYY-MM-DD)") from None
    raise ValueError(f"expected an ISO 8601 date, got {value!r}")


def _period_hook(value: Any, _cls: type) -> relativedelta:
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a table of {', '.join(_PERIOD_UNITS)}, got {value!r}")
    problems = [
        _PathError(str(key), f"unknown unit; allowed units: {', '.join(_PERIOD_UNITS)}")
        for key in value
        if key not in _PERIOD_UNITS
    ]
    problems += [
        _PathError(str(key), f"expected a whole number, got {amount!r}")
        for key, amount in value.items()
        if key in _PERIOD_UNITS and (not isinstance(amount, int) or isinstance(amount, bool))
    ]
    if problems:
        raise ExceptionGroup("invalid period", problems)
    return relativedelta(**value)


def _period_unhook(value: relativedelta) -> dict[str, int]:
    days = value.days
    out = {"years": value.years, "months": value.months}
    if days % 7 == 0:
        out["weeks"] = days // 7
    else:
        out["days"] = days
    return {k: v for k, v in out.items() if v}


def _methods_hook(value: Any, _cls: type) -> ProductMethods:
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a table of product = method, got {value!r}")
    problems: list[Exception] = []
    good: dict[Product, ProvisioningMethod] = {}
    for key, method in value.items():
        try:
            product = _enum_hook(key, Product)
        except ValueError as exc:
            problems.append(_PathError(str(key), f"unknown product; {exc}"))
            continue
        try:
            good[product] = _enum_hook(method, ProvisioningMethod)
        except ValueError as exc:
            problems.append(_PathError(str(key), str(exc)))
    if problems:
        raise ExceptionGroup("invalid products", problems)
    return ProductMethods(good)


def _idp_hook(value: Any, _cls: type) -> IdentityProvider:
    if isinstance(value, str):
        return IdentityProvider(name=value)
    if isinstance(value, Mapping):
        extra = set(value) - {"name", "hosted_by_vendor"}
        if extra:
            raise ExceptionGroup(
                "invalid identity provider",
                [
                    _PathError(k, "unknown key; allowed keys: hosted_by_vendor, name")
                    for k in sorted(extra)
                ],
            )
        problems: list[Exception] = []
        if "name" not in value:
            problems.append(_PathError("name", "required key is missing"))
        elif not isinstance(value["name"], str):
            problems.append(_PathError("name", f"expected a string, got {value['name']!r}"))
        hosted = value.get("hosted_by_vendor", False)
        if not isinstance(hosted, bool):
            problems.append(
                _PathError("hosted_by_vendor", f"expected true or false, got {hosted!r}")
            )
        if problems:
            raise ExceptionGroup("invalid identity provider", problems)
        return IdentityProvider(name=value["name"], hosted_by_vendor=hosted)
    raise ValueError(f"expected a name or a table, got {value!r}")


def _bool_hook(value: Any, _cls: type) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"expected true or false, got {value!r}")


def _str_hook(value: Any, _cls: type) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f"expected a string, got {value!r}")


def _float_hook(value: Any, _cls: type) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"expected a number, got {value!r}")


def _enum_set_hook(cls: type[enum.Enum]) -> Any:
    def hook(value: Any, _cls: type) -> frozenset[Any]:
        if isinstance(value, str) or not hasattr(value, "__iter__"):
            raise ValueError(f"expected a list, got {value!r}")
        problems: list[Exception] = []
        members: set[enum.Enum] = set()
        for index, item in enumerate(value):
            try:
                members.add(_enum_hook(item, cls))
            except ValueError as exc:
                problems.append(_PathError(f"[{index}]", str(exc)))
        if problems:
            raise ExceptionGroup("invalid list", problems)
        return frozenset(members)

    return hook


def _custom_hook(value: Any, _cls: type) -> CustomFields:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"expected a table of text values, got {value!r}")
    return CustomFields(value)


def _is_enum(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, enum.Enum)


def _enum_value(member: enum.Enum) -> Any:
    return member.value


def _is_set_of(member: type[enum.Enum]) -> Callable[[Any], bool]:
    target = frozenset[member]  # type: ignore[valid-type]

    def predicate(cls: Any) -> bool:
        return bool(cls == target)

    return predicate


def _enum_set_values(members: frozenset[enum.Enum]) -> list[Any]:
    return sorted(m.value for m in members)


def make_converter() -> cattrs.Converter:
    """Build the library's converter: strict, ISO dates, enums by value, no extra keys."""
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    converter.register_structure_hook_func(_is_enum, _enum_hook)
    converter.register_unstructure_hook_func(_is_enum, _enum_value)
    converter.register_structure_hook(dt.date, _date_hook)
    converter.register_unstructure_hook(dt.date, lambda d: d.isoformat())
    converter.register_structure_hook(bool, _bool_hook)
    converter.register_structure_hook(str, _str_hook)
    converter.register_structure_hook(float, _float_hook)
    converter.register_structure_hook(relativedelta, _period_hook)
    converter.register_unstructure_hook(relativedelta, _period_unhook)
    converter.register_structure_hook(ProductMethods, _methods_hook)
    converter.register_unstructure_hook(
        ProductMethods, lambda m: {p.value: method.value for p, method in m.items()}
    )
    converter.register_structure_hook(IdentityProvider, _idp_hook)
    converter.register_structure_hook(CustomFields, _custom_hook)
    converter.register_unstructure_hook(CustomFields, dict)
    for member in (Product, Role, Capability):
        is_set = _is_set_of(member)
        converter.register_structure_hook_func(is_set, _enum_set_hook(member))
        converter.register_unstructure_hook_func(is_set, _enum_set_values)
    return converter


_CONVERTER = make_converter()


def _messages(exc: BaseException, path: str) -> Iterator[str]:
    if isinstance(exc, ClassValidationError | IterableValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            if isinstance(note, AttributeValidationNote):
                sub_path = f"{path}.{note.name}" if path else note.name
            else:
                sub_path = f"{path}[{note.index!r}]"
            yield from _messages(sub, sub_path)
        for sub in without:
            yield from _messages(sub, path)
    elif isinstance(exc, ForbiddenExtraKeysError):
        allowed = ", ".join(sorted(a.name for a in attrs.fields(exc.cl)))
        for key in sorted(exc.extra_fields):
            where = f"{path}.{key}" if path else key
            yield f"{where}: unknown key; allowed keys: {allowed}"
    elif isinstance(exc, BaseExceptionGroup):
        for member in exc.exceptions:
            yield from _messages(member, path)
    elif isinstance(exc, _PathError):
        sep = "" if exc.subpath.startswith("[") else "."
        where = f"{path}{sep}{exc.subpath}" if path else exc.subpath
        yield f"{where}: {exc.reason}"
    elif isinstance(exc, KeyError):
        yield f"{path}: required key is missing"
    elif isinstance(exc, InvalidValueError) and exc.field:
        # A model's own validator names the field it checked ("id must not be empty"):
        # report it at the field's path, like every other problem.
        where = f"{path}.{exc.field}" if path else exc.field
        reason = exc.message
        for prefix in (f"{exc.field}:", f"{exc.field} "):
            if reason.startswith(prefix):
                reason = reason.removeprefix(prefix).strip()
                break
        yield f"{where}: {reason}"
    else:
        yield f"{path}: {exc}" if path else str(exc)


def _structure(data: Any, cls: type[_T], what: str) -> _T:
    if not isinstance(data, Mapping):
        raise DocumentError(
            f"{what} document must be a table of keys, got {type(data).__name__}",
            errors=(f"expected a table, got {data!r}",),
        )
    try:
        return _CONVERTER.structure(data, cls)
    except (ClassValidationError, IterableValidationError, ValueError, TypeError) as exc:
        errors = tuple(_messages(exc, ""))
        noun = "problem" if len(errors) == 1 else "problems"
        body = "\n".join(f"  {e}" for e in errors)
        raise DocumentError(
            f"{what} document has {len(errors)} {noun}:\n{body}", errors=errors
        ) from None


def tenant_to_dict(tenant: Tenant) -> dict[str, Any]:
    """A tenant as plain data (strings, numbers, booleans, lists and dicts)."""
    data: dict[str, Any] = _CONVERTER.unstructure(tenant)
    return data


def tenant_from_dict(data: Mapping[str, Any]) -> Tenant:
    """Build a tenant from plain data; raise :class:`DocumentError` listing every problem."""
    return _structure(data, Tenant, "tenant")


def tenant_to_json(tenant: Tenant, *, indent: int | None = 2) -> str:
    """A tenant as JSON text."""
    return json.dumps(tenant_to_dict(tenant), indent=indent, sort_keys=True)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            # JSON would keep the last value in silence; a repeated product key is a
            # second method for one product (METHODS_EXCLUSIVE), so refuse them all.
            raise ValueError(f"key {key!r} appears twice in one object")
        seen[key] = value
    return seen


def _load_json(text: str, what: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except ValueError as exc:
        if not isinstance(exc, json.JSONDecodeError):
            raise DocumentError(f"{what} JSON is ambiguous: {exc}", errors=(str(exc),)) from None
        raise DocumentError(
            f"{what} JSON is malformed: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            errors=(f"line {exc.lineno}, column {exc.colno}: {exc.msg}",),
        ) from None


def _load_toml(text: str, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DocumentError(f"{what} TOML is malformed: {exc}", errors=(str(exc),)) from None


def tenant_from_json(text: str) -> Tenant:
    """Build a tenant from JSON text."""
    return tenant_from_dict(_load_json(text, "tenant"))


def tenant_from_toml(text: str) -> Tenant:
    """Build a tenant from TOML text (see ``examples/tenants/`` for the shape)."""
    return tenant_from_dict(_load_toml(text, "tenant"))


def settings_to_dict(settings: Settings) -> dict[str, Any]:
    """Rulebook settings as plain data."""
    data: dict[str, Any] = _CONVERTER.unstructure(settings)
    return data


def settings_from_dict(data: Mapping[str, Any]) -> Settings:
    """Build rulebook settings from plain data; omitted keys keep their defaults."""
    return _structure(data, Settings, "settings")


@attrs.frozen(kw_only=True)
class _RuleBookDocument:
    settings: Settings = attrs.field(factory=Settings)
    systems: tuple[IntegrationSystem, ...] = ()


def rulebook_to_dict(rulebook: RuleBook) -> dict[str, Any]:
    """A rulebook's settings and its whole catalog as plain data."""
    return {
        "settings": settings_to_dict(rulebook.settings),
        "systems": [_CONVERTER.unstructure(s) for s in rulebook.catalog],
    }


def rulebook_from_dict(data: Mapping[str, Any], *, base: RuleBook | None = None) -> RuleBook:
    """Build a rulebook: ``settings`` replace the defaults, ``systems`` extend the catalog.

    Systems listed in ``systems`` are added to the catalog of ``base`` (the vendor's
    rulebook by default), replacing any with the same id.
    """
    document = _structure(data, _RuleBookDocument, "rulebook")
    start = base if base is not None else RuleBook()
    return attrs.evolve(
        start,
        settings=document.settings,
        catalog=start.catalog.with_systems(*document.systems),
    )


def rulebook_from_toml(text: str, *, base: RuleBook | None = None) -> RuleBook:
    """Build a rulebook from TOML text with ``[settings]`` and ``[[systems]]``."""
    return rulebook_from_dict(_load_toml(text, "rulebook"), base=base)
