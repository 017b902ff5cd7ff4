import dramatiq
import pytest
from django.db import connection, transaction
from dramatiq import Worker

from shared_apps.outbox.models import OutboxMessage
from shared_apps.outbox.services import enqueue_after_commit
from shared_apps.tenants.models import Tenant
from tasks import actors
from tasks.broker import SCHEMA_OPTION, broker
from tasks.outbox import relay_outbox
from tenant_apps.customers.models import Customer
from tests.concurrency import JOIN_TIMEOUT

seen: list[tuple[str, list[str]]] = []


@dramatiq.actor(queue_name="test-jobs", max_retries=0)
def record_customer_names_then_fail() -> None:
    seen.append((connection.schema_name, list(Customer.objects.values_list("name", flat=True))))
    raise RuntimeError("job failed")


@dramatiq.actor(queue_name="test-jobs", max_retries=0)
def record_schema() -> None:
    seen.append((connection.schema_name, []))


@pytest.fixture
def worker():
    seen.clear()
    broker.flush_all()
    worker = Worker(broker, worker_timeout=100, worker_threads=1)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def committed_customers(committed_tenant, django_db_blocker):
    with committed_tenant.schema():
        Customer.objects.create(name="Only in the live tenant")
    return committed_tenant


def test_job_runs_in_its_tenants_schema_and_resets_after_error(committed_customers, worker):
    schema = committed_customers.tenant.schema_name

    record_customer_names_then_fail.send_with_options(**{SCHEMA_OPTION: schema})
    broker.join(record_schema.queue_name, fail_fast=False, timeout=JOIN_TIMEOUT * 1000)
    worker.join()
    record_schema.send()  # same single worker thread, right after the failure
    broker.join(record_schema.queue_name, fail_fast=False, timeout=JOIN_TIMEOUT * 1000)
    worker.join()

    assert seen == [(schema, ["Only in the live tenant"]), ("public", [])]


def test_outbox_relay_publishes_each_message_once(unblocked_db, worker):
    OutboxMessage.objects.all().delete()
    enqueue_after_commit(actor_name="refill_tenant_pool")

    first = relay_outbox()
    second = relay_outbox()
    broker.join(actors.refill_tenant_pool.queue_name, timeout=JOIN_TIMEOUT * 1000)
    worker.join()

    assert (first, second) == (1, 0)
    assert not OutboxMessage.objects.filter(published_at__isnull=True).exists()
    assert Tenant.objects.filter(status=Tenant.Status.POOLED).count() == 0  # TENANT_POOL_SIZE=0 in tests
    OutboxMessage.objects.all().delete()


def test_outbox_row_of_a_rolled_back_transaction_is_never_published(db):
    before = OutboxMessage.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_after_commit(actor_name="refill_tenant_pool")
        raise RuntimeError("rolled back")

    assert OutboxMessage.objects.count() == before
