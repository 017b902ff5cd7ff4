"""The connection pool hands out the most recently returned connection first (config/postgresql),
so a light load stays on one PostgreSQL backend, warm for every tenant schema."""

from django.db import connection
from psycopg_pool import ConnectionPool

from config.postgresql.base import MostRecentFirstPool


def backend_pid(conn) -> int:
    return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


def test_django_connections_come_from_the_most_recent_first_pool(db):
    assert type(connection.pool) is MostRecentFirstPool


def test_the_most_recently_returned_connection_is_handed_out_first(db):
    params = {**connection.get_connection_params(), "autocommit": True}
    with MostRecentFirstPool(kwargs=params, min_size=3, max_size=3, open=True) as pool:
        pool.wait()
        first, second, third = pool.getconn(), pool.getconn(), pool.getconn()
        pids = [backend_pid(conn) for conn in (first, second, third)]
        for conn in (first, second, third):
            pool.putconn(conn)

        handed_out = []
        for _ in range(4):  # a light load: one request at a time
            conn = pool.getconn()
            handed_out.append(backend_pid(conn))
            pool.putconn(conn)

        assert handed_out == [pids[2]] * 4
        # The least recently used stays first in line to be closed when the pool shrinks.
        assert [backend_pid(conn) for conn in pool._pool] == pids


def test_psycopg_pools_own_order_takes_turns(db):
    """What the subclass changes: the stock pool spreads even a light load over every connection."""
    params = {**connection.get_connection_params(), "autocommit": True}
    with ConnectionPool(kwargs=params, min_size=3, max_size=3, open=True) as pool:
        pool.wait()
        handed_out = set()
        for _ in range(3):
            conn = pool.getconn()
            handed_out.add(backend_pid(conn))
            pool.putconn(conn)
        assert len(handed_out) == 3
