"""The one settings module. Every value comes from an environment variable with a safe
development default; production refuses to start with a default secret."""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
IS_PRODUCTION = DJANGO_ENV == "production"


def _checkout_env() -> dict[str, str]:
    """In a development checkout, its embedded servers and sandboxes (.local/ports.json, written
    by `make run` / `make test`) are the defaults, so `manage.py ...` run by hand finds them.
    Imported here, not at the top: the production image leaves devtools/ out."""
    from devtools import devservices

    return devservices.checkout_env()


_CHECKOUT = _checkout_env() if DJANGO_ENV == "development" else {}
TESTING = env.bool("TESTING", default=False)

DEV_SECRET = "dev-only-secret-change-me-0123456789abcdef"  # noqa: S105 - refused in production
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET)
JWT_SECRET = env.str("JWT_SECRET", default=DEV_SECRET)
JWT_ALGORITHM = "HS256"
JWT_EXPIRES_IN = timedelta(seconds=env.int("JWT_EXPIRES_IN", default=900))
REFRESH_TOKEN_EXPIRES_IN = timedelta(seconds=env.int("REFRESH_TOKEN_EXPIRES_IN", default=30 * 24 * 3600))

if IS_PRODUCTION and DEV_SECRET in (SECRET_KEY, JWT_SECRET):
    raise ImproperlyConfigured("DJANGO_ENV=production needs SECRET_KEY and JWT_SECRET set to real secrets.")
if IS_PRODUCTION and len(JWT_SECRET) < 32:
    raise ImproperlyConfigured("JWT_SECRET must be at least 32 characters in production.")

DEBUG = env.bool("DEBUG", default=not IS_PRODUCTION and not TESTING)

BASE_DOMAIN = env.str("BASE_DOMAIN", default="localhost")
# Hosts that serve the API host's routes besides BASE_DOMAIN itself (127.0.0.1 in development).
API_HOST_ALIASES = env.list("API_HOST_ALIASES", default=[] if IS_PRODUCTION else ["127.0.0.1", "testserver"])
# The hosts we serve: the API host, every `<slug>.<BASE_DOMAIN>`, the aliases and tenants' own
# verified domains (the Domain table). The last cannot be a static list, so Django's check
# admits every host and api.middleware.AllowedHostsMiddleware, first in the chain, refuses
# (400) a host that is neither one of these patterns nor a row of the Domain table.
TENANT_HOST_PATTERNS = [BASE_DOMAIN, f".{BASE_DOMAIN}", *API_HOST_ALIASES]
ALLOWED_HOSTS = ["*"]
PORT = env.int("PORT", default=8000)

SHARED_APPS = [
    # Before django_tenants so our create_tenant (accounts: a tenant with its owner's
    # invitation) and delete_tenant (tenants: pool-aware, all-or-nothing) commands take
    # precedence over django-tenants' commands of the same names.
    "shared_apps.tenants",
    "shared_apps.accounts",
    "django_tenants",
    "shared_apps.observability",
    "shared_apps.outbox",
    "shared_apps.events",
    "shared_apps.audit",
    "shared_apps.flags",
    "shared_apps.stats",
    "shared_apps.idempotency",
    "shared_apps.webhooks",
    "shared_apps.realtime",
    # Needed for OpClass() in expression indexes (it registers the index wrapper) and range lookups.
    "django.contrib.postgres",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Django admin with PublicHostOnlyAdminSite as its site: platform admins, API host only.
    "shared_apps.tenants.apps.PlatformAdminConfig",
    "django.contrib.staticfiles",
    # Listed so /api/v1/docs renders Swagger UI from ninja's bundled static files, not a CDN.
    "ninja",
    "corsheaders",
    "tasks",
]
# Apps whose tables live in every tenant schema.
TENANT_APPS = [
    "tenant_apps.files",
    "tenant_apps.customers",
    "tenant_apps.pricebook",
    "tenant_apps.appointments",
    "tenant_apps.billing",
    "tenant_apps.quotes",
    "tenant_apps.invoices",
    "tenant_apps.payments",
    "tenant_apps.sms",
    "tenant_apps.voice",
    "tenant_apps.bookings",
    "tenant_apps.work_requests",
    "tenant_apps.search",
    "tenant_apps.notifications",
    "tenant_apps.integrations",
    "tenant_apps.portal",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# One `SET search_path` per request instead of one per query.
TENANT_LIMIT_SET_CALLS = True
TENANT_POOL_SIZE = env.int("TENANT_POOL_SIZE", default=3)
# How long a process trusts its cached host -> tenant lookup while Redis does not answer;
# while it does, a change in any process invalidates at once (shared_apps/tenants/queries.py),
# and an entry is kept up to TENANT_CACHE_VERIFIED_SECONDS, so rotating over many tenants hits.
TENANT_CACHE_SECONDS = env.int("TENANT_CACHE_SECONDS", default=5)
TENANT_CACHE_VERIFIED_SECONDS = env.int("TENANT_CACHE_VERIFIED_SECONDS", default=300)
# Hosts (and, separately, schemas) cached per process, least recently used dropped first: more
# than one rotation over 10,000 businesses, so a business not served for a while still hits
# (a few KB each: bounded at some tens of MB per process; deploy/SCALING.md).
TENANT_CACHE_MAX_ENTRIES = env.int("TENANT_CACHE_MAX_ENTRIES", default=20000)
# Dropped on every change (shared_apps/accounts/services.py): the lifetime only bounds a missed
# drop (Redis down during the change), and outlasts a rotation over 10,000 businesses.
MEMBERSHIP_CACHE_SECONDS = env.int("MEMBERSHIP_CACHE_SECONDS", default=600)
# A deleted tenant is suspended at once; its schema is dropped this many days later.
TENANT_DELETION_GRACE_DAYS = env.int("TENANT_DELETION_GRACE_DAYS", default=30)
# Custom domains: the TXT record that proves a tenant controls its domain is looked up through
# these name servers ("ip" or "ip:port"; empty: the system's resolver), for at most this long.
DOMAIN_VERIFICATION_NAMESERVERS = env.list("DOMAIN_VERIFICATION_NAMESERVERS", default=[])
DOMAIN_VERIFICATION_TIMEOUT = env.float("DOMAIN_VERIFICATION_TIMEOUT", default=3.0)
MAX_CUSTOM_DOMAINS = env.int("MAX_CUSTOM_DOMAINS", default=10)
# Recurring visits are booked this many days ahead (a daily job moves the horizon on).
APPOINTMENT_SERIES_HORIZON_DAYS = env.int("APPOINTMENT_SERIES_HORIZON_DAYS", default=90)
# The audit trail keeps this many days; a daily job deletes what is older (docs/audit.md).
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=400)
# Feature flags: a process re-reads them at least this often even if a change's publish to
# Redis was lost (while Redis answers, a change is seen at the next check; docs/flags.md).
FLAGS_CACHE_SECONDS = env.int("FLAGS_CACHE_SECONDS", default=30)

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

MIDDLEWARE = [
    "api.middleware.RequestIdMiddleware",
    "api.middleware.AllowedHostsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's CSS, Swagger UI) from this process, for any host, before tenancy.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "api.middleware.ErrorEnvelopeMiddleware",
    "api.middleware.NulCharacterMiddleware",
    "api.tenancy.TenantResolutionMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASE_URL = env.str(
    "DATABASE_URL", default=_CHECKOUT.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/servicedesk")
)
_db = env.db_url_config(DATABASE_URL)
_db["ENGINE"] = "django_tenants.postgresql_backend"
# An unreachable database fails a connection attempt after connect_timeout (libpq counts whole
# seconds, 2 at least; a refused connection fails at once).
_db["OPTIONS"] = {"connect_timeout": env.int("DB_CONNECT_TIMEOUT", default=2), **_db.get("OPTIONS", {})}
# Django's own psycopg pool: a long-lived connection per worker thread, no reconnect per request.
# django-environ cannot express the pool in the URL, so it is set here.
# Commands that fork (migrate_schemas --executor=multiprocessing) set DB_POOL=false: a pool's
# background threads do not survive fork().
# With the database down a request waits at most DB_POOL_TIMEOUT for a connection, then answers
# 503 (api/errors.py). Health checks on checkout drop connections that died with a database
# restart, and a short reconnect_timeout restarts the pool's reconnection backoff, so the API
# recovers within seconds of the database coming back, without a restart.
if env.bool("DB_POOL", default=True):
    _db["CONN_MAX_AGE"] = 0
    _db["CONN_HEALTH_CHECKS"] = True
    _db["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": env.int("DB_POOL_MAX", default=8),
        "timeout": env.float("DB_POOL_TIMEOUT", default=1.0),
        "reconnect_timeout": 5.0,
    }
# django-tenants' backend wraps ours: a pool that hands out the most recently used connection
# first, so each connection does not have to warm up every tenant schema (config/postgresql).
ORIGINAL_BACKEND = "config.postgresql"
DB_POOL_MOST_RECENT_FIRST = env.bool("DB_POOL_MOST_RECENT_FIRST", default=True)
_db["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=None)}
DATABASES = {"default": _db}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default=_CHECKOUT.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
# Namespaces every Redis key of this deployment (tests use a fresh one per run).
REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", default="sd")
# Redis holds only what can be rebuilt, so it may be away: short socket timeouts bound what
# an unreachable server costs a request, and the caches fail open (shared_apps/redis_client.py).
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.5)
REDIS_CLIENT_OPTIONS = {"socket_connect_timeout": REDIS_SOCKET_TIMEOUT, "socket_timeout": REDIS_SOCKET_TIMEOUT}
CACHES = {
    # Tenant-aware: django-tenants prefixes each key with the active schema.
    "default": {
        "BACKEND": "shared_apps.redis_client.FailOpenRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "OPTIONS": REDIS_CLIENT_OPTIONS,
    },
    # Truly global keys (memberships, rate limits): callers put the tenant in the key.
    "global": {
        "BACKEND": "shared_apps.redis_client.FailOpenRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"{REDIS_KEY_PREFIX}:global",
        "OPTIONS": REDIS_CLIENT_OPTIONS,
    },
}

# Live updates over WebSockets (docs/realtime.md): the ASGI process beside gunicorn
# (`uvicorn config.asgi:application`), reading each business's event stream in Redis.
ASGI_APPLICATION = "config.asgi.application"
# Where `make run` serves it (`make prod` and production put it behind Caddy's /ws/).
REALTIME_PORT = env.int("REALTIME_PORT", default=PORT + 1)
# How long a business's events are kept for clients that reconnect, and at most how many.
REALTIME_RETENTION_SECONDS = env.int("REALTIME_RETENTION_SECONDS", default=3600)
REALTIME_MAX_STREAM_LENGTH = env.int("REALTIME_MAX_STREAM_LENGTH", default=10_000)
# A heartbeat message this often; membership, suspension and sign-out are checked again then.
REALTIME_HEARTBEAT_SECONDS = env.float("REALTIME_HEARTBEAT_SECONDS", default=25)
# A socket without a token in its protocol header must send one this soon after opening.
REALTIME_AUTH_TIMEOUT_SECONDS = env.float("REALTIME_AUTH_TIMEOUT_SECONDS", default=10)
# `token_expiring` is sent this long before the access token expires.
REALTIME_TOKEN_WARNING_SECONDS = env.float("REALTIME_TOKEN_WARNING_SECONDS", default=60)
# Messages waiting for one client; a client that lets more pile up, or takes longer than the
# timeout to take one, is dropped (close code 4008) so it never slows the others.
REALTIME_SEND_QUEUE = env.int("REALTIME_SEND_QUEUE", default=1000)
REALTIME_SEND_TIMEOUT_SECONDS = env.float("REALTIME_SEND_TIMEOUT_SECONDS", default=10)
REALTIME_MAX_CONNECTIONS_PER_TENANT = env.int("REALTIME_MAX_CONNECTIONS_PER_TENANT", default=200)
REALTIME_MAX_CONNECTIONS_PER_USER = env.int("REALTIME_MAX_CONNECTIONS_PER_USER", default=10)

# Per-IP limits as (requests, seconds).
RATE_LIMITS = {
    "login": (env.int("RATE_LIMIT_LOGIN", default=10), 60),
    "register": (env.int("RATE_LIMIT_REGISTER", default=5), 60),
    "refresh": (env.int("RATE_LIMIT_REFRESH", default=30), 60),
    # What a customer sends from their link, per customer and per IP (within the business).
    "booking_customer": (env.int("RATE_LIMIT_BOOKING_CUSTOMER", default=10), 3600),
    "booking_ip": (env.int("RATE_LIMIT_BOOKING_IP", default=30), 3600),
    "work_request_customer": (env.int("RATE_LIMIT_WORK_REQUEST_CUSTOMER", default=10), 3600),
    "work_request_ip": (env.int("RATE_LIMIT_WORK_REQUEST_IP", default=30), 3600),
}
# Number of proxies in front of us whose X-Forwarded-For entries are trusted.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOWED_ORIGIN_REGEXES = env.list(
    "CORS_ALLOWED_ORIGIN_REGEXES", default=[] if IS_PRODUCTION else [r"^http://([a-z0-9-]+\.)?localhost(:\d+)?$"]
)
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After"]
CORS_ALLOW_HEADERS = ["authorization", "content-type", "idempotency-key", "x-request-id"]

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = IS_PRODUCTION
CSRF_COOKIE_SECURE = IS_PRODUCTION
SECURE_HSTS_SECONDS = 31536000 if IS_PRODUCTION else 0
# Every tenant host is a subdomain served over TLS by Caddy (deploy/Caddyfile).
SECURE_HSTS_INCLUDE_SUBDOMAINS = IS_PRODUCTION
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=IS_PRODUCTION)
# Behind Caddy, which sets X-Forwarded-Proto (and replaces any the client sent).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if IS_PRODUCTION else None
SECURE_SSL_REDIRECT = IS_PRODUCTION
# Called over plain HTTP on the loopback: health checks, metrics scrapes and Caddy's
# on-demand TLS question (a redirect would read as "no").
SECURE_REDIRECT_EXEMPT = [r"^api/v1/(health|ready|metrics|tls/ask)$"]
METRICS_PUBLIC = env.bool("METRICS_PUBLIC", default=not IS_PRODUCTION)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves collectstatic's output (the image) and, where that was never run (a
# checkout under `make run` or `make prod`), the apps' own static directories.
WHITENOISE_USE_FINDERS = True

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# Error reports go to Sentry when set (shared_apps/observability/sentry.py); tracing is turned on by
# the standard OTEL_* variables alone (shared_apps/observability/tracing.py).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
# While traced, a SQL statement or Redis command quicker than this gets no span of its own: the
# request's or job's span counts them and their time (docs/observability.md). 0: a span each.
TRACING_CLIENT_SPAN_MIN_MS = env.float("TRACING_CLIENT_SPAN_MIN_MS", default=1.0)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "api.logging.RequestContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_context"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR", "propagate": True},
        "django.db.backends": {"level": "INFO", "propagate": True},
        # The SDK logs every request's headers at INFO.
        "twilio.http_client": {"level": "WARNING", "propagate": True},
        "stripe": {"level": "WARNING", "propagate": True},
    },
}

DRAMATIQ_BROKER_URL = REDIS_URL
# Set by tests: jobs run in-process through Dramatiq's StubBroker.
DRAMATIQ_STUB_BROKER = env.bool("DRAMATIQ_STUB_BROKER", default=False)
# An outbox job published this long ago that no worker has started is published again (the
# broker lost it); a worker runs only the first copy it takes (shared_apps/outbox).
OUTBOX_REPUBLISH_AFTER = timedelta(seconds=env.int("OUTBOX_REPUBLISH_AFTER", default=300))

# Providers: with no credentials, each provider uses its local sandbox backend.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
# Given to the front end with each PaymentIntent (Stripe.js confirms it on the connected account).
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="pk_test_sandbox")
# Stripe-Signature secrets, enforced in every mode: the platform account's endpoint and the
# Connect endpoint (direct charges on the businesses' accounts), each with the previous secret
# while a rolled one is still signing. Development defaults are in docs/operations.md so a client can sign.
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_WEBHOOK_SECRET_PREVIOUS = env.str("STRIPE_WEBHOOK_SECRET_PREVIOUS", default="")
STRIPE_CONNECT_WEBHOOK_SECRET = env.str(
    "STRIPE_CONNECT_WEBHOOK_SECRET", default="" if IS_PRODUCTION else "whsec_dev_connect"
)
STRIPE_CONNECT_WEBHOOK_SECRET_PREVIOUS = env.str("STRIPE_CONNECT_WEBHOOK_SECRET_PREVIOUS", default="")
# Where the SDK sends Stripe API calls while STRIPE_SECRET_KEY is unset (devtools/stripe_sandbox.py),
# and where that sandbox posts its signed events.
STRIPE_SANDBOX_URL = env.str("STRIPE_SANDBOX_URL", default=_CHECKOUT.get("STRIPE_SANDBOX_URL", "http://127.0.0.1:8012"))
STRIPE_SANDBOX_WEBHOOK_URL = env.str(
    "STRIPE_SANDBOX_WEBHOOK_URL", default=f"http://{BASE_DOMAIN}:{PORT}/api/v1/payments/webhook"
)
# The platform's cut of each card payment, in basis points of the amount (0: none).
PLATFORM_FEE_BPS = env.int("PLATFORM_FEE_BPS", default=0)
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
# Verifies X-Twilio-Signature in every mode. The development default is written in docs/operations.md so
# a local client can sign; production has none, and an empty token refuses every webhook.
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="" if IS_PRODUCTION else "dev-twilio-auth-token")
# Where the SDK sends Twilio API calls while TWILIO_ACCOUNT_SID is unset (devtools/twilio_sandbox.py).
TWILIO_SANDBOX_URL = env.str("TWILIO_SANDBOX_URL", default=_CHECKOUT.get("TWILIO_SANDBOX_URL", "http://127.0.0.1:8010"))
# The scheme and host providers call (https://api.example.com); signed webhook URLs are built
# from it. Unset: from the request, trusting X-Forwarded-Proto/Host only behind TRUSTED_PROXY_COUNT.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="")
VAPI_API_KEY = env.str("VAPI_API_KEY", default="")
# Checked on every Vapi webhook in every mode (X-Vapi-Secret, Bearer, or the HMAC key when
# VAPI_WEBHOOK_HMAC is true). Like TWILIO_AUTH_TOKEN: a development default, none in production.
VAPI_WEBHOOK_SECRET = env.str("VAPI_WEBHOOK_SECRET", default="" if IS_PRODUCTION else "dev-vapi-webhook-secret")
VAPI_WEBHOOK_HMAC = env.bool("VAPI_WEBHOOK_HMAC", default=False)
# The id of a Custom Credential in Vapi's dashboard holding VAPI_WEBHOOK_SECRET (Bearer or HMAC):
# every `server` we hand Vapi names it, so the secret never travels in a payload. Unset: the
# secret goes in the server's headers (X-Vapi-Secret), which cannot sign, hence HMAC needs it.
VAPI_SERVER_CREDENTIAL_ID = env.str("VAPI_SERVER_CREDENTIAL_ID", default="")
if VAPI_WEBHOOK_HMAC and not VAPI_SERVER_CREDENTIAL_ID:
    raise ImproperlyConfigured("VAPI_WEBHOOK_HMAC needs VAPI_SERVER_CREDENTIAL_ID: only a Vapi credential can sign.")
VAPI_API_URL = env.str("VAPI_API_URL", default="https://api.vapi.ai")
# Where Vapi API calls go while VAPI_API_KEY is unset (devtools/vapi_sandbox.py).
VAPI_SANDBOX_URL = env.str("VAPI_SANDBOX_URL", default=_CHECKOUT.get("VAPI_SANDBOX_URL", "http://127.0.0.1:8011"))

# Email (staff invitations) through Django's email framework. EMAIL_URL is django-environ's
# form, e.g. smtp+tls://user:password@smtp.example.com:587; unset, mail is printed to the console.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"no-reply@{BASE_DOMAIN}")
INVITATION_EXPIRES_IN = timedelta(seconds=env.int("INVITATION_EXPIRES_IN", default=7 * 24 * 3600))
# A customer's hub link (docs/portal.md) works this many days unless staff choose otherwise.
PORTAL_LINK_DAYS = env.int("PORTAL_LINK_DAYS", default=30)
# The link mailed to invitees, `{token}` replaced: the front end's page that POSTs the token to
# /api/v1/auth/accept-invite. In the fragment, the token never reaches servers' access logs.
INVITE_ACCEPT_URL = env.str("INVITE_ACCEPT_URL", default=f"http://{BASE_DOMAIN}:{PORT}/accept-invite#token={{token}}")
if "{token}" not in INVITE_ACCEPT_URL:
    raise ImproperlyConfigured("INVITE_ACCEPT_URL must contain {token}.")

# Outbound webhooks (tenant_apps/integrations, docs/webhooks.md). Signing secrets are stored
# encrypted with MultiFernet: the first of WEBHOOK_SECRET_KEYS (Fernet keys, comma-separated)
# encrypts, every one decrypts, so a key is rotated by putting a new one first and running
# `manage.py rotate_webhook_secret_keys`. Unset, a key derived from SECRET_KEY is used (and it
# always decrypts, so setting keys later and running the command moves every secret over).
WEBHOOK_SECRET_KEYS = [key for key in env.list("WEBHOOK_SECRET_KEYS", default=[]) if key]
# A 2xx within this many seconds is a success; nothing longer is waited for.
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)
# Attempts in flight at once per endpoint, so a slow one holds at most this many workers.
WEBHOOK_ENDPOINT_CONCURRENCY = env.int("WEBHOOK_ENDPOINT_CONCURRENCY", default=2)
# An endpoint failing every attempt for this long is disabled and its owners are emailed.
WEBHOOK_DISABLE_AFTER = timedelta(hours=env.int("WEBHOOK_DISABLE_AFTER_HOURS", default=48))
# After a secret is rotated, the old one signs too for this long.
WEBHOOK_SECRET_OVERLAP = timedelta(hours=env.int("WEBHOOK_SECRET_OVERLAP_HOURS", default=24))
# http:// and loopback targets (a receiver on the developer's machine, the tests' receivers);
# never in production, where targets are https and public.
WEBHOOK_ALLOW_LOOPBACK = env.bool("WEBHOOK_ALLOW_LOOPBACK", default=not IS_PRODUCTION)
if IS_PRODUCTION and WEBHOOK_ALLOW_LOOPBACK:
    raise ImproperlyConfigured("WEBHOOK_ALLOW_LOOPBACK must be off in production.")
# Name servers that resolve webhook targets (host:port; empty: the system's), and how long a
# lookup may take.
WEBHOOK_NAMESERVERS = env.list("WEBHOOK_NAMESERVERS", default=[])
WEBHOOK_DNS_TIMEOUT = env.float("WEBHOOK_DNS_TIMEOUT", default=3.0)

NINJA_PAGINATION_CLASS = "api.schemas.BoundedLimitOffsetPagination"
NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 200

# Files (attachments, stored PDFs) in S3-compatible storage through django-storages, so AWS S3,
# Cloudflare R2 or MinIO work unchanged. In a development checkout `make run` / `make test`
# start a local S3 server (devtools/s3_server.py) and these default to it.
S3_ENDPOINT_URL = env.str("S3_ENDPOINT_URL", default=_CHECKOUT.get("S3_ENDPOINT_URL", "")) or None
S3_BUCKET = env.str("S3_BUCKET", default=_CHECKOUT.get("S3_BUCKET", "servicedesk"))
S3_REGION = env.str("S3_REGION", default="us-east-1")
S3_ACCESS_KEY_ID = env.str("S3_ACCESS_KEY_ID", default=_CHECKOUT.get("S3_ACCESS_KEY_ID", "")) or None
S3_SECRET_ACCESS_KEY = env.str("S3_SECRET_ACCESS_KEY", default=_CHECKOUT.get("S3_SECRET_ACCESS_KEY", "")) or None
# "path" for endpoints on an IP or a host without bucket subdomains (the local server, MinIO).
S3_ADDRESSING_STYLE = env.str("S3_ADDRESSING_STYLE", default="path" if S3_ENDPOINT_URL else "virtual")
# Every call to storage gives up after these many seconds (connect, read), and retries twice.
S3_TIMEOUT = env.float("S3_TIMEOUT", default=10.0)
# Objects of every tenant live under this prefix, then the tenant's schema name.
S3_KEY_PREFIX = env.str("S3_KEY_PREFIX", default="tenants")
STORAGES = {
    "default": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": S3_ENDPOINT_URL,
            "region_name": S3_REGION,
            "access_key": S3_ACCESS_KEY_ID,
            "secret_key": S3_SECRET_ACCESS_KEY,
            "addressing_style": S3_ADDRESSING_STYLE,
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": True,
            "max_memory_size": 8 * 1024 * 1024,
        },
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Attachments: uploads larger than this are refused (by the upload's signed policy, and again
# when it is completed); an upload URL is valid this long, a download URL this long; an upload
# never completed is deleted after ATTACHMENT_UPLOAD_SWEEP_AFTER seconds.
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=25 * 1024 * 1024)
ATTACHMENT_UPLOAD_URL_SECONDS = env.int("ATTACHMENT_UPLOAD_URL_SECONDS", default=15 * 60)
ATTACHMENT_DOWNLOAD_URL_SECONDS = env.int("ATTACHMENT_DOWNLOAD_URL_SECONDS", default=5 * 60)
ATTACHMENT_UPLOAD_SWEEP_AFTER = timedelta(seconds=env.int("ATTACHMENT_UPLOAD_SWEEP_AFTER", default=24 * 3600))
# A business's storage quota when it has set none of its own (bytes; 0: no limit).
ATTACHMENT_DEFAULT_QUOTA_BYTES = env.int("ATTACHMENT_DEFAULT_QUOTA_BYTES", default=5 * 1024**3)
# Inbound MMS media copied from Twilio: how long one download may take.
MMS_MEDIA_TIMEOUT = env.float("MMS_MEDIA_TIMEOUT", default=20.0)
