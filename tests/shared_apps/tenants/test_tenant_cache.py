"""The in-process tenant cache: every committed Tenant or Domain write publishes a new
generation; lookups made under an older generation are dropped; without Redis the cache
falls back to expiring entries by age, never to an error. (Across real processes:
tests/api/test_tenant_cache_across_processes.py.)"""

from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from shared_apps.tenants import queries
from shared_apps.tenants import services as tenant_services
from shared_apps.tenants.models import Domain
from tests.conftest import redis_unreachable


def sql_of(operation) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        operation()
    return [query["sql"] for query in captured.captured_queries]


def test_committed_settings_change_publishes_a_new_generation(tenant_a, django_capture_on_commit_callbacks):
    before = queries.current_generation()

    with django_capture_on_commit_callbacks(execute=True):
        tenant_services.update_tenant_settings(tenant_id=tenant_a.tenant.pk, changes={"timezone": "Europe/Paris"})

    assert queries.current_generation() not in (None, before)


def test_a_domain_written_outside_the_services_publishes_too(tenant_a, django_capture_on_commit_callbacks):
    # Django admin edits domains inline, without any of our services
    before = queries.current_generation()

    with django_capture_on_commit_callbacks(execute=True):
        Domain.objects.create(domain="alias.localhost", tenant=tenant_a.tenant, is_primary=False)

    assert queries.current_generation() not in (None, before)


def test_nothing_is_published_before_commit(tenant_a, django_capture_on_commit_callbacks):
    before = queries.current_generation()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        tenant_services.set_tenant_status(tenant_id=tenant_a.tenant.pk, status="suspended")

    assert queries.current_generation() == before
    assert callbacks  # published only when the transaction commits


def test_entries_of_an_older_generation_are_reloaded(tenant_a):
    queries.get_tenant_for_host(host=tenant_a.host)
    assert sql_of(lambda: queries.get_tenant_for_host(host=tenant_a.host)) == []

    queries.tenant_rows_changed()  # as another process does after its commit

    assert len(sql_of(lambda: queries.get_tenant_for_host(host=tenant_a.host))) == 1
    assert sql_of(lambda: queries.get_tenant_for_host(host=tenant_a.host)) == []


def test_without_redis_lookups_work_and_cache_for_the_configured_seconds(tenant_a, redis_down):
    assert queries.current_generation() is None
    queries.tenant_rows_changed()  # logged, not raised

    assert queries.get_tenant_for_host(host=tenant_a.host).pk == tenant_a.tenant.pk
    assert sql_of(lambda: queries.get_tenant_for_host(host=tenant_a.host)) == []
    with override_settings(TENANT_CACHE_SECONDS=-1):
        queries.get_tenant_by_schema(schema_name=tenant_a.tenant.schema_name)
        assert len(sql_of(lambda: queries.get_tenant_by_schema(schema_name=tenant_a.tenant.schema_name))) == 1


def test_entries_confirmed_by_redis_outlive_the_outage_age(tenant_a):
    queries.get_tenant_for_host(host=tenant_a.host)

    with override_settings(TENANT_CACHE_SECONDS=-1):
        assert sql_of(lambda: queries.get_tenant_for_host(host=tenant_a.host)) == []
    with override_settings(TENANT_CACHE_VERIFIED_SECONDS=-1):
        assert len(sql_of(lambda: queries.get_tenant_for_host(host=tenant_a.host))) == 1


def test_the_cache_holds_at_most_the_configured_entries_least_recently_used_dropped(tenant_a, settings):
    settings.TENANT_CACHE_MAX_ENTRIES = 3
    queries.forget_all_tenants()
    queries.get_tenant_for_host(host=tenant_a.host)
    for index in range(10):  # unknown hosts are cached too: anyone can send them
        queries.get_tenant_for_host(host=f"nobody-{index}.localhost")
        queries.get_tenant_for_host(host=tenant_a.host)  # kept in use

    assert len(queries._by_host) == 3
    assert sql_of(lambda: queries.get_tenant_for_host(host=tenant_a.host)) == []
    assert sql_of(lambda: queries.get_tenant_for_host(host="nobody-9.localhost")) == []
    assert len(sql_of(lambda: queries.get_tenant_for_host(host="nobody-0.localhost"))) == 1


def test_a_change_whose_publish_failed_is_published_when_redis_answers_again(tenant_a):
    before = queries.current_generation()
    with redis_unreachable():
        queries.tenant_rows_changed()  # a committed change while Redis is away

    assert queries.current_generation() not in (None, before)
