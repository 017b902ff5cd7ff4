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


def test_route_without_business_queries_costs_no_sql(tenant_a):
    assert statements_for(tenant_a.api(), "/tenants/me") == []
    assert statements_for(tenant_a.api(on_api_host=True), "/tenants/me") == []


def test_business_queries_add_exactly_one_set_search_path(tenant_a):
    statements = statements_for(tenant_a.api(), "/users")

    assert statements[0] == f'SET search_path = "{tenant_a.tenant.schema_name}","public"'
    assert [sql for sql in statements if sql.startswith("SET")] == statements[:1]
    assert len(statements) == 3  # SET, count, page
