"""An HTTP client for the API that goes through every middleware (Ninja's TestClient skips
them), with a Host header and a bearer token."""

import json
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.test import Client


@dataclass(frozen=True)
class ApiClient:
    host: str = "testserver"
    token: str | None = None
    prefix: str = "/api/v1"
    remote_addr: str = "127.0.0.1"

    def with_token(self, token: str | None) -> "ApiClient":
        return replace(self, token=token)

    def on_host(self, host: str) -> "ApiClient":
        return replace(self, host=host)

    def from_address(self, remote_addr: str) -> "ApiClient":
        return replace(self, remote_addr=remote_addr)

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, **query: Any):
        extra = {"HTTP_HOST": self.host, "REMOTE_ADDR": self.remote_addr}
        if self.token:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        for name, value in (headers or {}).items():
            extra[f"HTTP_{name.upper().replace('-', '_')}"] = value
        url = path if path.startswith("/") and path.startswith(self.prefix) else f"{self.prefix}{path}"
        client = Client(raise_request_exception=False)
        if method == "GET":
            return client.get(url, data=query or None, **extra)
        data = body if isinstance(body, str | bytes) else json.dumps(body if body is not None else {})
        return getattr(client, method.lower())(url, data=data, content_type="application/json", **extra)

    def get(self, path: str, **query: Any):
        return self.request("GET", path, **query)

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None):
        return self.request("POST", path, body, headers)

    def patch(self, path: str, body: Any = None):
        return self.request("PATCH", path, body)

    def put(self, path: str, body: Any = None):
        return self.request("PUT", path, body)

    def delete(self, path: str):
        return self.request("DELETE", path)


def tenant_host(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"
