"""The docs page and the admin work without internet: every asset they load comes from this
server (WhiteNoise), under the same gunicorn that `make run` starts."""

import http.client
import re
from html.parser import HTMLParser

from tests.servers import gunicorn_servers


class _AssetLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value and tag in ("script", "link", "img"):
                self.links.append(value)


def _get(server, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": "localhost"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_docs_and_admin_assets_are_served_locally(django_db_setup):
    with gunicorn_servers(1) as (server,):
        status, page = _get(server, "/api/v1/docs")
        assert status == 200
        parser = _AssetLinks()
        parser.feed(page.decode())
        # Inline scripts aside, nothing is fetched from another host.
        assert parser.links, "the docs page loads no assets at all"
        assert [link for link in parser.links if re.match(r"^(https?:)?//", link)] == []
        assert any("swagger-ui-bundle" in link for link in parser.links)
        for link in parser.links:
            status, body = _get(server, link)
            assert status == 200, link
            assert body

        status, css = _get(server, "/static/admin/css/base.css")
        assert status == 200
        assert b"body" in css
