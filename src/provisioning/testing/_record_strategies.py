"""Hypothesis strategies for user records and contacts, with the values that break files.

Text values hold what upload files get wrong: quotes, commas, tabs, line breaks of every
kind, non-ASCII letters, and a leading ``=``, ``+``, ``-``, ``@`` or ``'`` (formula
injection and its escape). Every value is one a record can hold after normalisation
(trimmed, no NUL), so ``read(write(records)) == records`` can be asserted directly.

The record strategies are built from the model's fields (``_fields.field_specs``): one
strategy per field kind, so a field added to the model is drawn with no edit here.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from hypothesis import strategies as st

from .._fields import FieldKind, FieldSpec, field_specs
from ..records import Contact, RecordStatus, SubscriptionStatus, UserRecord

__all__ = ["contacts", "emails", "record_texts", "user_records"]

# Characters that make CSV hard, and ones that make spreadsheets run a formula.
_AWKWARD = "\"',;\t\r\n =+-@|\\\u2028\x85\u00a0"
_LETTERS = string.ascii_letters + string.digits + "éüßçøåñÆŒЖж中文한국🙂"
_ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
_R = TypeVar("_R")


@st.composite
def record_texts(draw: st.DrawFn, *, max_size: int = 24) -> str:
    """A non-empty, trimmed text value made mostly of the characters files get wrong."""
    text = draw(
        st.text(
            alphabet=st.sampled_from(_AWKWARD) | st.sampled_from(_LETTERS),
            min_size=1,
            max_size=max_size,
        ).map(str.strip)
    )
    # Trimming can leave nothing; fall back to a letter so the value stays non-empty.
    return text or draw(st.sampled_from(_LETTERS[:52]))


@st.composite
def emails(draw: st.DrawFn) -> str:
    """An address that passes the documented email rule (``records.is_valid_email``)."""
    atoms = draw(st.lists(st.text(alphabet=_ATEXT, min_size=1, max_size=6), min_size=1, max_size=3))
    labels = draw(
        st.lists(
            st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=8),
            min_size=1,
            max_size=3,
        )
    )
    tld = draw(st.text(alphabet=string.ascii_letters, min_size=2, max_size=6))
    return ".".join(atoms) + "@" + ".".join([*labels, tld])


def _dates() -> st.SearchStrategy[dt.date | None]:
    return st.none() | st.dates()


def _custom(keys: Sequence[str]) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({}, optional={k: record_texts() for k in keys})


def _required(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """A value of a required (or, for optional kinds, set) field, by its kind and role."""
    if spec.role == "identifier":
        return record_texts(max_size=12)  # keys stay short, as in a real file
    if spec.role == "email":
        return emails()
    return record_texts()


def _field(spec: FieldSpec, custom_keys: Sequence[str]) -> st.SearchStrategy[Any]:
    """The strategy of one field, from its kind (and, for text, its role)."""
    kind = spec.kind
    if kind is FieldKind.TEXT:
        return _required(spec)
    if kind is FieldKind.OPTIONAL_TEXT:
        return st.none() | _required(spec)
    if kind is FieldKind.DATE:
        return _dates()
    if kind is FieldKind.FLAG:
        return st.none() | st.booleans()
    if kind is FieldKind.ENUM:
        assert spec.enum is not None  # field_specs sets it for every enum
        # Deleted is set by delete_personal_data only: no file gives it.
        return st.sampled_from([m for m in spec.enum if m is not RecordStatus.DELETED])
    return _custom(custom_keys)  # FieldKind.MAPPING


def _records(
    cls: type[_R],
    *,
    custom_keys: Sequence[str] = (),
    overrides: Mapping[str, st.SearchStrategy[Any]] | None = None,
) -> st.SearchStrategy[_R]:
    """Instances of the record class ``cls``: one strategy per field, from its spec.

    ``overrides`` replaces the strategy of the fields it names. A field added to the
    model is drawn with no edit here.
    """
    given = dict(overrides or {})
    unknown = given.keys() - {spec.name for spec in field_specs(cls)}
    if unknown:
        raise ValueError(f"{cls.__name__} has no field(s) {', '.join(sorted(unknown))}")
    strategies = {
        spec.name: given[spec.name] if spec.name in given else _field(spec, custom_keys)
        for spec in field_specs(cls)
    }
    return st.builds(cls, **strategies)


def user_records(
    *,
    custom_keys: Sequence[str] = (),
    statuses: st.SearchStrategy[RecordStatus] | None = None,
) -> st.SearchStrategy[UserRecord]:
    """Community user records with every optional field sometimes set.

    ``custom_keys`` are the custom (demographic) columns a record may have values for.
    ``statuses`` draws the status (default: any an upload file may give, so every record
    drawn round-trips through a file; pass ``st.sampled_from(RecordStatus)`` for the
    Deleted status too, which only ``delete_personal_data`` sets).
    """
    overrides: dict[str, st.SearchStrategy[Any]] = {}
    if statuses is not None:
        overrides["status"] = statuses
    return _records(UserRecord, custom_keys=custom_keys, overrides=overrides)


def contacts(
    *,
    member_ids: bool | None = None,
    custom_keys: Sequence[str] = (),
    subscriptions: st.SearchStrategy[SubscriptionStatus] | None = None,
) -> st.SearchStrategy[Contact]:
    """Marketing contacts.

    ``member_ids``: ``True`` always sets one, ``False`` never, ``None`` sometimes.
    ``subscriptions`` defaults to subscribed only, as the contact files carry no
    subscription column (opt-outs, unsubscribes and resubscribes are uploads of their
    own; see the domain reference, docs/domain.md).
    """
    subscribed = st.just(SubscriptionStatus.SUBSCRIBED)
    overrides: dict[str, st.SearchStrategy[Any]] = {
        "subscription": subscribed if subscriptions is None else subscriptions,
    }
    if member_ids is not None:
        key = next(s.name for s in field_specs(Contact) if s.role == "identifier")
        overrides[key] = record_texts(max_size=12) if member_ids else st.none()
    return _records(Contact, custom_keys=custom_keys, overrides=overrides)
