"""Hypothesis strategies for user records and contacts, with the values that break files.

Text values hold what upload files get wrong: quotes, commas, tabs, line breaks of every
kind, non-ASCII letters, and a leading ``=``, ``+``, ``-``, ``@`` or ``'`` (formula
injection and its escape). Every value is one a record can hold after normalisation
(trimmed, no NUL), so ``read(write(records)) == records`` can be asserted directly.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Sequence

from hypothesis import strategies as st

from ..records import Contact, RecordStatus, SubscriptionStatus, UserRecord

__all__ = ["contacts", "emails", "record_texts", "user_records"]

# Characters that make CSV hard, and ones that make spreadsheets run a formula.
_AWKWARD = "\"',;\t\r\n =+-@|\\\u2028\x85\u00a0"
_LETTERS = string.ascii_letters + string.digits + "éüßçøåñÆŒЖж中文한국🙂"
_ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"


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


def _optional_texts() -> st.SearchStrategy[str | None]:
    return st.none() | record_texts()


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


def user_records(
    *,
    custom_keys: Sequence[str] = (),
    statuses: st.SearchStrategy[RecordStatus] | None = None,
) -> st.SearchStrategy[UserRecord]:
    """Community user records with every optional field sometimes set.

    ``custom_keys`` are the custom (demographic) columns a record may have values for.
    """
    return st.builds(
        UserRecord,
        legacy_contact_key=record_texts(max_size=12),
        first_name=record_texts(),
        last_name=record_texts(),
        email=emails(),
        company_name=record_texts(),
        prefix=_optional_texts(),
        middle_name=_optional_texts(),
        suffix=_optional_texts(),
        informal_name=_optional_texts(),
        title=_optional_texts(),
        member_id=_optional_texts(),
        member_since=_dates(),
        member_expires_on=_dates(),
        birthday=_dates(),
        address1=_optional_texts(),
        address2=_optional_texts(),
        city=_optional_texts(),
        state=_optional_texts(),
        postal_code=_optional_texts(),
        country=_optional_texts(),
        phone1=_optional_texts(),
        phone1_type=_optional_texts(),
        phone2=_optional_texts(),
        phone2_type=_optional_texts(),
        is_member=st.none() | st.booleans(),
        status=statuses if statuses is not None else st.sampled_from(RecordStatus),
        custom=_custom(custom_keys),
    )


def contacts(
    *,
    member_ids: bool | None = None,
    custom_keys: Sequence[str] = (),
    subscriptions: st.SearchStrategy[SubscriptionStatus] | None = None,
) -> st.SearchStrategy[Contact]:
    """Marketing contacts.

    ``member_ids``: ``True`` always sets one, ``False`` never, ``None`` sometimes.
    ``subscriptions`` defaults to subscribed only, as the contact files carry no
    subscription column (opt-outs are their own uploads, DOMAIN.md section 5).
    """
    member_id: st.SearchStrategy[str | None]
    if member_ids is None:
        member_id = _optional_texts()
    elif member_ids:
        member_id = record_texts(max_size=12)
    else:
        member_id = st.none()
    return st.builds(
        Contact,
        email=emails(),
        member_id=member_id,
        first_name=_optional_texts(),
        last_name=_optional_texts(),
        subscription=subscriptions or st.just(SubscriptionStatus.SUBSCRIBED),
        custom=_custom(custom_keys),
    )
