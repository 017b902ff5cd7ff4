"""Django's PostgreSQL backend with a pool that hands out the most recently returned
connection first (django-tenants' backend wraps it: ORIGINAL_BACKEND in settings).

psycopg_pool hands connections out in turn (FIFO), so a light load spreads over every pooled
connection, and each PostgreSQL backend has to load each tenant schema's catalog entries
(tables, indexes, statistics) for itself: with 1,000 tenants and 4 connections, a rotation
over every tenant kept hitting cold (backend, schema) pairs (bench/scale.py). Handing out the
most recent one first keeps a light load on as few connections as it needs, warm for every
tenant, and leaves the others idle, where psycopg_pool's max_idle closes them.
"""

from typing import Any

from django.conf import settings
from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool


class MostRecentFirstPool(ConnectionPool):
    def _get_ready_connection(self, timeout: float | None) -> Any:
        # Called under the pool's lock; the most recently returned connection is at the right.
        # Rotating keeps the least recently used at the left, where shrinking takes from.
        if self._pool:
            self._pool.rotate(1)
        return super()._get_ready_connection(timeout)


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self) -> ConnectionPool | None:
        pool_options = self.settings_dict["OPTIONS"].get("pool")
        if not pool_options or not settings.DB_POOL_MOST_RECENT_FIRST or self.alias in self._connection_pools:
            return super().pool
        # As Django builds its pool (django/db/backends/postgresql/base.py), with our class.
        connect_kwargs = self.get_connection_params()
        connect_kwargs["autocommit"] = True
        pool = MostRecentFirstPool(
            kwargs=connect_kwargs,
            open=False,
            configure=self._configure_connection,
            check=ConnectionPool.check_connection if self.settings_dict["CONN_HEALTH_CHECKS"] else None,
            **({} if pool_options is True else pool_options),
        )
        self._connection_pools.setdefault(self.alias, pool)
        return self._connection_pools[self.alias]
