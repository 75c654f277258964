"""Shared test setup: Hypothesis profiles, the project's paths and rubric."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from grader.rubric import Rubric, load_rubric

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "submissions"

settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def rubric() -> Rubric:
    return load_rubric(ROOT / "grader.yaml")
