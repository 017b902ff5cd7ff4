"""Recovery drills with the worker and the scheduler running (tests/outage_stack.py): our own
PostgreSQL and redis-server are stopped and started again under them, and every queued text
reaches Twilio (the sandbox) once and its status callbacks (accepted webhooks) are processed,
without restarting any process.

- PostgreSQL restarts: the scheduler and the worker drop their broken connections and go on.
- Redis restarts: the jobs it held are kept (append-only file, as compose runs it); if Redis
  loses them anyway, the outbox publishes them again and each text is still sent once.
- A freshly started API answers /ready 200 at once."""

import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.outage_stack import OutageStack

# Short, so the drill sees a lost job published again within seconds.
REPUBLISH_AFTER_SECONDS = 4
FINAL_STATUSES = {"delivered"}


@pytest.fixture(scope="module")
def stack() -> Iterator[OutageStack]:
    # Not under pytest's temporary root: another pytest session on the machine makes that
    # 0700 when it starts, and the PostgreSQL user could no longer reach its data directory.
    directory = Path(tempfile.mkdtemp(prefix="servicedesk-recovery-"))
    stack = OutageStack(directory, extra_env={"OUTBOX_REPUBLISH_AFTER": str(REPUBLISH_AFTER_SECONDS)})
    try:
        stack.start_postgres()
        stack.start_redis()
        stack.migrate()
        stack.start_api()
        for name in ("twilio-sandbox", "worker", "scheduler"):
            stack.start_background(name)
        yield stack
    finally:
        stack.close()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def business(stack) -> tuple[str, str]:
    """(host, owner's access token) of a business with a sender number."""
    host, answer = stack.register(f"recover-{uuid.uuid4().hex[:8]}")
    assert answer.status == 201, answer
    token = answer.body["access_token"]
    assert (
        stack.request(
            "PATCH", "/tenants/me", {"sms_sender": f"+1202555{uuid.uuid4().int % 10000:04d}"}, host=host, token=token
        ).status
        == 200
    )
    return host, token


def queue_texts(stack: OutageStack, business: tuple[str, str], label: str, count: int) -> set[str]:
    host, token = business
    bodies = {f"{label} {n} {uuid.uuid4().hex[:6]}" for n in range(count)}
    for body in bodies:
        answer = stack.request("POST", "/sms/send", {"to": "+12025550123", "body": body}, host=host, token=token)
        assert answer.status == 202, answer
    return bodies


def statuses(stack: OutageStack, business: tuple[str, str], bodies: set[str]) -> dict[str, str]:
    host, token = business
    answer = stack.request("GET", "/sms/messages?limit=200", host=host, token=token)
    return {item["body"]: item["status"] for item in answer.body.get("items", []) if item["body"] in bodies}


def wait_until_final(stack: OutageStack, business: tuple[str, str], bodies: set[str], seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    found = statuses(stack, business, bodies)
    while set(found.values()) != FINAL_STATUSES or found.keys() != bodies:
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
        found = statuses(stack, business, bodies)
    return found


def wait_until_api_ready(stack: OutageStack) -> None:
    deadline = time.monotonic() + 15
    while stack.request("GET", "/ready").status != 200 and time.monotonic() < deadline:
        time.sleep(0.2)


def sent_counts(stack: OutageStack, bodies: set[str]) -> Counter:
    return Counter(message["body"] for message in stack.sandbox_messages() if message["body"] in bodies)


def logs(stack: OutageStack) -> str:
    return "\n".join(f"--- {name}\n{stack.background_log(name)}" for name in ("scheduler", "worker"))


def test_texts_queued_after_a_postgres_restart_are_sent_without_restarting_anything(stack, business):
    before = queue_texts(stack, business, "before", 1)
    assert set(wait_until_final(stack, business, before, 30).values()) == FINAL_STATUSES, logs(stack)
    pids = {name: process.pid for name, process in stack.background.items()}

    stack.stop_postgres()
    time.sleep(3)  # the scheduler and the worker fail a few passes against the stopped database
    stack.start_postgres()
    wait_until_api_ready(stack)  # the API's pool reconnects within seconds (test_outage_drills.py)
    after = queue_texts(stack, business, "after", 3)
    found = wait_until_final(stack, business, after, 60)

    assert found == dict.fromkeys(after, "delivered"), logs(stack)
    assert sent_counts(stack, after) == Counter(dict.fromkeys(after, 1))
    assert {name: process.pid for name, process in stack.background.items()} == pids
    assert all(process.poll() is None for process in stack.background.values())


def queued_jobs(stack: OutageStack) -> int:
    client = redis.Redis.from_url(stack.layout.redis_url, socket_timeout=5)
    return client.hlen("drill:dramatiq:default.msgs")


def test_jobs_queued_in_redis_survive_its_restart(stack, business):
    stack.stop_background("worker")
    bodies = queue_texts(stack, business, "kept", 5)
    deadline = time.monotonic() + 15
    while queued_jobs(stack) < 5 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert queued_jobs(stack) >= 5

    stack.stop_redis()
    stack.start_redis()
    kept = queued_jobs(stack)
    stack.start_background("worker")
    found = wait_until_final(stack, business, bodies, 60)

    assert kept >= 5
    assert found == dict.fromkeys(bodies, "delivered"), logs(stack)
    assert sent_counts(stack, bodies) == Counter(dict.fromkeys(bodies, 1))


def test_jobs_redis_lost_are_published_again_and_each_text_is_sent_once(stack, business):
    stack.stop_background("worker")
    bodies = queue_texts(stack, business, "lost", 5)
    deadline = time.monotonic() + 15
    while queued_jobs(stack) < 5 and time.monotonic() < deadline:
        time.sleep(0.2)

    redis.Redis.from_url(stack.layout.redis_url, socket_timeout=5).flushall()  # Redis lost everything
    stack.start_background("worker")
    found = wait_until_final(stack, business, bodies, REPUBLISH_AFTER_SECONDS * 2 + 60)

    assert found == dict.fromkeys(bodies, "delivered"), logs(stack)
    assert sent_counts(stack, bodies) == Counter(dict.fromkeys(bodies, 1))


def test_a_freshly_started_api_is_ready_at_once(stack):
    stack.stop_api()
    stack.start_api()

    ready = stack.request("GET", "/ready")

    assert ready.status == 200, (ready, stack.api_log())
