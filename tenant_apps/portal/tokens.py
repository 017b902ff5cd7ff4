"""The token of a customer link: 18 random bytes and a MAC of them bound to the business's
schema, base64url (36 characters). The MAC turns away a forged token, or another business's,
before any query; the random part makes every link distinct. The database keeps only
`hash_token(token)`."""

import base64
import binascii
import hashlib
import secrets

from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "portal.customer-link"
_RANDOM_BYTES = 18
_MAC_BYTES = 9


def _mac(*, schema_name: str, random_part: bytes) -> bytes:
    return salted_hmac(_SALT, f"{schema_name}:{random_part.hex()}", algorithm="sha256").digest()[:_MAC_BYTES]


def new_token(*, schema_name: str) -> str:
    random_part = secrets.token_bytes(_RANDOM_BYTES)
    raw = random_part + _mac(schema_name=schema_name, random_part=random_part)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def is_signed_for(*, token: str, schema_name: str) -> bool:
    """Whether `token` is one this business made (its MAC checks out for `schema_name`)."""
    if len(token) > 64:
        return False
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return False
    if len(raw) != _RANDOM_BYTES + _MAC_BYTES:
        return False
    random_part, mac = raw[:_RANDOM_BYTES], raw[_RANDOM_BYTES:]
    return constant_time_compare(mac, _mac(schema_name=schema_name, random_part=random_part))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
