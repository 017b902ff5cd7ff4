"""The "new code" of a deploy in bench/migrate.py and bench/scale.py: the bench settings, with
customers' migrations read from the package `bench.migrate.write_new_migration` writes for the
run (the repository's migrations plus one new one, on PYTHONPATH)."""

import os

from bench.settings import *  # noqa: F403

MIGRATION_MODULES = {"customers": os.environ["BENCH_CUSTOMERS_MIGRATIONS"]}
