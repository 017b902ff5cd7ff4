"""The query-count baselines the generic API cases check (tests/api/generic.py)."""

import pytest

from tests.api import generic


def test_one_query_more_or_less_than_the_baseline_fails(monkeypatch):
    monkeypatch.setattr(generic, "_UPDATING", False)
    baseline = generic._load_baselines()["GET /customers"]

    generic.assert_query_count("GET /customers", ["SELECT 1"] * baseline)
    with pytest.raises(AssertionError, match="GET /customers"):
        generic.assert_query_count("GET /customers", ["SELECT 1"] * (baseline + 1))
    with pytest.raises(AssertionError, match="GET /customers"):
        generic.assert_query_count("GET /customers", ["SELECT 1"] * (baseline - 1))


def test_a_route_without_a_baseline_fails(monkeypatch):
    monkeypatch.setattr(generic, "_UPDATING", False)

    with pytest.raises(AssertionError, match="UPDATE_QUERY_COUNTS=1"):
        generic.assert_query_count("GET /nowhere", [])
