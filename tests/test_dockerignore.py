"""The image build context (deploy/Dockerfile does `COPY . .`) leaves out the checkout's
private and bulky parts, read the way Docker reads .dockerignore."""

import fnmatch
import re
from pathlib import Path

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
