"""README.md stays true: its ```sh examples run, in order, in one bash session against a live
gunicorn server (on a free port, against the test database, after `seed_demo` as `make run`
does), and every answer shown after `# ->` appears in their output, in that order. Lines
that only run `make <target>` are checked against the Makefile (`make -n`), not run."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from shared_apps.accounts.management.commands.seed_demo import ADMIN_EMAIL, DEMO_EMAIL, DEMO_SLUG
from shared_apps.accounts.models import User
from shared_apps.tenants import services as tenant_services
from shared_apps.tenants.models import Tenant
from tests.servers import gunicorn_servers, server_environment

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
README = REPO_ROOT / "README.md"
MAKE_LINE = re.compile(r"^(?:[A-Z_]+=\S+ )*make (?P<target>[\w-]+)\b")


def shell_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", markdown, flags=re.S | re.M)


def expected_answers(script: str) -> list[str]:
    return [match.strip() for match in re.findall(r"^# -> (.*)$", script, flags=re.M)]


def split_make_lines(blocks: list[str]) -> tuple[list[str], str]:
    """The make targets named by make-only lines, and the rest as one script."""
    targets, lines = [], []
    for block in blocks:
        for line in block.splitlines():
            match = MAKE_LINE.match(line)
            if match:
                targets.append(match["target"])
            else:
                lines.append(line)
    return targets, "\n".join(lines) + "\n"


def assert_in_order(output: str, answers: list[str]) -> None:
    position = 0
    for answer in answers:
        found = output.find(answer, position)
        assert found >= 0, f"README shows {answer!r}, the run printed (from there on):\n{output[position:]}"
        position = found + len(answer)


def test_the_parser_finds_the_readme_examples():
    blocks = shell_blocks(README.read_text())
    targets, script = split_make_lines(blocks)

    assert {"run", "test"} <= set(targets)
    assert "curl" in script
    assert len(expected_answers(script)) >= 10


def test_the_make_targets_readme_names_exist():
    targets, _ = split_make_lines(shell_blocks(README.read_text()))
    for target in set(targets):
        result = subprocess.run(
            [shutil.which("make") or "make", "-n", target], cwd=REPO_ROOT, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"make {target}: {result.stderr}"


def _forget_readme_rows() -> None:
    connection.set_schema_to_public()
    for slug in ("acme-plumbing", DEMO_SLUG):
        for tenant_id in Tenant.objects.filter(slug=slug).values_list("pk", flat=True):
            tenant_services.delete_tenant(tenant_id=tenant_id)
    User.objects.filter(email__in=["owner@acme-plumbing.test", DEMO_EMAIL, ADMIN_EMAIL]).delete()


@pytest.mark.usefixtures("unblocked_db")
def test_every_shell_example_in_the_readme_runs_against_a_live_server():
    _, script = split_make_lines(shell_blocks(README.read_text()))
    env = server_environment()
    _forget_readme_rows()
    try:
        with gunicorn_servers(1) as (server,):
            env["PORT"] = str(server.port)
            # What `make run` does before serving (devtools/run.sh).
            subprocess.run(
                [REPO_ROOT / ".venv" / "bin" / "python", "manage.py", "seed_demo"],
                cwd=REPO_ROOT,
                env=env,
                capture_output=True,
                check=True,
                timeout=300,
            )
            result = subprocess.run(
                [shutil.which("bash") or "/bin/bash", "-euo", "pipefail", "-c", script],
                cwd=REPO_ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
    finally:
        _forget_readme_rows()

    assert result.returncode == 0, f"README's examples failed:\n{result.stdout}\n{result.stderr}"
    assert_in_order(result.stdout, expected_answers(script))
    assert settings.BASE_DOMAIN == "localhost"  # the host names README uses


def test_readme_is_a_newcomers_page_and_its_links_resolve():
    text = README.read_text()
    assert len(text.splitlines()) <= 220
    for link in re.findall(r"\]\(([^)#]+)\)", text):
        if not re.match(r"https?://", link):
            assert (REPO_ROOT / link).exists(), link
    for path in re.findall(r"`((?:docs|deploy|devtools)/[\w./-]+)`", text):
        assert (REPO_ROOT / path).exists(), path


def test_docs_links_resolve():
    for page in sorted((REPO_ROOT / "docs").glob("*.md")):
        for link in re.findall(r"\]\(([^)#]+)\)", page.read_text()):
            if not re.match(r"https?://", link):
                assert (page.parent / link).exists(), f"{page.name}: {link}"


def test_no_doc_points_at_the_contract_outside_the_repository():
    for page in [README, *sorted((REPO_ROOT / "docs").glob("*.md"))]:
        assert "../shared/" not in page.read_text(), page.name
