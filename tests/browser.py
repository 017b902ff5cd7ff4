"""Pages in a real browser: Debian's Chromium (`/usr/bin/chromium`, driven through its own
`chromedriver` by Selenium) on a phone-sized window, against this app served in a thread on a
free port. What the pages show is committed data (use `committed_tenant` and `unblocked_db`),
since the server thread reads through its own connection. Screenshots of each step are kept
under .local/screenshots/<test name>/ (git-ignored), or under BROWSER_SCREENSHOTS."""

import base64
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test import override_settings
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from config.settings import BASE_DIR
from tests.servers import serving_in_thread

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# A common phone's viewport (CSS pixels) at its device pixel ratio.
PHONE_WIDTH, PHONE_HEIGHT, PHONE_PIXEL_RATIO = 390, 844, 3
SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS") or BASE_DIR / ".local" / "screenshots")


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """The test's output stays the test's."""


@pytest.fixture
def live_app(unblocked_db) -> Iterator[int]:
    """This app on a free loopback port, one request at a time; links it makes (pay links,
    hub links) name that port. Answers the port: a business's pages are at
    http://<slug>.localhost:<port>/ (Chromium sends every *.localhost name to the loopback)."""
    server: WSGIServer = make_server("127.0.0.1", 0, WSGIHandler(), handler_class=_QuietHandler)
    with override_settings(PORT=server.server_port, PUBLIC_BASE_URL=""), serving_in_thread(server):
        yield server.server_port


@dataclass
class Phone:
    """A browser the size of a phone, and where its screenshots go."""

    driver: webdriver.Chrome
    folder: Path
    shots: list[Path] = field(default_factory=list)

    def open(self, url: str) -> None:
        self.driver.get(url)

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def click_text(self, text: str) -> None:
        """Click the link or button whose visible text is `text`."""
        for element in self.find_all("a, button"):
            if element.text.strip() == text:
                element.click()
                return
        raise AssertionError(f"no link or button {text!r} on {self.driver.current_url}")

    @property
    def text(self) -> str:
        return self.find("body").text

    @property
    def url(self) -> str:
        return self.driver.current_url

    def screenshot(self, name: str) -> Path:
        """The whole page as the phone lays it out, scrolled parts included (Chromium's own
        capture), numbered in the order taken."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{len(self.shots) + 1:02d}-{name}.png"
        size = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        self.shots.append(path)
        return path

    def page_width(self) -> int:
        """How wide the page is laid out (wider than the window: the phone scrolls sideways)."""
        return int(self.driver.execute_script("return document.documentElement.scrollWidth"))


def phone_options() -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        f"--window-size={PHONE_WIDTH},{PHONE_HEIGHT}",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "mobileEmulation",
        {"deviceMetrics": {"width": PHONE_WIDTH, "height": PHONE_HEIGHT, "pixelRatio": PHONE_PIXEL_RATIO}},
    )
    return options


@pytest.fixture
def phone(request: pytest.FixtureRequest) -> Iterator[Phone]:
    """Chromium as a phone; its screenshots under SCREENSHOTS/<test name>/ (printed at the end)."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: apt-get install chromium chromium-driver (.ci/run does)")
    folder = SCREENSHOTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    for old in folder.glob("*.png"):
        old.unlink()
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=phone_options())
    driver.set_page_load_timeout(30)
    taken = Phone(driver=driver, folder=folder)
    try:
        yield taken
    finally:
        driver.quit()
        if taken.shots:
            print(f"\nscreenshots: {folder}")
