"""Refresh token rotation under real parallel connections: once a reuse is detected, no
refresh token of the family works, whatever order the racing requests commit in."""

import pytest

from shared_apps.accounts import services as accounts
from shared_apps.accounts.models import RefreshToken
from shared_apps.accounts.tokens import hash_refresh_token
from shared_apps.errors import NotAuthenticated
from tests.concurrency import run_at_once
from tests.conftest import PASSWORD

TRIALS = 10


def refresh_in_parallel(raw_tokens: list[str]) -> list[accounts.IssuedTokens | NotAuthenticated]:
    return run_at_once(
        [lambda raw=raw: accounts.refresh_tokens(refresh_token=raw) for raw in raw_tokens], expected=NotAuthenticated
    )


def code(outcome: accounts.IssuedTokens | NotAuthenticated) -> str:
    return outcome.code if isinstance(outcome, NotAuthenticated) else "rotated"


def assert_family_dead(first_raw_token: str, outcomes: list[accounts.IssuedTokens | NotAuthenticated]) -> None:
    family = RefreshToken.objects.get(token_hash=hash_refresh_token(first_raw_token)).family
    assert not RefreshToken.objects.filter(family=family, revoked_at__isnull=True).exists()
    for issued in [outcome for outcome in outcomes if not isinstance(outcome, NotAuthenticated)]:
        with pytest.raises(NotAuthenticated):
            accounts.refresh_tokens(refresh_token=issued.refresh_token)


@pytest.mark.concurrency
def test_one_token_refreshed_twice_at_once_kills_the_whole_family(committed_tenant):
    for _ in range(TRIALS):
        login = accounts.login(email=committed_tenant.owner.email, password=PASSWORD)

        outcomes = refresh_in_parallel([login.refresh_token, login.refresh_token])

        assert sorted(code(outcome) for outcome in outcomes) == ["refresh_reused", "rotated"]
        assert_family_dead(login.refresh_token, outcomes)


@pytest.mark.concurrency
def test_stolen_token_replayed_while_the_owner_refreshes_kills_the_whole_family(committed_tenant):
    for _ in range(TRIALS):
        login = accounts.login(email=committed_tenant.owner.email, password=PASSWORD)
        current = accounts.refresh_tokens(refresh_token=login.refresh_token)

        stolen, legitimate = refresh_in_parallel([login.refresh_token, current.refresh_token])

        assert code(stolen) == "refresh_reused"
        # The owner's refresh either won (and its new token is then revoked) or found the family revoked.
        assert code(legitimate) in ("rotated", "refresh_invalid")
        assert_family_dead(login.refresh_token, [stolen, legitimate])
