"""Custom domains: claimed by an owner with a DNS TXT token, verified through a real DNS
lookup (dnspython against a loopback DNS server), then resolving like a subdomain; Caddy's
on-demand TLS `ask` answers only for hosts of active businesses."""

from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from shared_apps.tenants import services as tenant_services
from shared_apps.tenants.models import CustomDomain, Domain, Tenant
from tests.api.generic import assert_query_count, counted
from tests.client import ApiClient
from tests.dns_server import LoopbackDns, loopback_dns
from tests.isolation import Route, TenantRouteCases, assert_refused


@pytest.fixture
def dns_server() -> Iterator[LoopbackDns]:
    with (
        loopback_dns() as server,
        override_settings(DOMAIN_VERIFICATION_NAMESERVERS=[server.nameserver], DOMAIN_VERIFICATION_TIMEOUT=0.5),
    ):
        yield server


def publish(dns_server: LoopbackDns, claim: dict) -> None:
    record = claim["verification"]
    dns_server.txt.setdefault(record["name"], []).append(record["value"])


def claim_and_verify(client: ApiClient, dns_server: LoopbackDns, domain: str) -> dict:
    claim = client.post("/tenants/me/domains", {"domain": domain}).json()
    publish(dns_server, claim)
    verified = client.post(f"/tenants/me/domains/{claim['id']}/verify")
    assert verified.status_code == 200, verified.content
    return verified.json()


class TestCustomDomainIsolation(TenantRouteCases):
    routes = [Route("GET", "/tenants/me/domains"), Route("POST", "/tenants/me/domains", {"domain": "book.iso.test"})]
    object_routes = [Route("POST", "/tenants/me/domains/{id}/verify"), Route("DELETE", "/tenants/me/domains/{id}")]

    def make_object(self, owner) -> int:
        return CustomDomain.objects.create(tenant=owner.tenant, domain="owned.iso.test", verification_token="t").pk


def test_owner_claims_a_domain_and_gets_a_txt_record_to_publish(tenant_a):
    response = tenant_a.api().post("/tenants/me/domains", {"domain": " Book.Alpha-Plumbing.TEST. "})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["domain"] == "book.alpha-plumbing.test"
    assert body["verified"] is False
    assert body["verification"]["type"] == "TXT"
    assert body["verification"]["name"] == "_sd-verify.book.alpha-plumbing.test"
    assert body["verification"]["value"].startswith("sd-verify=")
    assert tenant_a.api().get("/tenants/me/domains").json()["items"] == [body]


def test_unverified_domain_does_not_resolve(tenant_a):
    tenant_a.api().post("/tenants/me/domains", {"domain": "pending.alpha.test"})

    assert_refused(tenant_a.api().on_host("pending.alpha.test").get("/tenants/me"), 400)


def test_verified_domain_resolves_like_the_subdomain(tenant_a, tenant_b, dns_server):
    verified = claim_and_verify(tenant_a.api(), dns_server, "book.alpha.test")
    on_domain = tenant_a.api().on_host("book.alpha.test")

    assert verified["verified"] is True
    assert on_domain.get("/tenants/me").json() == tenant_a.api().get("/tenants/me").json()
    assert "_sd-verify.book.alpha.test" in dns_server.questions
    # www. resolves to the same business; the other tenant's token is refused on it.
    assert on_domain.on_host("www.book.alpha.test").get("/tenants/me").json()["slug"] == "alpha"
    assert_refused(on_domain.with_token(tenant_b.owner_token).get("/tenants/me"), 403)


def test_missing_record_is_409_naming_the_record(tenant_a, dns_server):
    claim = tenant_a.api().post("/tenants/me/domains", {"domain": "norecord.alpha.test"}).json()
    dns_server.txt["_sd-verify.norecord.alpha.test"] = ["sd-verify=someone-elses-token"]

    body = assert_refused(tenant_a.api().post(f"/tenants/me/domains/{claim['id']}/verify"), 409)

    assert body["errors"][0]["code"] == "verification_failed"
    assert body["errors"][0]["value"] == claim["verification"]["value"]
    assert not Domain.objects.filter(domain="norecord.alpha.test").exists()


def test_dns_timeout_is_409_retryable_not_500(tenant_a, dns_server):
    claim = tenant_a.api().post("/tenants/me/domains", {"domain": "slow.alpha.test"}).json()
    dns_server.silent = True

    body = assert_refused(tenant_a.api().post(f"/tenants/me/domains/{claim['id']}/verify"), 409)

    assert body["errors"][0]["code"] == "dns_unavailable"


def test_domain_proved_by_another_tenant_is_409(tenant_a, tenant_b, dns_server):
    claim_and_verify(tenant_a.api(), dns_server, "shared.example.test")

    body = assert_refused(tenant_b.api().post("/tenants/me/domains", {"domain": "shared.example.test"}), 409)

    assert body["errors"][0]["code"] == "domain_taken"


def test_first_tenant_to_prove_a_domain_wins(tenant_a, tenant_b, dns_server):
    claim_b = tenant_b.api().post("/tenants/me/domains", {"domain": "race.example.test"}).json()
    claim_and_verify(tenant_a.api(), dns_server, "race.example.test")
    publish(dns_server, claim_b)

    body = assert_refused(tenant_b.api().post(f"/tenants/me/domains/{claim_b['id']}/verify"), 409)

    assert body["errors"][0]["code"] == "domain_taken"
    assert tenant_a.api().on_host("race.example.test").get("/tenants/me").json()["slug"] == "alpha"


def test_adding_the_same_domain_twice_is_409(tenant_a):
    tenant_a.api().post("/tenants/me/domains", {"domain": "twice.alpha.test"})

    body = assert_refused(tenant_a.api().post("/tenants/me/domains", {"domain": "twice.alpha.test"}), 409)

    assert body["errors"][0]["code"] == "domain_exists"


@pytest.mark.parametrize(
    "domain", ["localhost", "x.localhost", "127.0.0.1", "nodots", "-bad-.test", "www.alpha.test", "a" * 64 + ".test"]
)
def test_bad_domains_are_400(tenant_a, domain):
    body = assert_refused(tenant_a.api().post("/tenants/me/domains", {"domain": domain}), 400)

    assert body["errors"][0]["field"] == "domain"


def test_only_owners_add_verify_or_remove_domains(tenant_a):
    claim = tenant_a.api().post("/tenants/me/domains", {"domain": "staff.alpha.test"}).json()
    staff = tenant_a.api(as_staff=True)

    assert staff.get("/tenants/me/domains").status_code == 200
    assert_refused(staff.post("/tenants/me/domains", {"domain": "mine.alpha.test"}), 403)
    assert_refused(staff.post(f"/tenants/me/domains/{claim['id']}/verify"), 403)
    assert_refused(staff.delete(f"/tenants/me/domains/{claim['id']}"), 403)


def test_removing_a_verified_domain_stops_it_resolving(tenant_a, dns_server):
    verified = claim_and_verify(tenant_a.api(), dns_server, "gone.alpha.test")

    assert tenant_a.api().delete(f"/tenants/me/domains/{verified['id']}").status_code == 204

    assert_refused(tenant_a.api().on_host("gone.alpha.test").get("/tenants/me"), 400)
    assert tenant_a.api().get("/tenants/me/domains").json()["count"] == 0


@override_settings(MAX_CUSTOM_DOMAINS=2)
def test_domains_per_business_are_limited(tenant_a):
    for name in ("one.alpha.test", "two.alpha.test"):
        tenant_a.api().post("/tenants/me/domains", {"domain": name})

    body = assert_refused(tenant_a.api().post("/tenants/me/domains", {"domain": "three.alpha.test"}), 409)

    assert body["errors"][0]["code"] == "too_many_domains"


def test_tls_ask_answers_only_for_hosts_of_active_businesses(tenant_a, tenant_b, api_host, dns_server):
    tenant_services.set_tenant_status(tenant_id=tenant_b.tenant.pk, status=Tenant.Status.SUSPENDED)
    claim_and_verify(tenant_a.api(), dns_server, "tls.alpha.test")
    tenant_a.api().post("/tenants/me/domains", {"domain": "unproved.alpha.test"})

    def ask(domain: str, client: ApiClient = api_host) -> int:
        return client.get("/tls/ask", domain=domain).status_code

    assert ask("tls.alpha.test") == 200
    assert ask("www.tls.alpha.test") == 200
    assert ask(tenant_a.host) == 200
    assert ask("unproved.alpha.test") == 404
    assert ask("stranger.example.org") == 404
    assert ask(tenant_b.host) == 404  # suspended
    assert ask("") == 404
    assert ask("tls.alpha.test", api_host.from_address("203.0.113.9")) == 404


def test_unknown_host_is_400_in_the_envelope(api_host):
    body = assert_refused(api_host.on_host("evil.example.org").get("/health"), 400)

    assert body["errors"][0]["code"] == "disallowed_host"


def test_verifying_a_published_record_costs_its_baseline(tenant_a, dns_server):
    claim = tenant_a.api().post("/tenants/me/domains", {"domain": "counted.alpha.test"}).json()
    publish(dns_server, claim)
    tenant_a.api().get("/tenants/me")

    with CaptureQueriesContext(connection) as captured:
        verified = tenant_a.api().post(f"/tenants/me/domains/{claim['id']}/verify")

    assert verified.status_code == 200, verified.content
    assert_query_count("POST /tenants/me/domains/{id}/verify", counted(captured))
