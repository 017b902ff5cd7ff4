"""A client generated from the live OpenAPI document (openapi-python-client, as a client's build
would) drives a short flow against a real server: register, add a customer, a booking that
clashes (409, typed), a quote. Proves the document is usable as written, not only valid."""

import importlib
import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from openapi_spec_validator import validate

from tests.conftest import delete_test_tenant
from tests.servers import gunicorn_servers

PACKAGE = "servicedesk_client"
# openapi-python-client has no PDF body type: read PDFs as bytes (docs/api-contract.md).
GENERATOR_CONFIG = "content_type_overrides:\n  application/pdf: application/octet-stream\n"


def generate_client(document: dict, directory: Path) -> None:
    (directory / "openapi.json").write_text(json.dumps(document))
    (directory / "config.yml").write_text(GENERATOR_CONFIG)
    generator = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            "openapi.json",
            "--config",
            "config.yml",
            "--meta",
            "none",
            "--output-path",
            PACKAGE,
        ],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        # Without ruff on PATH the generator only skips formatting its output.
        env={"PATH": str(Path(sys.executable).parent)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout


@pytest.fixture
def client_package(tmp_path):
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_a_generated_client_registers_books_clashes_and_quotes(django_db_setup, django_db_blocker, client_package):
    slug = f"gen-{uuid.uuid4().hex[:10]}"
    with gunicorn_servers(1) as (server,):
        status, document = server.json("GET", "/openapi.json", host=settings.BASE_DOMAIN)
        assert status == 200
        validate(document)
        generate_client(document, client_package)

        generated = importlib.import_module(PACKAGE)
        register = importlib.import_module(f"{PACKAGE}.api.auth.auth_register")
        customers_create = importlib.import_module(f"{PACKAGE}.api.customers.customers_create")
        appointments_create = importlib.import_module(f"{PACKAGE}.api.appointments.appointments_create")
        quotes_create = importlib.import_module(f"{PACKAGE}.api.quotes.quotes_create")
        quotes_pdf = importlib.import_module(f"{PACKAGE}.api.quotes.quotes_pdf")
        models = importlib.import_module(f"{PACKAGE}.models")
        base_url = f"http://127.0.0.1:{server.port}"
        try:
            # Register: public, no token.
            anonymous = generated.Client(base_url=base_url, timeout=10)
            answer = register.sync_detailed(
                client=anonymous,
                body=models.RegisterIn(
                    business_name="Generated Plumbing",
                    email=f"owner@{slug}.test",
                    password="a long and unusual passphrase 42",
                    slug=slug,
                    timezone="America/New_York",
                ),
            )
            assert answer.status_code == 201, answer.content
            tokens = answer.parsed
            assert isinstance(tokens, models.TokensOut)
            client = generated.AuthenticatedClient(base_url=base_url, token=tokens.access_token, timeout=10)

            # A customer, once even when the request is retried with its Idempotency-Key.
            body = models.CustomerIn(name="Jane Doe", phone="+12025550123")
            first = customers_create.sync_detailed(client=client, body=body, idempotency_key="customer-1")
            retried = customers_create.sync_detailed(client=client, body=body, idempotency_key="customer-1")
            assert first.status_code == retried.status_code == 201
            assert retried.parsed.id == first.parsed.id
            assert retried.headers["Idempotent-Replayed"] == "true"
            customer = first.parsed

            # Two bookings of the same slot: the second is a typed 409 naming the first.
            starts_at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=7)
            booking = models.AppointmentIn(
                customer_id=customer.id,
                title="Boiler service",
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=1),
                staff_id=tokens.user.id,
            )
            booked = appointments_create.sync_detailed(client=client, body=booking)
            assert booked.status_code == 201, booked.content
            assert booked.parsed.status == models.AppointmentOutStatus.SCHEDULED
            clash = appointments_create.sync_detailed(client=client, body=booking)
            assert clash.status_code == 409
            assert isinstance(clash.parsed, models.ErrorEnvelope)
            assert clash.parsed.errors[0].conflicting_appointment_id == booked.parsed.id

            # A quote with one line, and its PDF.
            item = models.ItemIn(description="Replace faucet", quantity="1", unit_price=12750, tax_rate="8.25")
            quote = quotes_create.sync_detailed(
                client=client, body=models.QuoteIn(customer_id=customer.id, items=[item])
            )
            assert quote.status_code == 201, quote.content
            assert (quote.parsed.total, quote.parsed.status) == (13802, models.QuoteOutStatus.DRAFT)
            pdf = quotes_pdf.sync_detailed(client=client, quote_id=quote.parsed.id)
            assert pdf.status_code == 200
            assert pdf.content.startswith(b"%PDF")

            # Without a token the generated client gets the envelope, not a crash.
            refused = customers_create.sync_detailed(
                client=generated.AuthenticatedClient(base_url=base_url, token="not-a-token", timeout=10), body=body
            )
            assert refused.status_code == 401
            assert refused.parsed.errors[0].code == "token_invalid"
        finally:
            with django_db_blocker.unblock():
                delete_test_tenant(slug)
