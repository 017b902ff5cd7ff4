"""One trace from a phone booking to its confirmation text: Vapi's `tool-calls` webhook books
the appointment, the domain event's jobs run in a real Dramatiq worker (threads, the test
broker), and the text goes to the Twilio sandbox through the real SDK."""

import json
import uuid
from datetime import datetime

import pytest
from dramatiq import Worker
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from shared_apps.observability import tracing
from shared_apps.outbox.models import OutboxMessage
from tasks.broker import broker
from tasks.outbox import relay_outbox
from tenant_apps.sms.models import Message
from tests.concurrency import JOIN_TIMEOUT
from tests.tenant_apps.sms.fixtures import sandbox  # noqa: F401 - fixture
from tests.tenant_apps.voice.conftest import LEAK_REPAIR, local, next_business_day, set_up_voice
from tests.tenant_apps.voice.payloads import CALLER, post, results, tool_calls

SENDER = "+12025550610"
NAME = "Ada Traced"


def run_jobs_until_idle(*, rounds: int = 10) -> None:
    """Relay what is due and let the worker run it, until a pass finds nothing more."""
    worker = Worker(broker, worker_timeout=100, worker_threads=1)
    worker.start()
    try:
        for _ in range(rounds):
            if not relay_outbox():
                return
            broker.join("default", timeout=JOIN_TIMEOUT * 1000)
            worker.join()
    finally:
        worker.stop()


def ancestry(span: ReadableSpan, finished: list[ReadableSpan]) -> list[ReadableSpan]:
    by_id = {each.context.span_id: each for each in finished}
    chain = [span]
    while chain[-1].parent is not None:
        chain.append(by_id[chain[-1].parent.span_id])
    return chain


@pytest.mark.concurrency
def test_a_phone_booking_its_jobs_and_the_confirmation_text_are_one_trace(
    spans,
    committed_tenant,
    sandbox,  # noqa: F811
):
    # Given a business that answers its phone with Vapi and texts booking confirmations
    phone_number_id = f"pn-trace-{uuid.uuid4().hex[:8]}"
    set_up_voice(committed_tenant, phone_number_id=phone_number_id, assistant_id=f"asst-{phone_number_id}")
    assert committed_tenant.api().post("/price-book", LEAK_REPAIR).status_code == 201
    zone = committed_tenant.tenant.zone
    hour = datetime.now(tz=zone).hour  # quiet hours that are not now, whenever the test runs
    quiet = {"quiet_hours_start": f"{(hour + 2) % 24:02}:00", "quiet_hours_end": f"{(hour + 3) % 24:02}:00"}
    assert committed_tenant.api().patch("/tenants/me", {"sms_sender": SENDER, **quiet}).status_code == 200
    day = next_business_day(zone)
    broker.flush_all()
    spans.clear()
    try:
        # When a caller books by phone and the jobs run
        arguments = {"starts_at": f"{day.isoformat()}T10:00", "duration_minutes": 60, "name": NAME}
        booking = post(tool_calls(("t-trace", "book_appointment", arguments), phone_number_id=phone_number_id))
        assert results(booking)["t-trace"]["booked"] is True
        run_jobs_until_idle()

        # Then the text went to Twilio
        with committed_tenant.schema():
            [text] = Message.objects.filter(to_number=CALLER)
        assert text.provider_sid
        finished = list(spans.get_finished_spans())
        [send] = [span for span in finished if span.name == "twilio messages.create"]
        chain = ancestry(send, finished)
        # ... in one trace that starts at the webhook and runs through each job in between
        assert [span.name for span in chain] == [
            "twilio messages.create",
            "job send_sms",
            "job send_automatic_sms",
            "job run_event_subscriber",
            "job deliver_domain_event",
            "POST api/v1/voice/webhook",
        ]
        assert len({span.context.trace_id for span in chain}) == 1
        assert chain[-1].kind == SpanKind.SERVER and chain[0].kind == SpanKind.CLIENT
        # ... every span of it naming the tenant and the webhook's request id
        schema, request_id = committed_tenant.tenant.schema_name, booking["X-Request-ID"]
        assert {
            (span.attributes[tracing.TENANT_ATTRIBUTE], span.attributes[tracing.REQUEST_ID_ATTRIBUTE]) for span in chain
        } == {(schema, request_id)}
        # ... and no span of the whole run holds the caller's number, name or the text's body
        exported = json.dumps([json.loads(span.to_json()) for span in finished])
        assert local(day, 10, zone).strftime("%-d") in text.body  # the body is the real confirmation
        for personal in (CALLER, CALLER[2:], NAME, text.body):
            assert personal not in exported
    finally:
        OutboxMessage.objects.filter(schema_name=committed_tenant.tenant.schema_name).delete()
