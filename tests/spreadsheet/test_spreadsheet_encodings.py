"""Encodings: a file read in the encoding its caller names, or guessed only when allowed,
never mangled in silence."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from provisioning import InvalidValueError, SpreadsheetError
from provisioning.records import UserRecord
from provisioning.spreadsheet import (
    COMMUNITY_UPLOAD_USERS,
    ENCODINGS,
    ErrorCode,
    RowError,
    Severity,
    read,
    read_all,
    write,
)

_HEADER = "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName\r\n"
_ZOE = (
    _HEADER
    + "1001,Ada,Lovelace,ada@example.com,Engines\r\n"
    + "1002,Zoë,Müller,zoe@example.com,Acme\r\n"
)
# Letters Windows-1252 has beyond ASCII (quotes and dashes too): the names such files hold.
_CP1252_TEXT = (
    st.text(
        alphabet=st.sampled_from("abcXYZ éèëüöäßçñøåÆŒœšŽ€\u2019\u201c\u201d\u2013"),
        min_size=1,
        max_size=12,
    )
    .map(str.strip)
    .filter(bool)
)
# Any text a name may hold.
_ANY_TEXT = (
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Zl", "Zp"]),
        min_size=1,
        max_size=12,
    )
    .map(str.strip)
    .filter(bool)
)


def _file(records: list[UserRecord]) -> str:
    out = io.StringIO(newline="")
    write(records, out, COMMUNITY_UPLOAD_USERS)
    return out.getvalue()


def _names(records: Any) -> list[tuple[str, ...]]:
    """What an encoding may change in a record: its texts."""
    return [(r.key, r.first_name, r.last_name, r.email, r.company_name) for r in records]


def _records(names: list[str]) -> list[UserRecord]:
    return [
        UserRecord(
            legacy_contact_key=str(1000 + n),
            first_name=name,
            last_name=name[::-1],
            email=f"user{n}@example.org",
            company_name=f"{name} GmbH",
        )
        for n, name in enumerate(names)
    ]


@settings(max_examples=60)
@given(st.lists(st.one_of(_ANY_TEXT, _CP1252_TEXT), max_size=5))
def test_round_trip_through_declared_encodings(names: list[str]) -> None:
    """read(write(x).encode(e), encoding=e) == x for each encoding that can hold the file."""
    records = _records(names)
    text = _file(records)
    for encoding in ("cp1252", "latin-1", "utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"):
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:
            continue
        report = read_all(io.BytesIO(data), COMMUNITY_UPLOAD_USERS, encoding=encoding)
        assert _names(report.records) == _names(records), encoding
        assert not report.problems


@given(st.lists(_CP1252_TEXT, min_size=1, max_size=6))
def test_cp1252_is_read_when_named_and_refused_when_not(names: list[str]) -> None:
    """A Windows-1252 file: the same records with encoding='cp1252'; refused by default."""
    records = _records(names)
    data = _file(records).encode("cp1252")
    named = read_all(io.BytesIO(data), COMMUNITY_UPLOAD_USERS, encoding="cp1252")
    assert _names(named.records) == _names(records)
    assume(not data.isascii())
    with pytest.raises(SpreadsheetError) as caught:
        read_all(io.BytesIO(data), COMMUNITY_UPLOAD_USERS)
    assert caught.value.code == ErrorCode.ENCODING
    assert "encoding='cp1252'" in caught.value.message


@given(st.lists(_CP1252_TEXT, min_size=1, max_size=6), st.sampled_from(["cp1252", "utf-16-le"]))
def test_auto_guesses_with_one_warning(names: list[str], encoding: str) -> None:
    """encoding='auto' reads a Windows-1252 or mark-less UTF-16 file whole, with exactly one
    encoding_guessed warning naming the encoding and a value as read; UTF-8 needs no guess."""
    records = _records(names)
    text = _file(records)
    data = text.encode(encoding)
    assume(not data.isascii())
    if encoding == "cp1252":
        # Windows-1252 bytes can happen to form UTF-8 ("Æ" then "Œ"): then the first bytes
        # that are not UTF-8 come after UTF-8 that is not ASCII, and no guess is made.
        first = next(i for i, b in enumerate(data) if b > 0x7F)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            assume(exc.start == first)
    report = read_all(io.BytesIO(data), COMMUNITY_UPLOAD_USERS, encoding="auto")
    assert _names(report.records) == _names(records)
    (warning,) = report.problems
    assert (warning.code, warning.severity, warning.record) == (
        ErrorCode.ENCODING_GUESSED,
        Severity.WARNING,
        0,
    )
    assert ("Windows-1252" if encoding == "cp1252" else "UTF-16 LE") in warning.message
    if not text.isascii():
        assert warning.value
        assert warning.value in text
        assert repr(warning.value) in warning.message
    plain = read_all(io.BytesIO(text.encode("utf-8")), COMMUNITY_UPLOAD_USERS, encoding="auto")
    assert _names(plain.records) == _names(records)
    assert not plain.problems


def test_the_guess_comes_before_the_rows_it_read() -> None:
    """The warning names the line of the first changed name and comes before its row."""
    rows = "".join(f"{n},Ada,Lovelace,ada{n}@example.com,Engines\r\n" for n in (3, 4, 5))
    data = (_HEADER + rows).encode() + ("2,Zoë,Müller,zoe@example.com,Acme\r\n".encode("cp1252"))
    items = list(read(io.BytesIO(data), COMMUNITY_UPLOAD_USERS, encoding="auto"))
    kinds = [i.code if isinstance(i, RowError) else i.key for i in items]
    assert kinds.index(ErrorCode.ENCODING_GUESSED) < kinds.index("2")
    (warning,) = (i for i in items if isinstance(i, RowError))
    assert (warning.line, warning.value) == (5, "Zoë")


def test_a_guess_is_never_made_over_utf8() -> None:
    """A file of UTF-8 names then Windows-1252 bytes mixes encodings: refused, not guessed."""
    data = _ZOE.encode("utf-8") + "1003,José,García,jose@example.com,Acme\r\n".encode("cp1252")
    reader = read(io.BytesIO(data), COMMUNITY_UPLOAD_USERS, encoding="auto")
    handed: list[Any] = []
    with pytest.raises(SpreadsheetError) as caught:
        handed.extend(reader)
    assert (caught.value.code, caught.value.line) == (ErrorCode.ENCODING, 4)
    assert "mixes encodings" in caught.value.message
    assert len(handed) == 2


@pytest.mark.parametrize(
    ("data", "encoding", "says"),
    [
        ("\ufeff" + _ZOE, "cp1252", "starts with a UTF-8 byte-order mark"),
        ("\ufeff" + _ZOE, "latin-1", "read it with encoding='utf-8'"),
        ("\ufeff" + _ZOE, "utf-16-be", "UTF-8 byte-order mark"),
    ],
)
def test_a_byte_order_mark_that_contradicts_the_encoding(
    data: str, encoding: str, says: str
) -> None:
    """A file whose mark says another encoding is refused, not read as the caller said."""
    with pytest.raises(SpreadsheetError, match=says) as caught:
        read_all(io.BytesIO(data.encode("utf-8")), COMMUNITY_UPLOAD_USERS, encoding=encoding)
    assert (caught.value.code, caught.value.line) == (ErrorCode.ENCODING, 1)


def test_utf16_with_its_mark_and_the_utf16_names() -> None:
    """utf-16 takes either mark; utf-16-le takes its own; without one utf-16 reads the order."""
    for encoding in ("utf-16", "utf-16-le", "utf-16-be"):
        data = ("\ufeff" + _ZOE).encode(encoding if encoding != "utf-16" else "utf-16-le")
        asked = "utf-16" if encoding == "utf-16" else encoding
        report = read_all(io.BytesIO(data), COMMUNITY_UPLOAD_USERS, encoding=asked)
        assert [r.last_name for r in report.records] == ["Lovelace", "Müller"]


@pytest.mark.parametrize("name", ["Windows-1252", "UTF8", "latin1", "ISO-8859-1", "AUTO"])
def test_other_names_of_the_encodings(name: str) -> None:
    """Any name Python's codecs know for a listed encoding is taken."""
    data = _ZOE.encode("utf-8" if "8" in name and "8859" not in name else "cp1252")
    if name == "AUTO":
        data = _ZOE.encode("cp1252")
    report = read_all(io.BytesIO(data), COMMUNITY_UPLOAD_USERS, encoding=name)
    assert [r.first_name for r in report.records] == ["Ada", "Zoë"]


@pytest.mark.parametrize("name", ["ebcdic", "utf-32", "", 1252])
def test_unknown_encodings_are_refused(name: object) -> None:
    """An encoding the reader does not take is refused naming the ones it does."""
    with pytest.raises(InvalidValueError, match="encoding must be one of utf-8") as caught:
        read(io.BytesIO(_ZOE.encode()), COMMUNITY_UPLOAD_USERS, encoding=name)  # type: ignore[arg-type]
    assert caught.value.field == "encoding"
    assert len(ENCODINGS) == 8


def test_a_text_stream_cannot_be_given_an_encoding() -> None:
    """A text stream is decoded already: naming an encoding for it is an error."""
    with pytest.raises(SpreadsheetError, match="open the file in binary"):
        read(io.StringIO(_ZOE, newline=""), COMMUNITY_UPLOAD_USERS, encoding="cp1252")
