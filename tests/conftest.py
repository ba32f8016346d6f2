"""Shared fixtures and Hypothesis settings for the whole suite."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# CI machines are slow and shared: no deadline, a fixed example budget.
settings.register_profile(
    "default", deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
