"""The URL a caller used to reach us, as a provider signs it (Twilio signs the full URL)."""

from django.conf import settings
from django.http import HttpRequest


def _forwarded(request: HttpRequest, header: str) -> str | None:
    """The value the outermost trusted proxy put in `header`: the TRUSTED_PROXY_COUNT-th entry
    from the right (a client can only prepend entries). None without trusted proxies."""
    if not settings.TRUSTED_PROXY_COUNT:
        return None
    entries = [part.strip() for part in request.headers.get(header, "").split(",") if part.strip()]
    if not entries:
        return None
    return entries[-min(settings.TRUSTED_PROXY_COUNT, len(entries))]


def public_request_url(request: HttpRequest) -> str:
    """PUBLIC_BASE_URL plus the path and query when configured; else the scheme and host of
    this request, from X-Forwarded-Proto/Host only when a trusted proxy set them (never from
    SECURE_PROXY_SSL_HEADER, which trusts the header without counting proxies)."""
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL.rstrip("/") + request.get_full_path()
    scheme = _forwarded(request, "X-Forwarded-Proto") or request.META.get("wsgi.url_scheme", "http")
    host = _forwarded(request, "X-Forwarded-Host") or request.get_host()
    return f"{scheme}://{host}{request.get_full_path()}"
