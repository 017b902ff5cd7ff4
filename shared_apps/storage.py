"""The one door to object storage (S3, R2, MinIO; locally devtools/s3_server.py): Django's
default storage (django-storages' S3 backend, configured by the S3_* settings) and its boto3
client for what the storage API lacks (presigned uploads, ranges, listing a prefix).

Every key is under the tenant's prefix, `<S3_KEY_PREFIX>/<schema>/`; rows keep the part
after it, so a business exported and imported under another schema keeps its rows as they
are. Access is decided by the rows (who may read which attachment), never by a key: a key
from a request is never used. Storage failures raise `ProviderUnavailable` (503); every
call has the client's timeouts (S3_TIMEOUT) and two retries."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, partial
from typing import Any, TypeVar, cast
from urllib.parse import quote

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import connection
from storages.backends.s3 import S3Storage

from shared_apps.errors import ProviderUnavailable

_MISSING = {"404", "NoSuchKey", "NotFound"}
T = TypeVar("T")


@cache
def storage() -> S3Storage:
    """Django's S3 storage with our timeouts (one per process; boto3 clients are thread-safe)."""
    options: dict[str, Any] = dict(settings.STORAGES["default"]["OPTIONS"])  # type: ignore[index]  # a dict of dicts
    options["client_config"] = Config(
        s3={"addressing_style": settings.S3_ADDRESSING_STYLE},
        signature_version="s3v4",
        connect_timeout=settings.S3_TIMEOUT,
        read_timeout=settings.S3_TIMEOUT,
        retries={"max_attempts": 3, "mode": "standard"},
    )
    return S3Storage(**options)


def _client() -> Any:
    return storage().connection.meta.client


def tenant_prefix(schema_name: str | None = None) -> str:
    """Where the tenant's objects live (the active schema's unless named)."""
    schema = schema_name or connection.schema_name  # type: ignore[attr-defined]  # django-tenants' database backend
    return f"{settings.S3_KEY_PREFIX}/{schema}/"


def full_key(relative_key: str, *, schema_name: str | None = None) -> str:
    return tenant_prefix(schema_name) + relative_key


@dataclass(frozen=True)
class StoredObject:
    size: int
    content_type: str


def _unavailable(error: Exception) -> ProviderUnavailable:
    return ProviderUnavailable(f"File storage did not answer: {type(error).__name__}.", code="storage_unavailable")


_UNSET: Any = object()


def _call(operation: Callable[[], T], *, missing: Any = _UNSET) -> T:
    """Run one storage call: `missing` answers for an object that is not there (when given),
    any other failure is ProviderUnavailable."""
    try:
        return operation()
    except ClientError as error:
        if missing is not _UNSET and str(error.response.get("Error", {}).get("Code")) in _MISSING:
            return cast(T, missing)
        raise _unavailable(error) from error
    except BotoCoreError as error:
        raise _unavailable(error) from error


def presigned_upload(relative_key: str, *, content_type: str, max_bytes: int, expires_in: int) -> dict[str, Any]:
    """A browser POST form for one object: the signed policy pins the key and the Content-Type
    and caps the size, so storage itself refuses anything else (`{url, fields}`)."""
    form = _call(
        lambda: _client().generate_presigned_post(
            Bucket=settings.S3_BUCKET,
            Key=full_key(relative_key),
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in,
        )
    )
    return dict(form)


def presigned_download(relative_key: str, *, expires_in: int, filename: str, content_type: str) -> str:
    """A GET URL valid `expires_in` seconds that saves the object under `filename`."""
    disposition = "attachment; filename*=UTF-8''" + quote(filename, safe="")
    params = {
        "Bucket": settings.S3_BUCKET,
        "Key": full_key(relative_key),
        "ResponseContentDisposition": disposition,
        "ResponseContentType": content_type,
    }
    return str(_call(lambda: _client().generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)))


def head(relative_key: str, *, schema_name: str | None = None) -> StoredObject | None:
    """Size and type of an object, None when there is none."""
    key = full_key(relative_key, schema_name=schema_name)
    answer = _call(lambda: _client().head_object(Bucket=settings.S3_BUCKET, Key=key), missing=None)
    if answer is None:
        return None
    return StoredObject(size=int(answer["ContentLength"]), content_type=str(answer.get("ContentType") or ""))


def read(relative_key: str, *, schema_name: str | None = None, max_bytes: int | None = None) -> bytes | None:
    """The object's bytes (at most `max_bytes`, by a Range request), None when there is none."""
    params: dict[str, Any] = {"Bucket": settings.S3_BUCKET, "Key": full_key(relative_key, schema_name=schema_name)}
    if max_bytes is not None:
        params["Range"] = f"bytes=0-{max_bytes - 1}"
    return _call(lambda: bytes(_client().get_object(**params)["Body"].read()), missing=None)


def write(relative_key: str, content: bytes, *, content_type: str, schema_name: str | None = None) -> None:
    key = full_key(relative_key, schema_name=schema_name)
    _call(lambda: _client().put_object(Bucket=settings.S3_BUCKET, Key=key, Body=content, ContentType=content_type))


def delete(*relative_keys: str, schema_name: str | None = None) -> None:
    """Delete objects (missing ones are no error)."""
    keys = [full_key(key, schema_name=schema_name) for key in relative_keys if key]
    _delete_full_keys(keys)


def _delete_full_keys(keys: list[str]) -> None:
    for start in range(0, len(keys), 1000):  # S3's limit per DeleteObjects call
        batch: dict[str, Any] = {"Objects": [{"Key": key} for key in keys[start : start + 1000]], "Quiet": True}
        _call(partial(_client().delete_objects, Bucket=settings.S3_BUCKET, Delete=batch))


def list_objects(*, schema_name: str | None = None, prefix: str = "") -> Iterator[tuple[str, int]]:
    """(relative key, size) of every object of a tenant (whose relative key starts with `prefix`)."""
    root = tenant_prefix(schema_name)
    try:
        pages = _client().get_paginator("list_objects_v2").paginate(Bucket=settings.S3_BUCKET, Prefix=root + prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield str(item["Key"])[len(root) :], int(item["Size"])
    except (BotoCoreError, ClientError) as error:
        raise _unavailable(error) from error


def delete_tenant_objects(*, schema_name: str) -> int:
    """Delete every object of a tenant; answers how many there were."""
    keys = [full_key(key, schema_name=schema_name) for key, _ in list_objects(schema_name=schema_name)]
    _delete_full_keys(keys)
    return len(keys)
