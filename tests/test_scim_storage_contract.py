"""scim2-server's own storage contract suite, run against our storage on the three stores.

:class:`scim2_server.testing.ScimStorageContract` checks any ``ScimStorage``. Ours
keeps the Users of one tenant as records, so the suite is adapted through its own
extension points where our rules ask more of a user than the suite's users have:

- ``provider``: our service (Users only, no Groups, no sorting, no cursors, no root
  search: ``supports_root_search = False``); ``group_type`` and ``group_model`` are
  the default provider's, for the tests that ask another type than User (a 404 here).
- ``user_model``: our User, given what a record requires and the suite's users lack:
  an email, names and an organization; and an ``externalId`` of its own, since a
  record's key is the ``externalId`` (else the userName) and never changes
  (``SSO_IDENTIFIER_MATCH``): a user renamed keeps its key.
- ``create_group``: nothing, as we serve no Groups; the searches of Users still run.
- Tests on ``displayName``, which a record does not keep, are run on ``title``.

Nothing is skipped: every test of the suite either passes as written or runs adapted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import pytest

pytest.importorskip("scim2_server")

from pydantic import model_validator
from scim2_models import (
    Context,
    PreconditionFailedException,
    ResourceType,
    ResponseParameters,
    ScimProvider,
)
from scim2_server.storage import projection
from scim2_server.testing import ScimStorageContract
from scim2_server.utils import load_default_provider, parametrize

from provisioning.adapters import MemoryRepository, SqliteRepository
from provisioning.scim import ACTOR, RecordStorage, ScimState, make_provider
from provisioning.scim._models import USER_MODEL, RecordEmail, RecordEnterprise, RecordName
from test_scim import AMS, INTEGRATED


class SuiteUser(USER_MODEL):  # type: ignore[misc, valid-type]
    """Our User, completed with what a record requires when the suite leaves it out: an
    email, names, an organization, and an externalId of its own (the record's key)."""

    @model_validator(mode="after")
    def _as_a_record_needs(self) -> Self:
        user: Any = self  # the fields of the model made at run time
        name = str(user.user_name or "user")
        if not user.emails:
            local = "".join(c if c.isalnum() else "-" for c in name).strip("-") or "user"
            unique = uuid.uuid4().hex[:8]  # one email per record, whatever the userName
            user.emails = [RecordEmail(value=f"{local}.{unique}@example.com")]
        given = user.name.given_name if user.name else None
        family = user.name.family_name if user.name else None
        if not (given and family):
            user.name = RecordName(given_name=given or name, family_name=family or "Suite")
        enterprise = user[RecordEnterprise]
        if enterprise is None or not enterprise.organization:
            number = None if enterprise is None else enterprise.employee_number
            user[RecordEnterprise] = RecordEnterprise(organization="Suite", employee_number=number)
        if user.external_id is None and user.id is None:
            user.external_id = f"suite-{uuid.uuid4().hex[:12]}"
        return self


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The three stores, each holding the integration tenant."""
    repo: Any
    if request.param == "memory":
        repo = MemoryRepository()
    elif request.param == "sqlite":
        repo = SqliteRepository(tmp_path / "s.db")
    else:
        from provisioning.adapters.postgres import PostgresRepository

        server = request.getfixturevalue("postgres_server")
        repo = PostgresRepository(
            server.conninfo(), schema=request.getfixturevalue("postgres_schema")
        )
    repo.save_tenant(INTEGRATED)
    yield repo
    if request.param != "memory":
        repo.close()


class TestRecordStorage(ScimStorageContract):
    """RecordStorage passes scim2-server's storage contract, adapted as the module says."""

    supports_root_search = False

    @pytest.fixture
    def storage(self, store: Any) -> Iterator[RecordStorage]:
        """Our storage, called as the integration's actor (the application sets it from
        the request's bearer token)."""
        token = ACTOR.set(AMS)
        yield RecordStorage(store, ScimState(), INTEGRATED.id)
        ACTOR.reset(token)

    @pytest.fixture
    def provider(self) -> ScimProvider:
        return make_provider()

    @pytest.fixture
    def group_type(self) -> ResourceType:
        """The default Group type: we serve none, and find none of its ids."""
        return next(rt for rt in load_default_provider().resource_types if rt.id == "Group")

    @pytest.fixture
    def group_model(self, group_type: ResourceType) -> Any:
        return load_default_provider().model_for(group_type)

    @pytest.fixture
    def user_model(self) -> Any:
        return SuiteUser

    def search_users(self) -> list[dict[str, Any]]:
        """The suite's users without what our schema does not publish (``displayName``,
        an email's ``primary``): a record keeps neither. The suite's documented hook."""
        users = []
        for user in super().search_users():
            kept = {k: v for k, v in user.items() if k != "displayName"}
            if "emails" in kept:
                kept["emails"] = [
                    {k: v for k, v in e.items() if k != "primary"} for e in kept["emails"]
                ]
            users.append(kept)
        return users

    def create_group(self, storage: Any, group_type: Any, group_model: Any, member: Any) -> Any:
        """We serve no Groups: the tests that make one search their Users all the same."""
        return None

    # -- displayName is no attribute of a record: the same tests on title -------------

    def test_update_replaces_the_stored_resource(
        self, storage: Any, user_type: ResourceType, user_model: Any
    ) -> None:
        """Adapted: on ``title``, as a record keeps no ``displayName``."""
        (user,) = self.create_users(storage, user_type, user_model, "bjensen")
        user.title = "Barbara"

        updated = storage.update(user_type, user)

        assert updated.title == "Barbara"
        assert storage.get(user_type, user.id).title == "Barbara"
        assert updated.meta.created == user.meta.created
        assert updated.meta.last_modified >= user.meta.created
        assert updated.meta.version != user.meta.version
        assert updated.meta.location is None

    def test_update_with_the_expected_version(
        self, storage: Any, user_type: ResourceType, user_model: Any
    ) -> None:
        """Adapted: on ``title``, as a record keeps no ``displayName``."""
        (user,) = self.create_users(storage, user_type, user_model, "bjensen")
        user.title = "Barbara"

        storage.update(user_type, user, expected_version=user.meta.version)

        assert storage.get(user_type, user.id).title == "Barbara"

    def test_update_with_an_outdated_version(
        self, storage: Any, user_type: ResourceType, user_model: Any
    ) -> None:
        """Adapted: on ``title``, as a record keeps no ``displayName``."""
        (user,) = self.create_users(storage, user_type, user_model, "bjensen")
        outdated = user.meta.version
        user.title = "Babs"
        storage.update(user_type, user)
        user.title = "Barbara"

        with pytest.raises(PreconditionFailedException):
            storage.update(user_type, user, expected_version=outdated)
        assert storage.get(user_type, user.id).title == "Babs"

    def test_delete_with_an_outdated_version(
        self, storage: Any, user_type: ResourceType, user_model: Any
    ) -> None:
        """Adapted: on ``title``, as a record keeps no ``displayName``."""
        (user,) = self.create_users(storage, user_type, user_model, "bjensen")
        outdated = user.meta.version
        user.title = "Babs"
        storage.update(user_type, user)

        with pytest.raises(PreconditionFailedException):
            storage.delete(user_type, user.id, expected_version=outdated)
        assert storage.get(user_type, user.id).user_name == "bjensen"

    @pytest.mark.parametrize(
        "parameters",
        [
            {"excludedAttributes": "emails"},
            {"excludedAttributes": "name.givenName"},
            {"attributes": "userName"},
            {"attributes": "emails.value"},
        ],
    )
    def test_get_keeps_what_the_response_returns(
        self,
        storage: Any,
        user_type: ResourceType,
        user_model: Any,
        parameters: dict[str, str],
    ) -> None:
        """Adapted: on a User's attributes, as we serve no Groups."""
        (user,) = self.create_users(storage, user_type, user_model, "bjensen")
        response_parameters = parametrize(ResponseParameters, USER_MODEL).model_validate(parameters)

        whole = storage.get(user_type, user.id)
        projected = storage.get(user_type, user.id, **projection(storage, response_parameters))

        assert projected.model_dump(
            scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=response_parameters
        ) == whole.model_dump(
            scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=response_parameters
        )
