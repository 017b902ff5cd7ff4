"""Access tokens that stop working before they expire: those of a session that logged out
(or whose refresh token was replayed) and the one presented to log out.

A revoked session id and jti are kept in Redis until the longest access token could expire
(JWT_EXPIRES_IN), and every authenticated request reads both in one round trip (no SQL). While
Redis is unreachable the check reads the database instead (one query: is a refresh token of
the session revoked?), so a logged-out session stays out; a logout made while Redis is away
is recorded in the database only, so its tokens are refused while Redis stays away and again
work, until they expire (JWT_EXPIRES_IN at most), once it is back."""

from typing import cast

from django.conf import settings

from shared_apps.accounts.models import RefreshToken
from shared_apps.accounts.tokens import AccessClaims
from shared_apps.redis_client import fail_open, redis_client


def _session_key(session: str) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:revoked:session:{session}"


def _jti_key(jti: str) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:revoked:jti:{jti}"


def revoke_access_tokens(*, session: str | None, jti: str | None = None) -> None:
    """Refuse from now on every access token of `session`, and the token `jti`."""
    keys = [key for key in (session and _session_key(session), jti and _jti_key(jti)) if key]
    if not keys:
        return
    ttl = int(settings.JWT_EXPIRES_IN.total_seconds()) + 1

    def write() -> None:
        pipeline = redis_client().pipeline()
        for key in keys:
            pipeline.set(key, 1, ex=ttl)
        pipeline.execute()

    fail_open(write, fallback=lambda: None, what="revoke access tokens")


def is_access_revoked(claims: AccessClaims) -> bool:
    """Whether the token's session logged out or the token itself was revoked."""
    keys = [_jti_key(claims.jti), *([_session_key(claims.session)] if claims.session else [])]
    return fail_open(
        lambda: any(cast(list, redis_client().mget(keys))),
        fallback=lambda: _session_revoked_in_database(claims.session),
        what="access token revocation",
    )


def _session_revoked_in_database(session: str | None) -> bool:
    if session is None:
        return False
    return RefreshToken.objects.filter(family=session, revoked_at__isnull=False).exists()
