"""What tenant resolution costs on a warm process: no SQL of its own; the one
`SET search_path` is issued lazily with the request's first business query."""

from django.db import connection
from django.test.utils import CaptureQueriesContext


def statements_for(client, path):
    client.get(path)  # warm the in-process tenant cache and the membership cache
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return [query["sql"] for query in queries.captured_queries]


def test_resolving_the_business_costs_no_sql(tenant_a):
    """/tenants/me's only query is its own read of the settings sections (in the business's
    schema, hence the SET): the tenant, its host and the membership come from caches."""
    set_path = f'SET search_path = "{tenant_a.tenant.schema_name}","public"'

    on_subdomain = statements_for(tenant_a.api(), "/tenants/me")
    on_api_host = statements_for(tenant_a.api(on_api_host=True), "/tenants/me")

    assert [sql.split(" (")[0] for sql in on_subdomain] == [set_path, "SELECT"]
    assert [sql.split(" (")[0] for sql in on_api_host] == [set_path, "SELECT"]


def test_business_queries_add_exactly_one_set_search_path(tenant_a):
    statements = statements_for(tenant_a.api(), "/users")

    assert statements[0] == f'SET search_path = "{tenant_a.tenant.schema_name}","public"'
    assert [sql for sql in statements if sql.startswith("SET")] == statements[:1]
    assert len(statements) == 3  # SET, count, page
