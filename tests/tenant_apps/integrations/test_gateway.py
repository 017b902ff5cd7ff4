"""The SSRF guard of the webhook gateway: every class of address a business could aim its
endpoint at to reach our own network is refused, whether written as a literal, reached through
a DNS name (a real DNS server on the loopback answers), or by a redirect; and the request goes
to the address that was checked."""

import ipaddress
import re

import pytest

from tenant_apps.integrations import gateway
from tests.dns_server import loopback_dns
from tests.isolation import assert_refused
from tests.tenant_apps.integrations.receiver import webhook_receiver

REFUSED_ADDRESSES = [
    ("127.0.0.1", "a loopback address"),
    ("127.8.9.10", "a loopback address"),
    ("[::1]", "a loopback address"),
    ("10.1.2.3", "a private address"),
    ("172.16.0.1", "a private address"),
    ("192.168.1.1", "a private address"),
    ("[fd00:ec2::254]", "a private address"),  # AWS's IPv6 metadata service
    ("169.254.169.254", "a link-local address (cloud metadata)"),
    ("[fe80::1]", "a link-local address (cloud metadata)"),
    ("0.0.0.0", "an unspecified address"),  # noqa: S104 - an address under test, not a bind
    ("[::]", "an unspecified address"),
    ("224.0.0.1", "a multicast address"),
    ("[ff02::1]", "a multicast address"),
    ("100.100.100.200", "a reserved or non-public address"),  # shared CGNAT space (Alibaba metadata)
    ("240.0.0.1", "a reserved or non-public address"),
    ("[::ffff:127.0.0.1]", "a loopback address"),  # IPv4-mapped
    ("[::ffff:169.254.169.254]", "a link-local address (cloud metadata)"),
    ("[64:ff9b::a9fe:a9fe]", "a link-local address (cloud metadata)"),  # NAT64 of 169.254.169.254
    ("[2002:7f00:1::]", "a loopback address"),  # 6to4 of 127.0.0.1
]


@pytest.fixture
def no_loopback(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    return settings


@pytest.mark.parametrize(("host", "reason"), REFUSED_ADDRESSES)
def test_every_non_public_address_class_is_refused(no_loopback, host, reason):
    with pytest.raises(gateway.TargetRefused, match=re.escape(f"resolves to {reason}")):
        gateway.check_target(f"https://{host}/hooks")


def test_a_public_address_is_accepted(no_loopback):
    target = gateway.check_target("https://93.184.215.14:8443/hooks?x=1")

    assert (str(target.address), target.port) == ("93.184.215.14", 8443)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://93.184.215.14/hooks", "must use https"),
        ("ftp://93.184.215.14/hooks", "must use https"),
        ("https://user:pass@93.184.215.14/hooks", "must not contain credentials"),
        ("https:///hooks", "has no host"),
        ("https://93.184.215.14:99999/", "not valid"),
        ("https://localhost/hooks", "a loopback address"),
        ("https://api.localhost/hooks", "a loopback address"),
        ("https://" + "a" * 64 + ".example.com/", "not a valid name"),
        ("https://bad..name.example.com/", "not a valid name"),
    ],
)
def test_refused_url_forms(no_loopback, url, message):
    with pytest.raises(gateway.TargetRefused, match=message):
        gateway.check_target(url)


def test_a_name_resolving_to_loopback_is_refused(no_loopback):
    with loopback_dns() as dns:
        dns.a["hooks.example.com"] = ["127.0.0.1"]
        no_loopback.WEBHOOK_NAMESERVERS = [dns.nameserver]

        with pytest.raises(gateway.TargetRefused, match=r"hooks.example.com resolves to a loopback address"):
            gateway.check_target("https://hooks.example.com/in")


def test_one_private_record_among_public_ones_refuses_the_name(no_loopback):
    with loopback_dns() as dns:
        dns.a["hooks.example.com"] = ["93.184.215.14"]
        dns.aaaa["hooks.example.com"] = ["::ffff:10.0.0.7"]
        no_loopback.WEBHOOK_NAMESERVERS = [dns.nameserver]

        with pytest.raises(gateway.TargetRefused, match="a private address"):
            gateway.check_target("https://hooks.example.com/in")


def test_a_name_that_does_not_resolve_is_refused(no_loopback):
    with loopback_dns() as dns:
        no_loopback.WEBHOOK_NAMESERVERS = [dns.nameserver]

        with pytest.raises(gateway.TargetRefused, match="does not resolve"):
            gateway.check_target("https://nowhere.example.com/in")


def test_a_silent_name_server_is_a_refusal_in_bounded_time(no_loopback):
    with loopback_dns() as dns:
        dns.silent = True
        no_loopback.WEBHOOK_NAMESERVERS = [dns.nameserver]
        no_loopback.WEBHOOK_DNS_TIMEOUT = 0.3

        with pytest.raises(gateway.TargetRefused, match="could not be resolved in time"):
            gateway.check_target("https://slow.example.com/in")


def test_the_request_goes_to_the_checked_address_with_the_names_host(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    with loopback_dns() as dns, webhook_receiver(secrets=[]) as receiver:
        dns.a["hooks.example.com"] = ["127.0.0.1"]
        settings.WEBHOOK_NAMESERVERS = [dns.nameserver]

        answer = gateway.post(url=f"http://hooks.example.com:{receiver.port}/hooks", body=b"{}", headers={}, timeout=5)
        asked = list(dns.questions)

    # The receiver refuses the unsigned body (401), which proves the request reached it.
    assert answer.status_code == 401
    assert "hooks.example.com" in asked
    assert receiver.requests == 1


def test_the_pinned_request_keeps_host_and_tls_name():
    target = gateway.Target(
        url=gateway.parse_url("https://hooks.example.com/in?a=1")[0],
        host="hooks.example.com",
        port=443,
        address=ipaddress.ip_address("93.184.215.14"),
    )

    url, host_header, extensions = gateway._pinned(target)

    assert url == "https://93.184.215.14:443/in?a=1"
    assert host_header == {"Host": "hooks.example.com"}
    assert extensions == {"sni_hostname": "hooks.example.com"}


def test_an_endpoint_aimed_at_the_metadata_service_is_400(tenant_a, no_loopback):
    response = tenant_a.api().post(
        "/webhooks/endpoints", {"url": "https://169.254.169.254/latest", "event_types": ["invoice.paid"]}
    )

    body = assert_refused(response, 400)
    assert body["errors"][0]["field"] == "url"


def test_an_endpoint_aimed_at_a_name_resolving_to_loopback_is_400(tenant_a, no_loopback):
    with loopback_dns() as dns:
        dns.a["internal.example.com"] = ["127.0.0.1"]
        no_loopback.WEBHOOK_NAMESERVERS = [dns.nameserver]

        response = tenant_a.api().post(
            "/webhooks/endpoints", {"url": "https://internal.example.com/", "event_types": ["invoice.paid"]}
        )

    assert assert_refused(response, 400)["errors"][0]["field"] == "url"
