"""Settings for the server `bench/http.py` drives: production-like (no DEBUG), plus the bare
comparison endpoint in `bench/urls.py`."""

from config.settings import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "bench.urls"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
