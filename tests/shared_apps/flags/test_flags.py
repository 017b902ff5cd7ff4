"""How a flag is decided for a business: override, stable rollout, default."""

import hashlib

from shared_apps.flags import services as flags
from shared_apps.flags.catalogue import FLAGS, SMS, VOICE

MANY = range(1, 1001)


def enabled_ids(name: str) -> set[int]:
    return {tenant_id for tenant_id in MANY if flags.is_enabled(name, tenant_id=tenant_id)}


def test_every_flag_is_on_by_default_without_rollout_or_override(db):
    assert {name: flags.is_enabled(name, tenant_id=1) for name in FLAGS} == {name: True for name in FLAGS}


def test_a_rollout_takes_the_businesses_under_its_percentage_by_a_stable_hash(db):
    flags.set_rollout(name=SMS, percent=10)
    ten = enabled_ids(SMS)
    flags.set_rollout(name=SMS, percent=30)
    thirty = enabled_ids(SMS)

    assert ten == {tenant_id for tenant_id in MANY if flags.bucket(flag=SMS, tenant_id=tenant_id) < 10}
    assert ten < thirty
    assert 50 < len(ten) < 150
    assert 220 < len(thirty) < 380


def test_buckets_differ_per_flag_and_never_change():
    sms = [flags.bucket(flag=SMS, tenant_id=tenant_id) for tenant_id in MANY]
    voice = [flags.bucket(flag=VOICE, tenant_id=tenant_id) for tenant_id in MANY]

    assert sms != voice
    assert all(0 <= value < 100 for value in sms)
    # Fixed by SHA-256 of "flag:tenant id", not by the process's hash seed or the run.
    assert flags.bucket(flag=SMS, tenant_id=1) == int.from_bytes(hashlib.sha256(b"sms:1").digest()[:8], "big") % 100


def test_rollouts_of_nothing_and_everything(db):
    flags.set_rollout(name=SMS, percent=0)
    none = enabled_ids(SMS)
    flags.set_rollout(name=SMS, percent=100)

    assert none == set()
    assert enabled_ids(SMS) == set(MANY)


def test_an_override_beats_the_rollout_and_dropping_it_goes_back(db, tenant_a):
    tenant_id = tenant_a.tenant.pk
    flags.set_rollout(name=VOICE, percent=0)
    flags.set_tenant_flag(tenant_id=tenant_id, name=VOICE, enabled=True)
    overridden = flags.is_enabled(VOICE, tenant_id=tenant_id)

    flags.set_tenant_flag(tenant_id=tenant_id, name=VOICE, enabled=None)

    assert overridden is True
    assert flags.is_enabled(VOICE, tenant_id=tenant_id) is False
    assert flags.is_enabled(VOICE, tenant_id=tenant_a.tenant.pk + 10_000) is False


def test_the_extended_predicate_says_whether_a_business_may_run_an_integrations_work(db, tenant_a):
    tenant = tenant_a.tenant
    flags.set_tenant_flag(tenant_id=tenant.pk, name=SMS, enabled=False)

    assert tenant.may_run() is True
    assert tenant.may_run(integration=SMS) is False
    assert tenant.may_run(integration=VOICE) is True
