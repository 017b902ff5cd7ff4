"""Test overrides: set before the settings module reads the environment."""

import os
import uuid

os.environ.setdefault("TESTING", "1")
os.environ.setdefault("DRAMATIQ_STUB_BROKER", "1")
# A fresh Redis namespace per run, so parallel runs and earlier runs never share keys.
os.environ.setdefault("REDIS_KEY_PREFIX", f"test-{uuid.uuid4().hex[:12]}")
# Generous limits; the rate-limit tests lower them explicitly.
os.environ.setdefault("RATE_LIMIT_LOGIN", "1000")
os.environ.setdefault("RATE_LIMIT_REGISTER", "1000")
os.environ.setdefault("RATE_LIMIT_REFRESH", "1000")
os.environ.setdefault("TENANT_POOL_SIZE", "0")
# Room for the racing tests' parallel connections (up to 20 threads) next to the test's own.
os.environ.setdefault("DB_POOL_MAX", "40")
# Custom-domain checks never reach the real DNS: a closed loopback port answers "refused" at
# once or times out soon (tests that verify a domain point this at tests/dns_server.py).
os.environ.setdefault("DOMAIN_VERIFICATION_NAMESERVERS", "127.0.0.1:9")
os.environ.setdefault("DOMAIN_VERIFICATION_TIMEOUT", "0.5")
# Webhook targets likewise (tests that resolve a name point this at tests/dns_server.py).
os.environ.setdefault("WEBHOOK_NAMESERVERS", "127.0.0.1:9")
os.environ.setdefault("WEBHOOK_DNS_TIMEOUT", "0.5")

from config.settings import *  # noqa: F403

# Session-wide test tenants keep their tokens for the whole run.
JWT_EXPIRES_IN = timedelta(hours=6)  # noqa: F405
# The racing tests' threads wait for pooled connections on a loaded 2-core machine, where a new
# backend can take over a second to start: deployed processes answer 503 after a second's wait
# (the outage tests cover that, the drills in their own processes), the test process waits longer.
if "pool" in DATABASES["default"]["OPTIONS"]:  # noqa: F405
    DATABASES["default"]["OPTIONS"]["pool"]["timeout"] = 10.0  # noqa: F405
