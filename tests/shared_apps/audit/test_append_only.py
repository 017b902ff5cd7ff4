"""The audit table is append-only in the database itself; only the retention purge deletes,
and only rows past the retention."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from django.utils import timezone

from shared_apps.audit import services as audit
from shared_apps.audit.models import AuditEvent


def _old_row(days: int) -> AuditEvent:
    return AuditEvent.objects.create(
        action="auth.login", actor="system", occurred_at=timezone.now() - timedelta(days=days)
    )


def _refused(sql: str, params: list) -> str:
    with pytest.raises(DatabaseError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(refused.value)


def test_update_of_an_audit_row_fails_in_the_database(db):
    row = audit.record(action="auth.login", tenant_id=None)

    message = _refused("UPDATE audit_auditevent SET action = 'nothing' WHERE id = %s", [row.pk])

    assert "append-only" in message
    assert AuditEvent.objects.get(pk=row.pk).action == "auth.login"


def test_delete_of_an_audit_row_fails_in_the_database(db):
    row = audit.record(action="auth.login", tenant_id=None)

    message = _refused("DELETE FROM audit_auditevent WHERE id = %s", [row.pk])

    assert "append-only" in message
    assert AuditEvent.objects.filter(pk=row.pk).exists()


def test_even_an_old_row_cannot_be_deleted_outside_the_purge(db):
    row = _old_row(days=1000)

    _refused("DELETE FROM audit_auditevent WHERE id = %s", [row.pk])

    assert AuditEvent.objects.filter(pk=row.pk).exists()


@override_settings(AUDIT_RETENTION_DAYS=30)
def test_the_purge_deletes_only_rows_past_the_retention(db):
    old, recent = _old_row(days=31), _old_row(days=29)

    deleted = audit.purge_audit_events()

    assert deleted == 1
    assert not AuditEvent.objects.filter(pk=old.pk).exists()
    assert AuditEvent.objects.filter(pk=recent.pk).exists()


@override_settings(AUDIT_RETENTION_DAYS=30)
def test_the_purge_setting_lets_no_recent_row_go(db):
    recent = _old_row(days=1)
    cutoff = (timezone.now() - timedelta(days=30)).isoformat()

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('audit.purge', %s, true)", [cutoff])
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [recent.pk])

    assert AuditEvent.objects.filter(pk=recent.pk).exists()


def test_secrets_are_masked_in_changed_fields():
    changed = audit.changed_fields(
        before={"name": "Old", "webhook_secret": "s3cret-old", "api_key": ""},
        after={"name": "New", "webhook_secret": "s3cret-new", "api_key": "k-123"},
    )

    assert changed == {
        "api_key": {"before": "", "after": audit.MASK},
        "name": {"before": "Old", "after": "New"},
        "webhook_secret": {"before": audit.MASK, "after": audit.MASK},
    }
