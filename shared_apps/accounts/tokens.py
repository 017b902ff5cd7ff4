"""Access tokens (JWT) and refresh tokens (opaque, stored hashed, rotated)."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from django.conf import settings

from shared_apps.errors import NotAuthenticated


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    tenant: str | None
    role: str | None
    jti: str
    # The session (refresh-token family) the token was issued in; None in tokens from before.
    session: str | None = None
    # When the token stops being accepted (a live socket closes then unless it is handed a
    # fresh one); None only for claims built by hand.
    expires_at: datetime | None = None


def issue_access_token(*, user_id: int, tenant_schema: str | None, role: str | None, session: str | None = None) -> str:
    now = datetime.now(tz=UTC)
    payload: dict[str, Any] = {
        "sub": str(user_id),
        "tenant": tenant_schema,
        "role": role,
        "iat": now,
        "exp": now + settings.JWT_EXPIRES_IN,
        "jti": uuid.uuid4().hex,
        "type": "access",
        "sid": session,
    }
    return jwt.encode(payload, settings.JWT_SECRET, algorithm=settings.JWT_ALGORITHM)


def decode_access_token(token: str) -> AccessClaims:
    """Verify signature, expiry and shape. Only the configured algorithm is accepted, so
    `alg: none` and algorithm-confusion tokens fail here."""
    try:
        payload = jwt.decode(
            token,
            settings.JWT_SECRET,
            algorithms=[settings.JWT_ALGORITHM],
            options={"require": ["exp", "iat", "sub", "jti", "type"]},
        )
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("The access token has expired.", code="token_expired") from None
    except jwt.PyJWTError:
        raise NotAuthenticated("The access token is invalid.", code="token_invalid") from None
    if payload.get("type") != "access":
        raise NotAuthenticated("Not an access token.", code="token_invalid")
    try:
        user_id = int(payload["sub"])
    except (TypeError, ValueError):
        raise NotAuthenticated("The access token is invalid.", code="token_invalid") from None
    tenant = payload.get("tenant")
    role = payload.get("role")
    session = payload.get("sid")
    if not all(isinstance(value, str | None) for value in (tenant, role, session)):
        raise NotAuthenticated("The access token is invalid.", code="token_invalid")
    return AccessClaims(
        user_id=user_id,
        tenant=tenant,
        role=role,
        jti=str(payload["jti"]),
        session=session,
        expires_at=datetime.fromtimestamp(payload["exp"], tz=UTC),
    )


def new_refresh_token() -> tuple[str, str]:
    """A random refresh token and the digest stored in its place."""
    raw = secrets.token_urlsafe(48)
    return raw, hash_refresh_token(raw)


def hash_refresh_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# Invitation tokens are opaque secrets stored as digests, exactly like refresh tokens.
hash_invitation_token = hash_refresh_token


def new_invitation_token() -> tuple[str, str]:
    """A random invitation token and the digest stored in its place."""
    raw = secrets.token_urlsafe(32)
    return raw, hash_invitation_token(raw)
