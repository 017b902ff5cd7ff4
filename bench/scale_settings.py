"""bench/scale.py's "new code": the bench settings plus one tenant app with one new migration."""

from bench.settings import *  # noqa: F403

TENANT_APPS = [*TENANT_APPS, "bench.scale_migration"]  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "bench.scale_migration"]  # noqa: F405
