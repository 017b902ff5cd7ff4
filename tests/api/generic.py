"""Generic API test cases (after NetBox's APIViewTestCases).

A module's test class declares its data and inherits the tests of the routes it has, next to
the isolation cases of tests/isolation.py:

    class TestCustomerAPI(ListTests, GetTests, CreateTests, VersionedUpdateTests, DeleteTests):
        path = "/customers"
        create_expected = {"name": "Ada", "phone": "+12025550143"}
        invalid_create = [({"phone": "12"}, "phone")]
        update_data = {"notes": "Gate code 1234", "version": 1}
        ...

        def create_data(self, owner) -> dict: return {"name": " Ada ", "phone": "(202) 555-0143"}

        def make_object(self, owner) -> int: ...

Every tested call's query count is compared with a committed baseline per route
(tests/api/query_counts.json): one extra query, constant or per row, fails the test. Lists are
measured with a few rows and with many, which must cost the same. `SET search_path` statements
(the tenant middleware's) are left out of every count. After a deliberate change, rewrite the
baselines with `UPDATE_QUERY_COUNTS=1 make test` and commit the file.
"""

import json
import os
from pathlib import Path
from typing import Any, ClassVar

from django.db import connection
from django.test.utils import CaptureQueriesContext

from api import lists
from tests.conftest import TestTenant
from tests.isolation import TenantRouteCases, assert_refused

BASELINES = Path(__file__).with_name("query_counts.json")
_UPDATING = os.environ.get("UPDATE_QUERY_COUNTS") == "1"


def _load_baselines() -> dict[str, int]:
    return json.loads(BASELINES.read_text()) if BASELINES.exists() else {}


def counted(captured: CaptureQueriesContext) -> list[str]:
    """The SQL a request ran, leaving out the tenant middleware's `SET search_path`."""
    return [query["sql"] for query in captured.captured_queries if not query["sql"].startswith("SET search_path")]


def assert_query_count(route: str, queries: list[str]) -> None:
    """`queries` are as many as the committed baseline of `route` ("GET /customers/{id}");
    with UPDATE_QUERY_COUNTS=1 their number becomes the baseline instead."""
    baselines = _load_baselines()
    if _UPDATING:
        BASELINES.write_text(json.dumps({**baselines, route: len(queries)}, indent=2, sort_keys=True) + "\n")
        return
    assert route in baselines, f"no query-count baseline for {route}: run with UPDATE_QUERY_COUNTS=1"
    listing = "\n".join(sql[:200] for sql in queries)
    assert len(queries) == baselines[route], f"{route}: {len(queries)} queries, baseline {baselines[route]}:\n{listing}"


class APITestCase(TenantRouteCases):
    """What every generic case needs: the collection's path and a way to make rows."""

    path: ClassVar[str]

    def make_objects(self, owner: TestTenant, count: int) -> list[Any]:
        """`count` rows in `owner`'s schema (for lists); one `make_object` each unless faster."""
        return [self.make_object(owner) for _ in range(count)]

    def call_counted(self, tenant: TestTenant, route: str, method: str, url: str, body: Any = None, **query: Any):
        """The response to one call, after a warm-up call (tenant and membership caches), with
        its query count checked against the baseline of `route`."""
        tenant.api().get(self.path)
        with CaptureQueriesContext(connection) as captured:
            response = tenant.api().request(method, url, body, **query)
        assert_query_count(route, counted(captured))
        return response


class ListTests(APITestCase):
    list_key: ClassVar[str] = "items"
    # Whether api/lists.py answers this list from column values (else Ninja's validated path).
    list_from_values: ClassVar[bool] = True

    def test_list_bytes_are_those_of_ninjas_rendering(self, tenant_a: TestTenant, monkeypatch):
        self.make_objects(tenant_a, 3)
        plans = []
        planned = lists.row_plan
        monkeypatch.setattr(lists, "row_plan", lambda *key: plans.append(planned(*key)) or plans[-1])
        answered = tenant_a.api().get(self.path, limit=2, offset=1)
        monkeypatch.setattr(lists, "row_plan", lambda *key: None)
        reference = tenant_a.api().get(self.path, limit=2, offset=1)

        assert (answered.status_code, answered["Content-Type"]) == (reference.status_code, reference["Content-Type"])
        assert answered.content == reference.content
        assert any(plan is not None for plan in plans) == self.list_from_values

    def test_list_answers_the_rows(self, tenant_a: TestTenant):
        ids = self.make_objects(tenant_a, 2)

        response = tenant_a.api().get(self.path, limit=200)

        assert response.status_code == 200, response.content
        assert set(ids) <= {row["id"] for row in response.json()[self.list_key]}

    def test_list_costs_its_baseline_whatever_the_row_count(self, tenant_a: TestTenant):
        self.make_objects(tenant_a, 2)
        few = self.call_counted(tenant_a, f"GET {self.path}", "GET", self.path, limit=200)
        self.make_objects(tenant_a, 20)
        many = self.call_counted(tenant_a, f"GET {self.path}", "GET", self.path, limit=200)

        assert (few.status_code, many.status_code) == (200, 200)
        assert len(many.json()[self.list_key]) >= len(few.json()[self.list_key]) + 20


class GetTests(APITestCase):
    def test_get_answers_the_row_at_its_baseline(self, tenant_a: TestTenant):
        object_id = self.make_object(tenant_a)

        response = self.call_counted(tenant_a, f"GET {self.path}/{{id}}", "GET", f"{self.path}/{object_id}")

        assert response.status_code == 200, response.content
        assert response.json()["id"] == object_id

    def test_missing_row_is_404(self, tenant_a: TestTenant):
        assert_refused(tenant_a.api().get(f"{self.path}/999999999"), 404)


class CreateTests(APITestCase):
    create_status: ClassVar[int] = 201
    create_expected: ClassVar[dict[str, Any]] = {}
    # Fields the answer carries besides those of `create_expected`.
    create_fields: ClassVar[set[str]] = set()
    # (body, field the 400 names); parametrized by tests/conftest.py.
    invalid_create: ClassVar[list[tuple[dict[str, Any], str]]] = []

    def create_data(self, owner: TestTenant) -> dict[str, Any]:
        """A valid body for POST `path` in `owner`'s business."""
        raise NotImplementedError

    def test_create_answers_the_row_at_its_baseline(self, tenant_a: TestTenant):
        body = self.create_data(tenant_a)

        response = self.call_counted(tenant_a, f"POST {self.path}", "POST", self.path, body)

        assert response.status_code == self.create_status, response.content
        created = response.json()
        assert {field: created[field] for field in self.create_expected} == self.create_expected
        assert set(created) >= self.create_fields

    def test_invalid_create_is_400_naming_the_field(self, tenant_a: TestTenant, invalid_create_case):
        body, field = invalid_create_case

        refused = assert_refused(tenant_a.api().post(self.path, self.create_data(tenant_a) | body), 400)

        assert refused["errors"][0]["field"] == field


class UpdateTests(APITestCase):
    # A PATCH body for a fresh row (with `version: 1` where rows are versioned).
    update_data: ClassVar[dict[str, Any]] = {}
    update_expected: ClassVar[dict[str, Any]] = {}

    def test_update_changes_the_row_at_its_baseline(self, tenant_a: TestTenant):
        object_id = self.make_object(tenant_a)
        url = f"{self.path}/{object_id}"

        response = self.call_counted(tenant_a, f"PATCH {self.path}/{{id}}", "PATCH", url, self.update_data)

        assert response.status_code == 200, response.content
        changed = response.json()
        assert {field: changed[field] for field in self.update_expected} == self.update_expected


class VersionedUpdateTests(UpdateTests):
    """Rows with a `version` that every edit names and bumps (`update_data` has version 1)."""

    def test_update_bumps_the_version_and_refuses_a_stale_one(self, tenant_a: TestTenant):
        object_id = self.make_object(tenant_a)

        fresh = tenant_a.api().patch(f"{self.path}/{object_id}", self.update_data)
        stale = tenant_a.api().patch(f"{self.path}/{object_id}", self.update_data)

        assert fresh.json()["version"] == 2
        refused = assert_refused(stale, 409)
        assert refused["errors"][0] == {"code": "stale_version", "current_version": 2}


class DeleteTests(APITestCase):
    # How the deleted row answers 404 afterwards: GET where the module has one, else DELETE again.
    gone_method: ClassVar[str] = "GET"

    def test_delete_is_204_at_its_baseline_and_the_row_is_gone(self, tenant_a: TestTenant):
        object_id = self.make_object(tenant_a)
        url = f"{self.path}/{object_id}"

        response = self.call_counted(tenant_a, f"DELETE {self.path}/{{id}}", "DELETE", url)

        assert response.status_code == 204, response.content
        assert object_id not in {row["id"] for row in tenant_a.api().get(self.path, limit=200).json()["items"]}
        assert_refused(tenant_a.api().request(self.gone_method, url), 404)
