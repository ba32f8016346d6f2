"""Record-shaped code generated from the model's fields, once, at import.

The model (:class:`~provisioning.UserRecord`, :class:`~provisioning.Contact`) is the one
list of fields. Code that must touch every field, fast, is written here from
``attrs.fields(cls)``: a field-by-field comparison, a copy with one field replaced, a
copy that keeps some fields of another record. As attrs and cattrs do, the generated
source is registered with :mod:`linecache`, so a traceback shows the generated line.

Trusted construction: the copies are built as :func:`provisioning._twin.unfrozen_twin`
instances from values that already passed the class's converters and validators.
"""

from __future__ import annotations

import enum
import itertools
import linecache
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, get_args

import attrs

from ._frozen import FrozenMap
from ._metadata import FIELD_ROLE
from ._twin import unfrozen_twin

__all__ = [
    "FieldKind",
    "FieldSpec",
    "compile_function",
    "field_specs",
    "make_carry",
    "make_equal",
    "make_replace",
]

_T = TypeVar("_T")
_serial = itertools.count(1)


class FieldKind(enum.Enum):
    """What a field holds, as far as generated code and stores care."""

    #: A required, non-empty string.
    TEXT = "text"
    #: A string or ``None``.
    OPTIONAL_TEXT = "optional_text"
    #: A :class:`datetime.date` or ``None``.
    DATE = "date"
    #: ``True``, ``False`` or ``None``.
    FLAG = "flag"
    #: A member of an enum (compared by identity).
    ENUM = "enum"
    #: A :class:`~provisioning._frozen.FrozenMap` of text (custom columns).
    MAPPING = "mapping"


@attrs.frozen
class FieldSpec:
    """One field of a record class: its name, kind and, for an enum, the enum."""

    name: str
    kind: FieldKind
    #: Whether the class's constructor requires it (no default).
    required: bool
    enum: type[enum.Enum] | None = None
    #: What the model's field metadata says it is: ``"identifier"`` (a key, capped in
    #: length), ``"email"``, or ``None`` for plain data.
    role: str | None = None


def _kind(field: attrs.Attribute[Any]) -> tuple[FieldKind, type[enum.Enum] | None]:
    kind = field.type
    options = set(get_args(kind)) or {kind}
    options.discard(type(None))
    (only,) = options
    if isinstance(only, type) and issubclass(only, enum.Enum):
        return FieldKind.ENUM, only
    if isinstance(only, type) and issubclass(only, FrozenMap):
        return FieldKind.MAPPING, None
    if only is bool:
        return FieldKind.FLAG, None
    if only is str:
        optional = type(None) in get_args(kind)
        return (FieldKind.OPTIONAL_TEXT if optional else FieldKind.TEXT), None
    # The date type is imported as ``dt.date`` in the models; compare by name to keep
    # this module free of a datetime import it would use for nothing else.
    if getattr(only, "__module__", "") == "datetime" and only.__name__ == "date":
        return FieldKind.DATE, None
    raise TypeError(f"{field.name}: no field kind for {kind!r}")


_SPECS: dict[type[Any], tuple[FieldSpec, ...]] = {}
_MOST_CARRIES = 256
_CARRIES: dict[tuple[type[Any], frozenset[str]], Callable[[Any, Any], Any]] = {}


def field_specs(cls: type[Any]) -> tuple[FieldSpec, ...]:
    """The fields of the attrs class ``cls``, in declaration order, with their kinds."""
    specs = _SPECS.get(cls)
    if specs is None:
        attrs.resolve_types(cls)
        specs = _SPECS[cls] = tuple(
            FieldSpec(field.name, *_shape(field)) for field in attrs.fields(cls)
        )
    return specs


def _shape(
    field: attrs.Attribute[Any],
) -> tuple[FieldKind, bool, type[enum.Enum] | None, str | None]:
    kind, member_type = _kind(field)
    role = field.metadata.get(FIELD_ROLE)
    return kind, field.default is attrs.NOTHING, member_type, role


def compile_function(name: str, source: str, namespace: Mapping[str, Any]) -> Callable[..., Any]:
    """Compile ``source`` defining ``name``; its lines are kept for tracebacks."""
    filename = f"<provisioning generated {name} {next(_serial)}>"
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    scope = dict(namespace)
    exec(code, scope)  # noqa: S102 - our own generated source, built from field names
    function: Callable[..., Any] = scope[name]
    return function


def make_equal(cls: type[_T]) -> Callable[[_T, _T], bool]:
    """``a == b`` for two instances of ``cls``, field by field, cheapest test first.

    Enum members are compared by identity; a mapping by identity before ``==`` (records
    mostly share one empty instance).
    """
    terms = []
    for spec in field_specs(cls):
        a, b = f"a.{spec.name}", f"b.{spec.name}"
        if spec.kind is FieldKind.ENUM:
            terms.append(f"{a} is {b}")
        elif spec.kind is FieldKind.MAPPING:
            terms.append(f"({a} is {b} or {a} == {b})")
        else:
            terms.append(f"{a} == {b}")
    body = "\n        and ".join(terms)
    source = f"def equal(a, b):\n    return (\n        {body}\n    )\n"
    return compile_function("equal", source, {})


def _builder(cls: type[Any], name: str, args: str, values: Mapping[str, str]) -> Any:
    lines = [f"def {name}({args}):", "    new = _new(_Twin)"]
    lines += [f"    new.{spec.name} = {values[spec.name]}" for spec in field_specs(cls)]
    lines += ["    new.__class__ = _cls", "    return new", ""]
    namespace = {"_new": object.__new__, "_Twin": unfrozen_twin(cls), "_cls": cls}
    return compile_function(name, "\n".join(lines), namespace)


def make_replace(cls: type[_T], field: str) -> Callable[[_T, Any], _T]:
    """``attrs.evolve(record, **{field: value})`` with no converter or validator run.

    For values already valid for the field (an enum member, say): one plain store per
    field, six times faster than a loop over the names.
    """
    names = {spec.name for spec in field_specs(cls)}
    if field not in names:
        raise ValueError(f"{cls.__name__} has no field {field!r}")
    values = {name: "value" if name == field else f"record.{name}" for name in names}
    replace: Callable[[_T, Any], _T] = _builder(cls, f"replace_{field}", "record, value", values)
    return replace


def make_carry(cls: type[_T], kept: frozenset[str]) -> Callable[[_T, _T], _T]:
    """A copy of ``record`` whose ``kept`` fields come from ``old`` (both already valid).

    One function per set of kept fields, generated on first use: the loop over the
    names is unrolled, so carrying fields costs about what comparing them does.
    """
    carry: Callable[[_T, _T], _T] | None = _CARRIES.get((cls, kept))
    if carry is None:
        names = [spec.name for spec in field_specs(cls)]
        unknown = kept.difference(names)
        if unknown:
            raise ValueError(f"{cls.__name__} has no field(s) {', '.join(sorted(unknown))}")
        values = {name: f"old.{name}" if name in kept else f"record.{name}" for name in names}
        if len(_CARRIES) >= _MOST_CARRIES:
            _CARRIES.clear()  # one per header layout seen: bounded, whatever the files
        carry = _CARRIES[cls, kept] = _builder(cls, "carry", "record, old", values)
    return carry
