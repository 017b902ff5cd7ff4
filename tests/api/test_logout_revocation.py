"""Signing out ends the session's access tokens at once, not when they expire: every access
token issued in that session (its refresh-token family) and the one presented are refused;
other sessions of the same user keep working; with Redis away the database still refuses a
logged-out session; a replayed refresh token ends its session's access tokens too."""

from tests.conftest import PASSWORD
from tests.isolation import assert_refused


def log_in(api_host, tenant) -> dict:
    return api_host.post("/auth/login", {"email": tenant.owner.email, "password": PASSWORD}).json()


def test_logout_refuses_every_access_token_of_the_session_at_once(api_host, tenant_a):
    first = log_in(api_host, tenant_a)
    second = api_host.post("/auth/refresh", {"refresh_token": first["refresh_token"]}).json()
    other_session = log_in(api_host, tenant_a)

    logout = api_host.with_token(second["access_token"]).post(
        "/auth/logout", {"refresh_token": second["refresh_token"]}
    )

    assert logout.status_code == 204
    for token in (first["access_token"], second["access_token"]):
        refused = api_host.with_token(token).get("/auth/me")
        assert_refused(refused, 401)
        assert refused.json()["errors"][0]["code"] == "token_revoked"
        assert_refused(api_host.with_token(token).get("/customers"), 401)
    assert api_host.with_token(other_session["access_token"]).get("/auth/me").status_code == 200
    assert api_host.with_token(other_session["access_token"]).get("/customers").status_code == 200


def test_a_logged_out_session_stays_out_while_redis_is_away(api_host, tenant_a, request):
    tokens = log_in(api_host, tenant_a)
    other_session = log_in(api_host, tenant_a)
    api_host.with_token(tokens["access_token"]).post("/auth/logout", {"refresh_token": tokens["refresh_token"]})

    request.getfixturevalue("redis_down")
    refused = api_host.with_token(tokens["access_token"]).get("/auth/me")
    kept = api_host.with_token(other_session["access_token"]).get("/auth/me")

    assert_refused(refused, 401)
    assert kept.status_code == 200


def test_a_replayed_refresh_token_ends_its_sessions_access_tokens(api_host, tenant_a):
    tokens = log_in(api_host, tenant_a)
    api_host.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]})

    api_host.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]})  # stolen, replayed

    assert_refused(api_host.with_token(tokens["access_token"]).get("/auth/me"), 401)
