"""Deciding whether a flag is on for a business, and changing it.

A flag is on for a business when its override says so; without one, when the business's
stable bucket (a hash of flag and business, 0-99) is under the flag's rollout percentage;
without a rollout, by the flag's default in code. Each process keeps what it read from the
database and drops it when the version key in Redis changes: every change replaces that key
after its commit, and every check reads it (one Redis GET), so a change made anywhere is seen
by every process at its next check. While Redis does not answer, nothing is cached."""

import hashlib
import threading
import time
import uuid
from dataclasses import dataclass
from typing import cast

from django.conf import settings
from django.db import transaction

from shared_apps.audit import services as audit
from shared_apps.errors import Conflict, NotFound, ValidationFailed
from shared_apps.flags.catalogue import FLAGS, Flag
from shared_apps.flags.models import FlagRollout, TenantFlag
from shared_apps.outbox.services import enqueue_after_commit
from shared_apps.redis_client import fail_open, redis_client

# The webhooks app's jobs that queue again the events held for a business, or for every
# business (by actor name: the outbox relays by name, so this app needs no import of them).
RELEASE_HELD_EVENTS = "release_held_webhook_events"
RELEASE_ALL_HELD_EVENTS = "release_all_held_webhook_events"


def _version_key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:flags:version"


# The version before any change was published (also after Redis lost the key).
_FIRST_VERSION = b"-"


class _Cache:
    """What this process read, valid while Redis holds the version it was read under."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.version: bytes | None = None
        self.rollouts: dict[str, int] | None = None
        self.overrides: dict[int, dict[str, bool]] = {}
        self.loaded_at = 0.0

    def fresh(self) -> bool:
        """Drop everything read under another version (or any while Redis is away, or older
        than FLAGS_CACHE_SECONDS, in case a publish was lost); whether caching may go on."""
        version = fail_open(
            lambda: cast(bytes | None, redis_client().get(_version_key())) or _FIRST_VERSION,
            fallback=lambda: None,
            what="flags version read",
        )
        with self.lock:
            stale = time.monotonic() - self.loaded_at > settings.FLAGS_CACHE_SECONDS
            if version is None or version != self.version or stale:
                self.version, self.rollouts, self.overrides = version, None, {}
                self.loaded_at = time.monotonic()
        return version is not None


_cache = _Cache()


def forget_cached_flags() -> None:
    """Drop what this process read (after its own change; tests, between tests)."""
    with _cache.lock:
        _cache.version, _cache.rollouts, _cache.overrides = None, None, {}


def _changed() -> None:
    """After a change in this transaction: this process re-reads at once (its own transaction
    sees the change), every process once the new version is published after commit."""
    forget_cached_flags()
    transaction.on_commit(_publish_change)


def _publish_change() -> None:
    fail_open(
        lambda: redis_client().set(_version_key(), uuid.uuid4().hex),
        fallback=lambda: None,
        what="flags version publish",
    )


def _rollouts(*, caching: bool) -> dict[str, int]:
    rollouts = _cache.rollouts if caching else None
    if rollouts is None:
        rollouts = dict(FlagRollout.objects.values_list("flag", "percent"))
        if caching:
            _cache.rollouts = rollouts
    return rollouts


def _overrides(*, tenant_id: int, caching: bool) -> dict[str, bool]:
    overrides = _cache.overrides.get(tenant_id) if caching else None
    if overrides is None:
        overrides = dict(TenantFlag.objects.filter(tenant_id=tenant_id).values_list("flag", "enabled"))
        if caching:
            _cache.overrides[tenant_id] = overrides
    return overrides


def bucket(*, flag: str, tenant_id: int) -> int:
    """The business's stable place (0-99) in the flag's rollout: the same on every process and
    every run, and different per flag, so the same businesses are not always first."""
    digest = hashlib.sha256(f"{flag}:{tenant_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def get_flag(name: str) -> Flag:
    flag = FLAGS.get(name)
    if flag is None:
        raise NotFound(f"No flag named {name!r}.")
    return flag


def _decide(flag: Flag, *, tenant_id: int, overrides: dict[str, bool], rollouts: dict[str, int]) -> bool:
    if flag.name in overrides:
        return overrides[flag.name]
    if flag.name in rollouts:
        return bucket(flag=flag.name, tenant_id=tenant_id) < rollouts[flag.name]
    return flag.default


def is_enabled(name: str, *, tenant_id: int) -> bool:
    """Whether flag `name` is on for the business (see the module's docstring)."""
    flag = FLAGS[name]
    caching = _cache.fresh()
    return _decide(
        flag,
        tenant_id=tenant_id,
        overrides=_overrides(tenant_id=tenant_id, caching=caching),
        rollouts=_rollouts(caching=caching),
    )


def require_enabled(name: str, *, tenant_id: int) -> None:
    """Refuse (409 `integration_disabled`) work of an integration switched off for the business."""
    if not is_enabled(name, tenant_id=tenant_id):
        raise Conflict(
            f"The {name} integration is switched off for this business.",
            code="integration_disabled",
            details=[{"flag": name}],
        )


@dataclass(frozen=True)
class FlagState:
    """A flag as platform admins see it, and for one business when asked."""

    name: str
    description: str
    default: bool
    rollout_percent: int | None
    override: bool | None = None
    enabled: bool | None = None


def list_flags(*, tenant_id: int | None = None) -> list[FlagState]:
    """Every declared flag with its rollout; with `tenant_id`, that business's override and
    what the flag is for it (read from the database, not the cache: what admins see is so)."""
    rollouts = _rollouts(caching=False)
    overrides = _overrides(tenant_id=tenant_id, caching=False) if tenant_id is not None else {}
    return [
        FlagState(
            name=flag.name,
            description=flag.description,
            default=flag.default,
            rollout_percent=rollouts.get(flag.name),
            override=overrides.get(flag.name),
            enabled=(
                _decide(flag, tenant_id=tenant_id, overrides=overrides, rollouts=rollouts)
                if tenant_id is not None
                else None
            ),
        )
        for flag in sorted(FLAGS.values(), key=lambda flag: flag.name)
    ]


def set_rollout(*, name: str, percent: int | None) -> FlagState:
    """Turn flag `name` on for `percent` % of businesses (0-100), or back to its default
    (None). Audited; every process sees it at its next check. A flag with inbound webhooks
    releases the events held for every business (those still off keep them held)."""
    flag = get_flag(name)
    if percent is not None and not 0 <= percent <= 100:
        raise ValidationFailed("Invalid rollout.", details=[{"field": "rollout_percent", "message": "0 to 100."}])
    with transaction.atomic():
        before = FlagRollout.objects.select_for_update().filter(flag=name).values_list("percent", flat=True).first()
        if percent is None:
            FlagRollout.objects.filter(flag=name).delete()
        else:
            FlagRollout.objects.update_or_create(flag=name, defaults={"percent": percent})
        audit.record(
            action="flag.rollout_set",
            tenant_id=None,
            target=f"flag:{name}",
            details={"rollout_percent": {"before": before, "after": percent}},
        )
        if flag.webhook_provider:
            enqueue_after_commit(actor_name=RELEASE_ALL_HELD_EVENTS)
        _changed()
    return next(state for state in list_flags() if state.name == flag.name)


def set_tenant_flag(*, tenant_id: int, name: str, enabled: bool | None) -> FlagState:
    """Switch flag `name` on or off for one business, or drop its override (None). Audited in
    the business's trail; every process sees it at its next check. A flag with inbound
    webhooks that ends up on releases the events held while it was off."""
    flag = get_flag(name)
    with transaction.atomic():
        before = (
            TenantFlag.objects.select_for_update()
            .filter(tenant_id=tenant_id, flag=name)
            .values_list("enabled", flat=True)
            .first()
        )
        if enabled is None:
            TenantFlag.objects.filter(tenant_id=tenant_id, flag=name).delete()
        else:
            TenantFlag.objects.update_or_create(tenant_id=tenant_id, flag=name, defaults={"enabled": enabled})
        audit.record(
            action="flag.tenant_set",
            tenant_id=tenant_id,
            target=f"flag:{name}",
            details={"override": {"before": before, "after": enabled}},
        )
        state = next(state for state in list_flags(tenant_id=tenant_id) if state.name == flag.name)
        if flag.webhook_provider and state.enabled:
            enqueue_after_commit(actor_name=RELEASE_HELD_EVENTS, tenant_id=tenant_id)
        _changed()
    return state
