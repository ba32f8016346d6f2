"""Every bad value is refused at the boundary with a ProvisioningError naming the field.

Regression tests for "Close the data-loss holes and harden every input edge": wrong
types, unwritable characters, over-long ids, enum values as strings, and the header
cap of the spreadsheet reader.
"""

# Every test here passes a value of the wrong type on purpose.
# mypy: disable-error-code="arg-type, list-item, dict-item, call-overload, index, misc"
# mypy: disable-error-code="comparison-overlap"

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import provisioning as pv
from provisioning.adapters import MemoryRepository, SqliteRepository
from provisioning.repository import check_change_set
from provisioning.rules import SsoOption
from provisioning.spreadsheet import (
    COMMUNITY_UPLOAD_USERS,
    ErrorCode,
    neutralise,
    write_blank,
    write_error_report,
)

AS_OF = dt.date(2026, 11, 25)
TENANT = pv.Tenant(id="acme", name="Acme", products={"community": "spreadsheet_upload"})
STANDALONE = pv.Tenant(
    id="club", name="Club", products={"community": "standalone"}, account_requests="auto_approve"
)
ADMIN = pv.Actor(id="sa-1", role="super_admin")
MEMBER = pv.Actor(id="m-1", role="member")
REQUIRED = {
    "legacy_contact_key": "1001",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "company_name": "Analytical Engines",
}


def record(**changes: Any) -> pv.UserRecord:
    return pv.UserRecord(**{**REQUIRED, **changes})


def refused(call: Callable[[], object], field: str, says: str) -> pv.InvalidValueError:
    with pytest.raises(pv.InvalidValueError) as caught:
        call()
    assert caught.value.field == field
    assert says in str(caught.value)
    return caught.value


# -- 1. wrong types and unwritable characters -------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"is_member": "maybe"}, "is_member", "must be True or False, got str 'maybe'"),
        ({"custom": {"a": 5}}, "custom", "names and values must be strings"),
        ({"custom": {5: "a"}}, "custom", "names and values must be strings"),
        ({"custom": ["a"]}, "custom", "must be a mapping"),
        ({"custom": {"a": "x\x00y"}}, "custom", "'\\x00'"),
        ({"email": 5}, "email", "email must be a string, got int 5"),
        ({"legacy_contact_key": None}, "legacy_contact_key", "must be a string, got NoneType"),
        ({"legacy_contact_key": "10\x0001"}, "legacy_contact_key", "'\\x00' at position 2"),
        ({"legacy_contact_key": "1\ud800"}, "legacy_contact_key", "'\\ud800'"),
        ({"first_name": 7}, "first_name", "first_name must be a string, got int 7"),
        ({"first_name": "  "}, "first_name", "must not be empty"),
        ({"city": 5}, "city", "city must be a string or None, got int 5"),
        ({"city": "Lon\x00don"}, "city", "no upload file can hold"),
        ({"member_since": "2026-01-01"}, "member_since", "must be a date or None"),
        ({"status": "maybe"}, "status", "is not one of"),
    ],
)
def test_user_record_refuses_a_bad_value_naming_the_field(
    changes: dict[str, Any], field: str, says: str
) -> None:
    refused(lambda: record(**changes), field, says)


def test_contact_refuses_bad_values() -> None:
    refused(lambda: pv.Contact(email=None), "email", "must be a string")
    refused(lambda: pv.Contact(email="a@example.com", member_id=5), "member_id", "got int 5")
    refused(lambda: pv.Contact(email="a@example.com", first_name="A\x00"), "first_name", "'\\x00'")
    assert pv.Contact(email="a@example.com", member_id="  ").member_id is None


def test_custom_fields_refuse_non_text_directly() -> None:
    refused(lambda: pv.CustomFields({"a": 1}), "custom", "must be strings")
    assert pv.CustomFields({"a": "b"}) == {"a": "b"}
    assert pv.CustomFields() is pv.CustomFields({})


@pytest.mark.parametrize(
    ("build", "field", "says"),
    [
        (lambda: pv.Tenant(id=5, name="A", products={}), "id", "id must be a string, got int"),
        (lambda: pv.Tenant(id="a", name=None, products={}), "name", "must be a string"),
        (
            lambda: pv.Tenant(id="a", name="A", products=["community"]),
            "products",
            "must be a mapping of each product to its method",
        ),
        (lambda: pv.Tenant(id="a", name="A", products={}, sso="saml"), "sso", "SsoSetup or None"),
        (
            lambda: pv.Tenant(id="a", name="A", products={}, initial_upload_done="yes"),
            "initial_upload_done",
            "True or False",
        ),
        (lambda: pv.Tenant(id="a", name="A", products={}, integration=5), "integration", "int"),
        (lambda: pv.Tenant(id="a\nb", name="A", products={}), "id", "control character '\\n'"),
        (lambda: pv.Actor(id=None, role="member"), "id", "must be a string"),
        (lambda: pv.Actor(id="a", role="member", name=5), "name", "must be a string"),
        (lambda: pv.Actor(id="a\tb", role="member"), "id", "control character '\\t'"),
        (lambda: pv.IdentityProvider(name=5), "name", "must be a string"),
        (
            lambda: pv.IdentityProvider(name="X", hosted_by_vendor="no"),
            "hosted_by_vendor",
            "True or False",
        ),
        (
            lambda: pv.SsoSetup(protocol="saml_2_0", identity_provider=5),
            "identity_provider",
            "an IdentityProvider or its name",
        ),
        (
            lambda: pv.SsoSetup(protocol="saml_2_0", identity_provider="X", saml_signed=1),
            "saml_signed",
            "True or False",
        ),
        (
            lambda: pv.SsoSetup(protocol="saml_2_0", identity_provider="X", go_live="2026-01-01"),
            "go_live",
            "must be a date",
        ),
        (
            lambda: pv.AccountRequests(policy="auto_approve", email_verification="y"),
            "email_verification",
            "True or False",
        ),
        (lambda: pv.Settings(truncated_file_share="0.5"), "truncated_file_share", "a number"),
        (lambda: pv.Settings(max_deactivation_share=True), "max_deactivation_share", "a number"),
        (lambda: pv.Settings(local_login_with_sso=None), "local_login_with_sso", "True or False"),
        (lambda: pv.Settings(sso_products=5), "sso_products", "an iterable of Product"),
        (lambda: pv.RuleBook(settings={}), "settings", "must be a Settings"),
        (lambda: pv.RuleBook(catalog=[]), "catalog", "must be a IntegrationCatalog"),
        (lambda: pv.RuleBook().with_settings(lead_time=1), "lead_time", "unknown setting"),
    ],
)
def test_model_constructors_refuse_a_bad_value(
    build: Callable[[], object], field: str, says: str
) -> None:
    refused(build, field, says)


def test_a_single_string_in_settings_is_one_value_not_its_letters() -> None:
    assert pv.Settings(sso_products="marketing").sso_products == {pv.Product.MARKETING}
    assert pv.Settings(user_admin_roles=pv.Role.MEMBER).user_admin_roles == {pv.Role.MEMBER}


def test_tenant_names_and_ids_keep_what_they_held() -> None:
    tenant = pv.Tenant(id=" acme ", name=" Acme\x00 ", products={}, integration=" ")
    assert (tenant.id, tenant.name, tenant.integration) == ("acme", "Acme\x00", None)


# -- 1. the rule functions ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "field", "says"),
    [
        (lambda: pv.decide(TENANT, ADMIN, "fly"), "action", "'fly' is not one of 'self_register'"),
        (lambda: pv.decide(TENANT, ADMIN, 5), "action", "5 is not one of"),
        (lambda: pv.decide(TENANT, ADMIN, "sso_login", product="x"), "product", "'community'"),
        (lambda: pv.decide("acme", ADMIN, "sso_login"), "tenant", "must be a Tenant, got str"),
        (lambda: pv.decide(TENANT, "sa-1", "sso_login"), "actor", "must be an Actor, got str"),
        (
            lambda: pv.decide(TENANT, ADMIN, "sso_login", as_of="2026-01-01"),
            "as_of",
            "must be a datetime.date, got str",
        ),
        (
            lambda: pv.decide(TENANT, ADMIN, "sso_login", rulebook=pv.Settings()),
            "rulebook",
            "must be a RuleBook",
        ),
        (
            lambda: pv.sso_eligibility(TENANT, as_of="2026-01-01"),
            "as_of",
            "must be a datetime.date",
        ),
        (
            lambda: pv.sso_eligibility(TENANT, as_of=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
            "as_of",
            "as_of is a day: pass value.date()",
        ),
        (lambda: pv.sso_eligibility(TENANT, product="crm"), "product", "'crm' is not one of"),
        (lambda: pv.check({"id": "acme"}), "tenant", "must be a Tenant, got dict"),
        (lambda: pv.check(TENANT, rulebook=None), "rulebook", "must be a RuleBook"),
        (lambda: pv.applicable_methods("crm"), "product", "'crm' is not one of"),
        (lambda: pv.plan_migration(TENANT, "community", "ftp"), "to", "'ftp' is not one of"),
        (lambda: pv.plan_migration(None, "community", "standalone"), "tenant", "a Tenant"),
        (lambda: pv.scenarios(products="crm"), "products", "'crm' is not one of"),
        (lambda: pv.scenarios(products=5), "products", "an iterable of Product"),
        (lambda: pv.scenarios(methods=["ftp"]), "methods", "'ftp' is not one of"),
        (lambda: pv.scenarios(actions=["fly"]), "actions", "'fly' is not one of"),
        (lambda: pv.scenarios(sso_options=[5]), "sso_options", "SsoOption values"),
        (lambda: pv.scenarios(sso_options=5), "sso_options", "SsoOption values"),
        (lambda: pv.scenarios(systems=[5]), "systems", "system ids or None"),
        (lambda: pv.scenarios(systems=5), "systems", "system ids or None"),
        (lambda: pv.scenarios(as_of=dt.datetime(2026, 1, 1)), "as_of", "as_of is a day"),  # noqa: DTZ001
        (lambda: pv.scenarios(rulebook="vendor"), "rulebook", "must be a RuleBook"),
    ],
)
def test_rule_functions_refuse_a_bad_argument_naming_it(
    call: Callable[[], object], field: str, says: str
) -> None:
    refused(call, field, says)


def test_the_rulebook_methods_check_their_arguments_too() -> None:
    book = pv.RuleBook()
    refused(lambda: book.check("acme"), "tenant", "must be a Tenant")
    refused(lambda: book.decide(TENANT, ADMIN, "fly"), "action", "'fly'")
    refused(lambda: book.plan_migration(TENANT, "crm", "standalone"), "product", "'crm'")


# -- 3. enum values as strings -------------------------------------------------------------


def test_every_enum_parameter_takes_its_value_as_a_string() -> None:
    by_value = pv.decide(STANDALONE, MEMBER, "self_register", product="community", as_of=AS_OF)
    by_member = pv.decide(
        STANDALONE, MEMBER, pv.Action.SELF_REGISTER, product=pv.Product.COMMUNITY, as_of=AS_OF
    )
    assert by_value == by_member
    assert by_value.action is pv.Action.SELF_REGISTER
    assert by_value.allowed
    assert pv.sso_eligibility(TENANT, product="marketing", as_of=AS_OF) == pv.sso_eligibility(
        TENANT, product=pv.Product.MARKETING, as_of=AS_OF
    )
    assert pv.applicable_methods("marketing") == (pv.ProvisioningMethod.SPREADSHEET_UPLOAD,)
    migration = pv.plan_migration(TENANT, "community", "standalone")
    assert (migration.product, migration.to_method) == (
        pv.Product.COMMUNITY,
        pv.ProvisioningMethod.STANDALONE,
    )
    table = pv.scenarios(
        products="community",
        methods=["standalone"],
        sso_options=SsoOption("none", None),
        systems=None,
        actions="self_register",
        as_of=AS_OF,
    )
    assert len(table) == 1
    assert list(table[0].decisions) == [pv.Action.SELF_REGISTER]
    assert table[0].system is None


def test_rule_functions_take_a_date_for_as_of() -> None:
    assert pv.sso_eligibility(TENANT, as_of=AS_OF).as_of == AS_OF
    assert pv.check(TENANT) == pv.RuleBook().check(TENANT)


# -- 1. plan_upload and the stores ------------------------------------------------------------


def _plan(rows: Any = (), **options: Any) -> pv.UploadPlan:
    options.setdefault("as_of", AS_OF)
    return pv.plan_upload(TENANT, ADMIN, rows, MemoryRepository(), **options)


@pytest.mark.parametrize(
    ("options", "field", "says"),
    [
        ({"mode": "everything"}, "mode", "'everything' is not one of 'full'"),
        ({"overrides": 5}, "overrides", "a safeguard, its name, or an iterable"),
        ({"overrides": ["nope"]}, "overrides", "unknown safeguard 'nope'"),
        ({"protected_keys": 5}, "protected_keys", "a collection of record keys"),
        ({"protected_keys": [5]}, "protected_keys", "record keys (strings)"),
        ({"as_of": "2026-11-25"}, "as_of", "must be a datetime.date"),
        ({"as_of": dt.datetime(2026, 11, 25, tzinfo=dt.UTC)}, "as_of", "as_of is a day"),
        ({"file_digest": 5}, "file_digest", "a string or None"),
        ({"rulebook": {}}, "rulebook", "must be a RuleBook"),
        ({"rows": "1001,Ada"}, "rows", "an iterable of UserRecord and RowError values"),
        ({"rows": None}, "rows", "an iterable of UserRecord and RowError values"),
    ],
)
def test_plan_upload_refuses_a_bad_argument(options: dict[str, Any], field: str, says: str) -> None:
    refused(lambda: _plan(**options), field, says)


def test_plan_upload_refuses_a_bad_tenant_or_actor() -> None:
    repo = MemoryRepository()
    refused(lambda: pv.plan_upload("acme", ADMIN, [], repo), "tenant", "a Tenant")
    refused(lambda: pv.plan_upload(TENANT, "sa-1", [], repo), "actor", "an Actor")


def test_plan_upload_checks_each_row_as_it_is_consumed() -> None:
    consumed: list[int] = []

    def rows() -> Iterator[object]:
        consumed.append(0)
        yield record()
        consumed.append(1)
        yield "x"
        consumed.append(2)  # pragma: no cover - never reached: the plan stops at item 1
        yield record(legacy_contact_key="1002", email="b@example.com")  # pragma: no cover

    error = refused(lambda: _plan(rows()), "rows", "rows: item 1 is a str ('x')")
    assert "each must be a UserRecord or a RowError" in str(error)
    assert consumed == [0, 1]


def test_one_protected_key_alone_is_one_key_not_its_characters() -> None:
    repo = MemoryRepository()
    repo.commit("acme", pv.repository.ChangeSet(creates=(record(legacy_contact_key="10"),)), 0)
    for keys in ("10", ["10"]):
        plan = pv.plan_upload(
            TENANT,
            ADMIN,
            [record(legacy_contact_key="2", email="b@example.com")],
            repo,
            as_of=AS_OF,
            mode="full",
            protected_keys=keys,
        )
        assert pv.Safeguard.SUPER_ADMIN in plan.tripped
    plan = pv.plan_upload(
        TENANT,
        ADMIN,
        [record(legacy_contact_key="2", email="b@example.com")],
        repo,
        as_of=AS_OF,
        protected_keys="1",
    )
    assert pv.Safeguard.SUPER_ADMIN not in plan.tripped


def test_memory_repository_refuses_a_tenant_id_that_is_no_string() -> None:
    repo = MemoryRepository()
    refused(lambda: repo.records(5), "tenant_id", "tenant_id must be a string, got int 5")
    refused(lambda: repo.revision(["acme"]), "tenant_id", "got list")
    refused(lambda: repo.get_tenant(None), "tenant_id", "got NoneType")
    refused(lambda: repo.save_tenant("acme"), "tenant", "must be a Tenant")
    assert repo.revision("acme") == 0


@pytest.mark.parametrize(
    ("options", "field", "says"),
    [
        ({"timeout": "x"}, "timeout", "timeout must be a number of seconds, 0 or more, at most"),
        ({"timeout": float("inf")}, "timeout", "got inf"),
        ({"timeout": 3e6}, "timeout", "at most 2,147,483"),
        ({"cache_mib": 10**15}, "cache_mib", "at most 2,097,152"),
        ({"timeout": -1}, "timeout", "got -1"),
        ({"timeout": float("nan")}, "timeout", "got nan"),
        ({"timeout": True}, "timeout", "got True"),
        ({"cache_mib": -1}, "cache_mib", "cache_mib must be a whole number of MiB, 0 or more"),
        ({"cache_mib": 1.5}, "cache_mib", "got 1.5"),
        ({"fault": "boom"}, "fault", "must be callable or None"),
    ],
)
def test_sqlite_repository_checks_its_arguments(
    tmp_path: Path, options: dict[str, Any], field: str, says: str
) -> None:
    refused(lambda: SqliteRepository(tmp_path / "p.db", **options), field, says)
    assert not (tmp_path / "p.db").exists()


def test_sqlite_repository_refuses_a_path_that_is_no_path() -> None:
    refused(lambda: SqliteRepository(5), "path", "path must be a str or os.PathLike, got int")
    refused(lambda: SqliteRepository("a\x00b"), "path", "NUL")


def test_memory_repository_refuses_a_fault_hook_that_is_no_callable() -> None:
    refused(lambda: MemoryRepository(fault="x"), "fault", "must be callable or None")


@pytest.fixture(params=["memory", "sqlite"])
def any_repo(request: pytest.FixtureRequest) -> Iterator[pv.repository.Repository]:
    if request.param == "memory":
        yield MemoryRepository()
    else:
        with SqliteRepository() as repo:
            yield repo


BAD_TENANT_IDS = [
    ("", "must not be empty"),
    ("   ", "must not be empty"),
    ("t\x00", "control character"),
    ("t\nu", "control character"),
    ("t" * 300, "300 characters; the limit is 255"),
    (" acme", "surrounding whitespace"),
    (5, "must be a string"),
    (None, "must be a string"),
]


@pytest.mark.parametrize(("tenant_id", "says"), BAD_TENANT_IDS)
def test_every_repository_method_checks_the_tenant_id_as_tenant_id(
    any_repo: Any, tenant_id: object, says: str
) -> None:
    calls: list[Callable[[], object]] = [
        lambda: any_repo.get(tenant_id, "1001"),
        lambda: any_repo.get_by_email(tenant_id, "a@example.com"),
        lambda: any_repo.records(tenant_id),
        lambda: any_repo.count(tenant_id),
        lambda: any_repo.revision(tenant_id),
        lambda: any_repo.uploads(tenant_id),
        lambda: any_repo.commit(tenant_id, pv.repository.ChangeSet(), 0),
        lambda: any_repo.get_tenant(tenant_id),
    ]
    for call in calls:
        refused(call, "tenant_id", says)
    assert any_repo.revision("acme") == 0
    assert any_repo.revision("t" * 255) == 0


def test_repositories_refuse_a_bad_argument_naming_it(any_repo: Any) -> None:
    cs = pv.repository.ChangeSet()
    refused(lambda: any_repo.get("acme", None), "key", "key must be a string")
    refused(lambda: any_repo.get_by_email("acme", None), "email", "got NoneType")
    refused(lambda: any_repo.save_tenant(None), "tenant", "tenant must be a Tenant")
    refused(lambda: any_repo.commit("acme", None, 0), "change_set", "must be a ChangeSet")
    for bad in (0.0, False, True, -1, "0", None):
        refused(functools.partial(any_repo.commit, "acme", cs, bad), "expected_revision", repr(bad))
    assert any_repo.revision("acme") == 0
    assert any_repo.commit("acme", cs, 0) == 1


def test_change_sets_and_upload_entries_refuse_a_bad_value_naming_it() -> None:
    change_set = pv.repository.ChangeSet
    refused(lambda: change_set(updates=None), "updates", "must be an iterable of UserRecord")
    refused(lambda: change_set(creates="ab"), "creates", "got str 'ab'")
    refused(lambda: change_set(upload="x"), "upload", "must be an UploadEntry or None")
    entry = {
        "tenant_id": "acme",
        "actor_id": "sa-1",
        "at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "file_digest": "sha256:0",
        "mode": "full",
    }
    refused(
        lambda: pv.repository.UploadEntry(**entry, counts="abc"),
        "counts",
        "counts must be a mapping",
    )
    assert pv.repository.UploadEntry(**entry, counts={"created": 1}).counts == {"created": 1}


def test_upload_functions_refuse_a_bad_argument_naming_it() -> None:
    repo = MemoryRepository()
    refused(lambda: pv.plan_upload(TENANT, ADMIN, [], None), "repository", "a Repository")
    refused(lambda: pv.apply_plan(None, repo), "plan", "an UploadPlan")
    refused(lambda: pv.tenant_as_stored(None, repo), "tenant", "a Tenant, got NoneType")
    refused(lambda: pv.tenant_as_stored("solo", repo), "tenant", "got str 'solo'")
    refused(lambda: pv.tenant_as_stored(TENANT, None), "history", "an UploadHistory")
    plan = pv.plan_upload(TENANT, ADMIN, [record()], repo, as_of=AS_OF)
    refused(lambda: pv.apply_plan(None, repo), "plan", "an UploadPlan")
    refused(lambda: pv.apply_plan(plan, None), "repository", "a Repository")
    naive = dt.datetime(2026, 1, 1)  # noqa: DTZ001
    refused(lambda: pv.apply_plan(plan, repo, now=naive), "now", "aware")
    for bad in ("0", -1, 0.0, True):
        refused(
            functools.partial(pv.apply_plan, plan, repo, expected_revision=bad),
            "expected_revision",
            f"got {type(bad).__name__} {bad!r}",
        )
    assert repo.revision(TENANT.id) == 0
    assert pv.apply_plan(plan, repo, expected_revision=0).revision == 1


# -- 2. ids are capped ---------------------------------------------------------------------


def test_ids_are_capped_at_255_characters() -> None:
    assert pv.records.ID_MAX_LENGTH == 255
    assert len(pv.Tenant(id="t" * 255, name="T", products={}).id) == 255
    long = "t" * 256
    refused(
        lambda: pv.Tenant(id=long, name="T", products={}), "id", "256 characters; the limit is 255"
    )
    refused(lambda: pv.Tenant(id="t" * 5_000_000, name="T", products={}), "id", "5,000,000")
    refused(lambda: pv.Actor(id=long, role="member"), "id", "the limit is 255")
    refused(lambda: record(legacy_contact_key=long), "legacy_contact_key", "the limit is 255")
    refused(lambda: pv.Contact(email="a@example.com", member_id=long), "member_id", "255")
    assert record(legacy_contact_key=" " + "k" * 255 + " ").legacy_contact_key == "k" * 255


def _csv(*rows: str) -> io.StringIO:
    header = "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName"
    return io.StringIO("\r\n".join((header, *rows)) + "\r\n", newline="")


def test_the_reader_reports_an_over_long_key_as_a_row_error() -> None:
    long = "k" * 256
    report = pv.read_all(
        _csv(
            f"{long},Ada,L,a@example.com,X", f'"{long}","B",L,b@example.com,X', "ok,C,L,c@e.org,X"
        ),
        pv.COMMUNITY_UPLOAD_USERS,
    )
    assert [r.legacy_contact_key for r in report.records] == ["ok"]
    assert [(p.record, p.column, p.code, p.value) for p in report.problems] == [
        (1, "LegacyContactKey", ErrorCode.VALUE_TOO_LONG, long),
        (2, "LegacyContactKey", ErrorCode.VALUE_TOO_LONG, long),
    ]
    assert report.problems[0].message == ("LegacyContactKey has 256 characters; the limit is 255")
    assert report.summary.invalid == 2


def test_the_reader_reports_an_over_long_marketing_member_id() -> None:
    template = pv.MARKETING_ENTERPRISE_BY_MEMBER_ID
    header = template.delimiter.join(template.required_headers)
    cells = {"Email": "a@example.com"}
    row = template.delimiter.join(cells.get(h, "m" * 300) for h in template.required_headers)
    report = pv.read_all(io.StringIO(f"{header}\r\n{row}\r\n", newline=""), template)
    assert [p.code for p in report.problems] == [ErrorCode.VALUE_TOO_LONG]
    assert report.records == ()


def test_an_unprintable_key_the_codec_holds_is_still_read() -> None:
    # The fast path sends an unprintable key to the careful path, which accepts it.
    report = pv.read_all(_csv("k\u00a0\x01y,Ada,L,a@example.com,X"), pv.COMMUNITY_UPLOAD_USERS)
    assert report.problems == ()
    assert [r.legacy_contact_key for r in report.records] == ["k\u00a0\x01y"]


_CHARS = st.characters(codec="utf-8", exclude_characters="\x00")


@settings(max_examples=200, deadline=None)
@given(
    key=st.text(_CHARS, min_size=1, max_size=255),
    name=st.text(_CHARS, min_size=1, max_size=40),
    city=st.none() | st.text(_CHARS, max_size=40),
)
def test_any_text_a_user_record_accepts_round_trips(key: str, name: str, city: str | None) -> None:
    """Whatever the constructor accepts, write then read gives back (NUL never is)."""
    try:
        original = record(legacy_contact_key=key, first_name=name, city=city)
    except pv.InvalidValueError:
        return  # blank once trimmed
    out = io.StringIO(newline="")
    pv.write([original], out, pv.COMMUNITY_UPLOAD_USERS)
    data = out.getvalue().encode("utf-8")
    report = pv.read_all(io.BytesIO(data), pv.COMMUNITY_UPLOAD_USERS)
    assert report.records == (original,)


@settings(max_examples=50, deadline=None)
@given(st.text(st.characters(codec="utf-8"), min_size=1, max_size=20))
def test_a_key_with_nul_is_refused_and_any_other_round_trips(key: str) -> None:
    if "\x00" in key or not key.strip():
        refused(lambda: record(legacy_contact_key=key), "legacy_contact_key", "")
        return
    original = record(legacy_contact_key=key)
    out = io.StringIO(newline="")
    pv.write([original], out, pv.COMMUNITY_UPLOAD_USERS)
    report = pv.read_all(io.StringIO(out.getvalue(), newline=""), pv.COMMUNITY_UPLOAD_USERS)
    assert report.records == (original,)


# -- 4. the header: linear, capped -------------------------------------------------------------


def _header(extra: str) -> io.StringIO:
    base = ",".join(pv.COMMUNITY_UPLOAD_USERS.headers)
    return io.StringIO(base + extra + "\r\n", newline="")


def test_a_header_of_200k_duplicated_columns_is_refused_at_once() -> None:
    # Quadratic header checks took minutes on this input; the cap refuses it first.
    with pytest.raises(pv.HeaderError) as caught:
        pv.read(_header(",X" * 200_000), pv.COMMUNITY_UPLOAD_USERS)
    error = caught.value
    assert error.code == ErrorCode.HEADER
    assert [(p.code, p.record, p.line) for p in error.problems] == [
        (ErrorCode.TOO_MANY_COLUMNS, 0, 1)
    ]
    count = 200_000 + len(pv.COMMUNITY_UPLOAD_USERS.headers)
    assert error.problems[0].message == (
        f"the header has {count:,} columns; the limit is 1,000 (max_columns)"
    )


def test_a_header_of_200k_unknown_columns_is_refused() -> None:
    extra = "".join(f",Chapter {i}" for i in range(200_000))
    with pytest.raises(pv.HeaderError, match="the limit is 1,000"):
        pv.read(_header(extra), pv.COMMUNITY_UPLOAD_USERS, max_record_size=10_000_000)
    # At 2.6 MB the header line passes the record cap first, before it is split.
    with pytest.raises(pv.HeaderError, match="record_too_large"):
        pv.read(_header(extra), pv.COMMUNITY_UPLOAD_USERS)


def test_max_columns_is_a_read_option() -> None:
    extra = "".join(f",C{i}" for i in range(10))
    with pytest.raises(pv.HeaderError, match="has 36 columns; the limit is 30"):
        pv.read_all(_header(extra), pv.COMMUNITY_UPLOAD_USERS, max_columns=30)
    reader = pv.read(_header(extra), pv.COMMUNITY_UPLOAD_USERS, max_columns=36)
    assert len(reader.extra_columns) == 10
    refused(
        lambda: pv.read(_header(""), pv.COMMUNITY_UPLOAD_USERS, max_columns=0),
        "max_columns",
        "1 or more",
    )


def test_a_header_under_the_cap_reports_every_problem_in_one_pass() -> None:
    n = 1_000 - len(pv.COMMUNITY_UPLOAD_USERS.headers)
    with pytest.raises(pv.HeaderError) as caught:
        pv.read(_header(",X" * n), pv.COMMUNITY_UPLOAD_USERS)
    problems = caught.value.problems
    assert len(problems) == n - 1
    assert {p.code for p in problems} == {ErrorCode.DUPLICATE_COLUMN}
    assert problems[-1].message == f"column 'X' appears twice, as columns 27 and {1_000}; keep one"


def test_only_the_first_unknown_columns_get_a_suggestion() -> None:
    extra = "".join(f",FirstNam{i}" for i in range(30))
    reader = pv.read(_header(extra), pv.COMMUNITY_UPLOAD_USERS)
    warnings = [w for w in reader if isinstance(w, pv.RowError)]
    assert len(warnings) == 30
    suggested = ["did you mean 'FirstName'?" in w.message for w in warnings]
    assert suggested == [True] * 20 + [False] * 10


def test_a_multi_line_header_still_names_each_cell_line() -> None:
    base = ",".join(pv.COMMUNITY_UPLOAD_USERS.headers)
    # A header with a line break cannot name a custom field: the file is refused, the
    # problem naming the line the cell starts on.
    stream = io.StringIO(base + ',"Two\r\nLines",Other\r\n', newline="")
    with pytest.raises(pv.spreadsheet.HeaderError) as caught:
        pv.read(stream, pv.COMMUNITY_UPLOAD_USERS)
    problems = caught.value.problems
    assert [(w.column, w.line) for w in problems] == [("Two\r\nLines", 1)]
    stream = io.StringIO(base + ',Other,"Two\r\nLines"\r\n', newline="")
    with pytest.raises(pv.spreadsheet.HeaderError) as caught:
        pv.read(stream, pv.COMMUNITY_UPLOAD_USERS)
    assert [(w.column, w.line) for w in caught.value.problems] == [("Two\r\nLines", 1)]


# -- spreadsheet arguments, custom field names, matrix keys, product keys -------------------


def test_read_refuses_a_bad_argument_naming_it() -> None:
    from provisioning.spreadsheet import COMMUNITY_UPLOAD_USERS, read

    refused(lambda: read(_csv(), None), "template", "must be a Template")
    refused(lambda: read("a.csv", COMMUNITY_UPLOAD_USERS), "stream", "not a path")
    for bad in (float("nan"), -1, "10", True):
        refused(
            functools.partial(read, _csv(), COMMUNITY_UPLOAD_USERS, max_file_size=bad),
            "max_file_size",
            repr(bad),
        )
    refused(
        lambda: read(_csv(), COMMUNITY_UPLOAD_USERS, max_field_size=0), "max_field_size", "got 0"
    )
    refused(
        lambda: read(_csv(), COMMUNITY_UPLOAD_USERS, lenient_headers="yes"),
        "lenient_headers",
        "True or False",
    )
    refused(lambda: read(_csv(), COMMUNITY_UPLOAD_USERS, date_order="x"), "date_order", "'x'")


def test_write_refuses_a_bad_argument_naming_it() -> None:
    from provisioning.spreadsheet import COMMUNITY_UPLOAD_USERS, write

    template = COMMUNITY_UPLOAD_USERS
    refused(lambda: write(None, io.StringIO(), template), "records", "got NoneType")
    refused(lambda: write([record()], io.BytesIO(), template), "stream", "a text stream")
    refused(lambda: write([record()], None, template), "stream", "a text stream")
    refused(lambda: write([record()], io.StringIO(), None), "template", "a Template")
    refused(
        lambda: write([record()], io.StringIO(), template, extra_columns=["Status"]),
        "extra_columns",
        "'Status' is already a column",
    )
    for name in ("LegacyContactKey", "Status"):
        refused(
            lambda name=name: write([record(custom={name: "x"})], io.StringIO(), template),
            "custom",
            f"custom field {name!r}, the header of one of",
        )


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("", "is empty"),
        ("  ", "is empty"),
        (" Title ", "surrounding whitespace"),
        ("a,b\nc", "holds the character '\\n'"),
        ("a\rb", "holds the character '\\r'"),
    ],
)
def test_a_custom_field_name_must_be_able_to_be_a_header(name: str, says: str) -> None:
    refused(lambda: record(custom={name: "v"}), "custom", says)
    refused(lambda: pv.records.CustomFields({name: "v"}), "custom", says)


def test_the_reader_keeps_only_custom_names_a_header_can_have() -> None:
    from provisioning.spreadsheet import COMMUNITY_UPLOAD_USERS, HeaderError, read

    header = "LegacyContactKey,FirstName,LastName,EmailAddress,CompanyName"
    text = f'{header}," Chapter ",a\tb\r\n1001,Ada,Lovelace,ada@example.com,AE,North,x\r\n'
    items = list(read(io.StringIO(text, newline=""), COMMUNITY_UPLOAD_USERS))
    (found,) = [i for i in items if isinstance(i, pv.UserRecord)]
    assert dict(found.custom) == {"Chapter": "North", "a\tb": "x"}
    assert any("kept as 'Chapter'" in str(getattr(i, "message", "")) for i in items)
    broken = f'{header},"a,b\nc"\r\n1001,Ada,Lovelace,ada@example.com,AE,x\r\n'
    with pytest.raises(HeaderError, match="cannot be kept in custom"):
        read(io.StringIO(broken, newline=""), COMMUNITY_UPLOAD_USERS)


def test_a_permission_matrix_key_is_action_method_role() -> None:
    matrix = pv.permission_matrix()
    assert matrix["initial_upload", "standalone", "super_admin"].verdict.value == "depends"
    refused(lambda: matrix[("super_admin", "initial_upload")], "key", "(action, method, role)")
    refused(lambda: matrix["initial_upload"], "key", "(action, method, role)")
    refused(
        lambda: matrix["super_admin", "standalone", "initial_upload"],
        "action",
        "(action, method, role), in that order",
    )


def test_a_permission_matrix_reads_as_one_table_per_method() -> None:
    text = str(pv.permission_matrix())
    tables = text.split("\n\n")
    assert [t.splitlines()[0] for t in tables] == [
        f"method {m.value}:" for m in pv.ProvisioningMethod
    ]
    standalone = tables[0].splitlines()
    assert standalone[1].split() == [r.value for r in pv.Role]
    assert standalone[2].split()[0] == "self_register"
    assert len(standalone) == 2 + len(pv.Action)
    row = next(line for line in standalone if line.startswith("initial_upload "))
    assert row.split() == ["initial_upload", "depends", *["refused"] * (len(pv.Role) - 1)]
    assert all(line == line.rstrip() for line in text.splitlines())
    assert set(text.split()) >= {"allowed", "refused", "depends"}


def test_tenant_products_take_a_product_value_as_a_key() -> None:
    products = STANDALONE.products
    assert products["community"] is products[pv.Product.COMMUNITY]
    assert products.get("community") is pv.ProvisioningMethod.STANDALONE
    assert products.get(pv.Product.COMMUNITY) is pv.ProvisioningMethod.STANDALONE
    assert "community" in products
    assert pv.Product.COMMUNITY in products
    assert "marketing" not in products
    assert "nope" not in products
    assert 5 not in products
    assert products.get("marketing") is None
    assert products.get("nope", 7) == 7
    assert products.get(pv.Product.MARKETING, 7) == 7
    for missing in ("marketing", "nope", pv.Product.MARKETING):
        with pytest.raises(KeyError):
            products[missing]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: write_blank(None, io.StringIO()), "template"),
        (lambda: write_blank(COMMUNITY_UPLOAD_USERS, None), "stream"),
        (
            lambda: write_error_report(None, io.StringIO(), COMMUNITY_UPLOAD_USERS),
            "problems",
        ),
        (lambda: write_error_report([], io.StringIO(), None), "template"),
        (
            lambda: write_error_report([], io.StringIO(), COMMUNITY_UPLOAD_USERS, header=1),
            "header",
        ),
        (lambda: neutralise(1), "value"),
        (
            lambda: check_change_set(
                "acme",
                None,
                stored_keys=lambda k: k,
                email_owners=lambda e: {},
            ),
            "change_set",
        ),
    ],
)
def test_the_writers_and_change_set_check_name_a_bad_argument(
    call: Callable[[], object], field: str
) -> None:
    """write_blank, write_error_report, neutralise and check_change_set check their arguments."""
    with pytest.raises(pv.InvalidValueError) as caught:
        call()
    assert caught.value.field == field
