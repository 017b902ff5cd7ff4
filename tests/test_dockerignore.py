"""The image build context (deploy/Dockerfile does `COPY . .`) leaves out the checkout's
private and bulky parts, read the way Docker reads .dockerignore."""

import fnmatch
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent


def _patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """(negated, regex) per line, in order: Go filepath.Match with `**`, as the Docker CLI does."""
    path = BASE_DIR / ".dockerignore"
    patterns = []
    for line in path.read_text().splitlines() if path.exists() else []:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        line = line.lstrip("!").strip("/")
        regex = ""
        for part in re.split(r"(\*\*/|\*\*|\*|\?)", line):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part))
        patterns.append((negated, re.compile(regex + "$")))
    return patterns


def excluded(relative: str) -> bool:
    """Docker's rule: the last matching pattern wins, and a path under an excluded directory is
    excluded too."""
    patterns = _patterns()
    parts = relative.split("/")
    result = False
    for end in range(1, len(parts) + 1):
        prefix = "/".join(parts[:end])
        for negated, regex in patterns:
            if regex.match(prefix):
                result = not negated
        if result:
            return True
    return result


def test_matcher_reads_patterns_like_docker():
    assert fnmatch.fnmatch("a.pyc", "*.pyc")  # the single-segment case Docker shares with fnmatch
    assert excluded(".local/postgres/data/PG_VERSION")


def test_build_context_leaves_out_local_state_secrets_and_caches():
    for path in [
        ".local/postgres/data/PG_VERSION",
        ".local/prod-secrets.env",
        ".local/prod.env",
        ".venv/bin/python",
        ".git/HEAD",
        "api/__pycache__/main.cpython-311.pyc",
        ".pytest_cache/README.md",
        ".mypy_cache/3.11/api",
        ".ruff_cache/CACHEDIR.TAG",
        "staticfiles/admin/css/base.css",
        "devtools/devservices.py",
        "devtools/stripe_sandbox.py",
    ]:
        assert excluded(path), path


def test_build_context_keeps_what_the_image_needs():
    for path in [
        "manage.py",
        "requirements.txt",
        "api/main.py",
        "config/settings.py",
        "deploy/gunicorn.conf.py",
        "deploy/env.example",
        "shared_apps/tenants/models.py",
    ]:
        assert not excluded(path), path
    assert (BASE_DIR / "deploy" / "Dockerfile").read_text().count("COPY . .") == 1
    assert Path(BASE_DIR / ".dockerignore").exists()


# What the image's processes import: gunicorn's app and worker class, the Dramatiq worker's
# actors, the scheduler; `build` is the DJANGO_ENV of the Dockerfile's collectstatic.
IMAGE_IMPORTS = (
    "import sys; sys.modules['devtools'] = None; import django; django.setup(); "
    "import config.wsgi, config.urls, deploy.gunicorn_worker, tasks.worker; "
    "from django.core.management import call_command; call_command('check')"
)


@pytest.mark.parametrize("django_env", ["production", "build"])
def test_the_image_runs_without_the_development_doubles(django_env):
    """devtools/ is left out of the image: nothing production loads may import it."""
    result = subprocess.run(
        [sys.executable, "-c", IMAGE_IMPORTS],
        cwd=BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_ENV": django_env,
            "SECRET_KEY": "s" * 50,
            "JWT_SECRET": "j" * 40,
            "BASE_DOMAIN": "example.test",
        },
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
