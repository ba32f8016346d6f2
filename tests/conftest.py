"""Shared fixtures and Hypothesis settings for the whole suite."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from _postgres import NO_SERVER, Server, server_binaries, throwaway_server

# CI machines are slow and shared: no deadline, a fixed example budget.
settings.register_profile(
    "default", deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    """A throwaway PostgreSQL server for this test process (each xdist worker has its own),
    stopped at the end; the tests needing it skip when the machine has no server binaries."""
    binaries = server_binaries()
    if binaries is None:
        pytest.skip(NO_SERVER)
    with throwaway_server(binaries) as server:
        yield server


@pytest.fixture
def postgres_schema() -> str:
    """A schema name no other test uses: a new, empty store in the shared database."""
    return f"t_{uuid.uuid4().hex[:16]}"
