"""Test tenants are provisioned once per session (committed) and every test runs in a
transaction that is rolled back, so tests see the same two tenants and leave nothing behind.
Tests that need committed rows and real parallel connections use `committed_tenant`."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection
from django.test import override_settings
from django.test.utils import setup_databases, teardown_databases
from django_tenants.utils import tenant_context

from api import ratelimit
from api.ratelimit import redis_client
from shared_apps import redis_client as redis_helper
from shared_apps.accounts import invitations
from shared_apps.accounts import services as accounts
from shared_apps.accounts.models import Membership, User
from shared_apps.flags.services import forget_cached_flags
from shared_apps.tenants import queries as tenant_queries
from shared_apps.tenants import services as tenant_services
from shared_apps.tenants.models import Tenant
from shared_apps.tenants.sections import settings_sections
from tests.client import ApiClient, tenant_host
from tests.lanes import assign_lanes
from tests.outage_stack import closed_port
from tests.stripe_sandbox import stripe_sandbox  # noqa: F401 - fixture for the payments tests

PASSWORD = "a-long-test-password-1"


def pytest_configure(config):
    """TEST_CLOCK_SHIFT_DAYS=365 runs the suite with this process's clock a year ahead (still
    ticking; the database's and Redis's clocks stay real): CI runs the modules with dates in
    them so, to show that none depends on the day it runs."""
    days = int(os.environ.get("TEST_CLOCK_SHIFT_DAYS") or 0)
    if days:
        from datetime import UTC, datetime, timedelta

        import time_machine

        time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True).start()


# Before any fixture runs, the settings still name the real database; the test one differs.
_REAL_DATABASE_NAME = settings.DATABASES[DEFAULT_DB_ALIAS]["NAME"]


@dataclass(frozen=True)
class TestTenant:
    """A provisioned tenant with an owner and a staff member, and their access tokens."""

    tenant: Tenant
    owner: User
    owner_token: str
    owner_refresh_token: str
    staff: User
    staff_token: str

    @property
    def slug(self) -> str:
        return self.tenant.slug

    @property
    def host(self) -> str:
        return tenant_host(self.tenant.slug)

    def api(self, *, as_staff: bool = False, on_api_host: bool = False) -> ApiClient:
        """A client for this tenant: on its own subdomain (default) or on the API host."""
        token = self.staff_token if as_staff else self.owner_token
        return ApiClient(host=settings.BASE_DOMAIN if on_api_host else self.host, token=token)

    def schema(self):
        """`with t.schema():` runs ORM code in this tenant's schema."""
        return tenant_context(self.tenant)

    def store_settings(self, **values) -> None:
        """Write settings straight into their apps' rows in this tenant's schema, as a test's
        given (no validation, no route claims: `PATCH /tenants/me` is tested for those)."""
        with self.schema():
            for section in settings_sections():
                mine = {name: value for name, value in values.items() if name in section.validators}
                if mine:
                    section.model.objects.update_or_create(pk=1, defaults=mine)
            unknown = set(values) - {name for section in settings_sections() for name in section.validators}
        assert not unknown, f"not a section's setting: {unknown}"


def provision_test_tenant(slug: str, *, timezone_name: str = "America/New_York") -> TestTenant:
    tokens = accounts.register_business(
        business_name=f"{slug.title()} Services",
        email=f"owner@{slug}.test",
        password=PASSWORD,
        slug=slug,
        full_name=f"{slug.title()} Owner",
        timezone_name=timezone_name,
    )
    invitation = invitations.create_invitation(
        tenant_id=tokens.tenant.pk,
        actor_role=Membership.Role.OWNER,
        inviter_id=tokens.user.pk,
        email=f"staff@{slug}.test",
        role=Membership.Role.STAFF,
    )
    staff_tokens = invitations.accept_invitation(token=invitation.token, password=PASSWORD)
    return TestTenant(
        tenant=tokens.tenant,
        owner=tokens.user,
        owner_token=tokens.access_token,
        owner_refresh_token=tokens.refresh_token,
        staff=staff_tokens.user,
        staff_token=staff_tokens.access_token,
    )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, django_db_keepdb) -> Iterator[None]:
    """The test database, also in a run where no test asks for `db` (only committed-row
    tests, e.g. `-m concurrency`): pytest-django then sets up no database, and connections
    would go to the real database's name."""
    if connection.settings_dict["NAME"] != _REAL_DATABASE_NAME:
        yield
        return
    with django_db_blocker.unblock():
        databases = setup_databases(verbosity=0, interactive=False, aliases={DEFAULT_DB_ALIAS}, keepdb=django_db_keepdb)
        # A pool opened before the switch keeps connecting to the old name.
        connection.close_pool()
    try:
        yield
    finally:
        if not django_db_keepdb:
            with django_db_blocker.unblock():
                teardown_databases(databases, verbosity=0)


def delete_test_tenant(slug: str) -> None:
    """Drop a committed test tenant (schema, rows) and its users, if it exists."""
    connection.set_schema_to_public()
    for tenant_id in Tenant.objects.filter(slug=slug).values_list("pk", flat=True):
        tenant_services.delete_tenant(tenant_id=tenant_id)
    User.objects.filter(email__endswith=f"@{slug}.test").delete()


@pytest.fixture(scope="session")
def session_tenants(django_db_setup, django_db_blocker) -> Iterator[dict[str, TestTenant]]:
    """Committed for the whole session and dropped at its end; a database kept by --reuse-db
    may still hold them from a run that was killed, so they are dropped first too."""
    slugs = ("alpha", "bravo")
    with django_db_blocker.unblock():
        for slug in slugs:
            delete_test_tenant(slug)
        tenants = {slug: provision_test_tenant(slug) for slug in slugs}
    try:
        yield tenants
    finally:
        with django_db_blocker.unblock():
            for slug in slugs:
                delete_test_tenant(slug)


@pytest.fixture
def tenant_a(session_tenants, db) -> TestTenant:
    return session_tenants["alpha"]


@pytest.fixture
def tenant_b(session_tenants, db) -> TestTenant:
    return session_tenants["bravo"]


@pytest.fixture
def api_host(db) -> ApiClient:
    """An anonymous client on the API host."""
    return ApiClient(host=settings.BASE_DOMAIN)


@pytest.fixture
def committed_tenant(django_db_setup, django_db_blocker) -> Iterator[TestTenant]:
    """A fresh tenant whose rows are really committed (for tests with parallel connections);
    deleted with its schema afterwards, whatever the test did."""
    with django_db_blocker.unblock():
        test_tenant = provision_test_tenant(f"live-{uuid.uuid4().hex[:12]}")
        try:
            yield test_tenant
        finally:
            delete_test_tenant(test_tenant.slug)


def _forget_cached_state() -> None:
    """Caches outlive a rolled-back test transaction: drop them so no test sees another's."""
    connection.set_schema_to_public()
    tenant_queries.forget_all_tenants()
    forget_cached_flags()
    client = redis_client()
    keys = list(client.scan_iter(match=f"{settings.REDIS_KEY_PREFIX}*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _isolated_caches() -> Iterator[None]:
    yield
    _forget_cached_state()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in one lane: unit, database or system (tests/lanes.py)."""
    assign_lanes(items)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize the shared isolation tests (tests/isolation.py) with each class's routes, and
    the generic API tests (tests/api/generic.py) with each class's invalid bodies."""
    for fixture_name, attribute in (("route", "routes"), ("object_route", "object_routes")):
        if fixture_name in metafunc.fixturenames and metafunc.cls is not None:
            routes = getattr(metafunc.cls, attribute, [])
            metafunc.parametrize(fixture_name, routes, ids=[f"{r.method} {r.path}" for r in routes])
    if "invalid_create_case" in metafunc.fixturenames and metafunc.cls is not None:
        cases = metafunc.cls.invalid_create
        metafunc.parametrize("invalid_create_case", cases, ids=[field for _, field in cases])


@pytest.fixture
def unblocked_db(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Database access without a wrapping transaction: what a test writes is committed and
    visible to other connections (threads). The test cleans up after itself."""
    with django_db_blocker.unblock():
        yield
        connection.set_schema_to_public()


@contextmanager
def redis_unreachable() -> Iterator[None]:
    """Every Redis client of the process (raw client and both caches) points at a dead port."""
    dead_url = f"redis://127.0.0.1:{closed_port()}/0"
    caches = {alias: {**config, "LOCATION": dead_url} for alias, config in settings.CACHES.items()}
    redis_helper.redis_client.cache_clear()
    ratelimit._local_windows.clear()
    with override_settings(REDIS_URL=dead_url, CACHES=caches):
        yield
    redis_helper.redis_client.cache_clear()
    redis_helper.outage.succeeded()


@pytest.fixture
def redis_down() -> Iterator[None]:
    with redis_unreachable():
        yield
