"""The DNS lookup that proves a tenant controls a custom domain: the TXT records of
`_sd-verify.<domain>`, through dnspython with a bounded lifetime. The name servers come from
DOMAIN_VERIFICATION_NAMESERVERS (the system's resolver when empty), which is also how tests
point it at a loopback DNS server."""

from typing import TYPE_CHECKING

from django.conf import settings

from shared_apps.errors import Conflict

if TYPE_CHECKING:
    import dns.resolver

RECORD_PREFIX = "_sd-verify"
VALUE_PREFIX = "sd-verify="


def record_name(domain: str) -> str:
    return f"{RECORD_PREFIX}.{domain}"


def record_value(token: str) -> str:
    return f"{VALUE_PREFIX}{token}"


def build_resolver(*, nameservers: list[str], timeout: float) -> "dns.resolver.Resolver":
    """A dnspython resolver asking `nameservers` (`host` or `host:port`; the system's when
    empty), giving up after `timeout` seconds. Also resolves outbound webhook targets."""
    # Imported on first use: dnspython costs every process about 0.1 s at start, and only
    # verifying a domain or resolving a webhook target needs it.
    import dns.nameserver
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=not nameservers)
    if nameservers:
        servers: list[str | dns.nameserver.Nameserver] = []
        for entry in nameservers:
            address, _, port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
            servers.append(dns.nameserver.Do53Nameserver(address, int(port or 53)))
        resolver.nameservers = servers
    resolver.lifetime = timeout
    resolver.timeout = timeout
    return resolver


def _resolver() -> "dns.resolver.Resolver":
    return build_resolver(
        nameservers=settings.DOMAIN_VERIFICATION_NAMESERVERS, timeout=settings.DOMAIN_VERIFICATION_TIMEOUT
    )


def txt_values(name: str) -> list[str]:
    """Every TXT string at `name` (none when the name or the record does not exist). Raises
    Conflict (`dns_unavailable`) when no name server answered in time: the caller may retry."""
    import dns.exception
    import dns.rdatatype
    import dns.resolver

    try:
        answer = _resolver().resolve(name, dns.rdatatype.TXT, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers):
        raise Conflict(
            "The DNS lookup did not complete; try again shortly.",
            code="dns_unavailable",
            details=[{"record": name}],
        ) from None
    return [b"".join(record.strings).decode("utf-8", errors="replace") for record in answer]
