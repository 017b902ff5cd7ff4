"""Tenancy through a real PgBouncer (devtools/pgbouncer.py, as `make prod` runs it): a gunicorn
process connecting per request through the pooler, 8 clients interleaving two businesses'
requests over fewer server connections than clients, and no answer holding a row of the other
business."""

import itertools
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from devtools import pgbouncer
from tenant_apps.customers.models import Customer
from tests import conftest
from tests.servers import gunicorn_servers, server_environment

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.skipif(pgbouncer.binary() is None, reason="pgbouncer is not installed (apt-get install pgbouncer)"),
]

CLIENTS = 8
REQUESTS_PER_CLIENT = 24
SERVER_CONNECTIONS = 3  # fewer than the clients and the server's threads: connections change hands


@pytest.fixture
def pooler() -> Iterator[tuple[str, int]]:
    """PgBouncer on a free loopback port in front of the test database's server: (URL, port)."""
    database_url = server_environment()["DATABASE_URL"]
    port = pgbouncer.free_port()
    with tempfile.TemporaryDirectory() as directory:
        config = pgbouncer.write_config(
            Path(directory), database_url=database_url, port=port, pool_size=SERVER_CONNECTIONS, stats_period=1
        )
        process = pgbouncer.start(config)
        try:
            url = pgbouncer.pooled_url(database_url, port)
            for _ in range(100):
                try:
                    psycopg.connect(url, connect_timeout=2).close()
                    break
                except psycopg.OperationalError:
                    assert process.poll() is None, (config.parent / "pgbouncer.log").read_text()
                    time.sleep(0.1)
            yield url, port
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def two_businesses(django_db_setup, django_db_blocker) -> Iterator[list[tuple[conftest.TestTenant, set[str]]]]:
    """Two committed businesses, each with customers named after it: (tenant, its names)."""
    with django_db_blocker.unblock():
        businesses = []
        try:
            for letter in "xy":
                tenant = conftest.provision_test_tenant(f"pool{letter}-{uuid.uuid4().hex[:10]}")
                names = {f"{tenant.slug} customer {n}" for n in range(5)}
                with tenant_context(tenant.tenant):
                    Customer.objects.bulk_create(Customer(name=name) for name in names)
                businesses.append((tenant, names))
            connection.set_schema_to_public()
            yield businesses
        finally:
            for tenant, _ in businesses:
                conftest.delete_test_tenant(tenant.slug)


def transactions(port: int) -> int:
    """PgBouncer's count of transactions it passed to the test database so far."""
    database = server_environment()["DATABASE_URL"].rsplit("/", 1)[1]
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/pgbouncer", autocommit=True) as admin:
        cursor = admin.execute("SHOW STATS")
        columns = [column.name for column in cursor.description or ()]
        stats = {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}
    return int(stats[database]["total_xact_count"])


def test_interleaved_tenants_through_the_pooler_never_read_each_others_rows(pooler, two_businesses):
    url, port = pooler
    database = server_environment()["DATABASE_URL"].rsplit("/", 1)[1]
    before = transactions(port)
    foreign, answered, failures = [], [], []
    with gunicorn_servers(1, DATABASE_URL=url, DB_POOL="false", WEB_THREADS=str(CLIENTS)) as (server,):

        def client(offset: int) -> None:
            # Each client alternates the two businesses, starting with a different one.
            turns = itertools.islice(
                itertools.cycle(two_businesses[offset % 2 :] + two_businesses[: offset % 2]), REQUESTS_PER_CLIENT
            )
            for tenant, names in turns:
                status, body = server.json("GET", "/customers?limit=200", host=tenant.host, token=tenant.owner_token)
                if status != 200:
                    failures.append((tenant.slug, status, body))
                    continue
                seen = {row["name"] for row in body["items"]}
                answered.append(seen == names)
                foreign.extend(seen - names)

        threads = [threading.Thread(target=client, args=(offset,)) for offset in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # Fewer PostgreSQL connections than clients served them.
        assert pgbouncer.server_connections(port, database) <= SERVER_CONNECTIONS

    assert failures == []
    assert foreign == []
    assert answered == [True] * CLIENTS * REQUESTS_PER_CLIENT
    # The requests really went through the pooler (its totals move every second).
    time.sleep(2)
    assert transactions(port) - before >= CLIENTS * REQUESTS_PER_CLIENT
