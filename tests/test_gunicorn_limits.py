"""gunicorn (deploy/gunicorn.conf.py) refuses what it cannot parse before Django sees it; those
answers come in the API's error envelope like every other error. A request line up to 8190
bytes is served; a longer one is 414."""

import json
import socket

import pytest

from tests.servers import gunicorn_servers


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), gunicorn_servers(1) as servers:
        yield servers[0]


def raw_request(port: int, request_line: str, headers: str = "Host: localhost\r\n") -> tuple[str, dict, dict]:
    """(status line, headers, parsed JSON body) of one raw HTTP/1.1 request."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"{request_line}\r\n{headers}Connection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode().split("\r\n")
    fields = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status, fields, json.loads(body)


def test_a_request_line_past_the_limit_answers_414_in_the_envelope(server):
    status, headers, body = raw_request(server.port, f"GET /api/v1/customers?search={'x' * 9000} HTTP/1.1")

    assert status.startswith("HTTP/1.1 414")
    assert headers["content-type"] == "application/json"
    assert body["statusCode"] == 414
    assert set(body) == {"statusCode", "timestamp", "message", "errors", "path", "requestId"}
    assert headers["x-request-id"] == body["requestId"]


def test_a_long_query_within_the_limit_is_served(server):
    status, _, body = raw_request(server.port, f"GET /api/v1/health?pad={'x' * 6000} HTTP/1.1")

    assert status.startswith("HTTP/1.1 200"), body
    assert body == {"status": "ok"}


def test_headers_past_the_limit_answer_431_in_the_envelope(server):
    many = "".join(f"X-Pad-{n}: 1\r\n" for n in range(200))
    status, headers, body = raw_request(server.port, "GET /api/v1/health HTTP/1.1", f"Host: localhost\r\n{many}")

    assert status.startswith("HTTP/1.1 431")
    assert headers["content-type"] == "application/json"
    assert body["statusCode"] == 431
