"""Endpoint signing secrets: made in the Standard Webhooks form (`whsec_` + base64 of 24 random
bytes), stored encrypted with MultiFernet. The first key of WEBHOOK_SECRET_KEYS encrypts and
every key decrypts, so a new key is put first, `rotate_webhook_secret_keys` re-encrypts the
stored secrets, and the old key is then dropped. Without keys the key is derived from
SECRET_KEY."""

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings

SECRET_PREFIX = "whsec_"  # noqa: S105 - the public prefix of the form, not a secret
SECRET_BYTES = 24


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key_bytes(secret: str) -> bytes:
    """The HMAC key a `whsec_` secret stands for."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def _fernet() -> MultiFernet:
    """The configured keys, then the key derived from SECRET_KEY: it encrypts only while no key
    is configured, and keeps decrypting what it encrypted until the rotation command ran."""
    derived = base64.urlsafe_b64encode(hashlib.sha256(f"webhook-secrets:{settings.SECRET_KEY}".encode()).digest())
    return MultiFernet([Fernet(key) for key in [*settings.WEBHOOK_SECRET_KEYS, derived]])


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def reencrypt(token: str) -> str:
    """The same secret encrypted with the first key (MultiFernet.rotate)."""
    return _fernet().rotate(token.encode()).decode()
