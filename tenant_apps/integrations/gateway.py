"""The one door to URLs a business chose: httpx behind an SSRF guard.

A target's host is resolved here (dnspython, bounded time) and every address it resolves to
must be public: loopback, private, shared (CGNAT), link-local (cloud metadata at
169.254.169.254), unspecified, multicast and reserved addresses are refused, also when written
as IPv6 (IPv4-mapped, 6to4, NAT64). The request then goes to the address that was checked (the
URL's host stays in the Host header and in TLS SNI and certificate checks), so a second lookup
cannot point it elsewhere; redirects are never followed, proxies from the environment never
used, and the whole exchange is bounded by the timeout. WEBHOOK_ALLOW_LOOPBACK (development,
tests) admits http:// and loopback addresses, nothing else."""

import functools
import ipaddress
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit, urlunsplit

from django.conf import settings

from shared_apps.tenants.dns_verification import build_resolver

if TYPE_CHECKING:
    pass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# How much of an answer's body is kept in the delivery log (and read at all).
EXCERPT_BYTES = 1000
# Names that are loopback by definition (RFC 6761), whatever a resolver says.
LOOPBACK_NAMES = ("localhost",)
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")


class TargetRefused(Exception):
    """The URL may not be called: its form, or an address its host resolves to."""


@dataclass(frozen=True)
class Target:
    """A URL and the checked address a request to it connects to."""

    url: SplitResult
    host: str
    port: int
    address: IPAddress


@dataclass(frozen=True)
class Answer:
    """What came of one POST: the status (None when no answer came), the time it took, the
    start of the body, and why it failed when it did not answer."""

    status_code: int | None
    latency_ms: int
    excerpt: str
    error: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: IPAddress) -> str | None:
    """Why a request may not go to `address` (None: it may)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return refusal(embedded)
    if address.is_loopback:
        return None if settings.WEBHOOK_ALLOW_LOOPBACK else "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local:
        return "a link-local address (cloud metadata)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "a reserved or non-public address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a reserved or non-public address"
    return None


def parse_url(url: str) -> tuple[SplitResult, str, int]:
    """The URL's parts, host and port, or TargetRefused for a form that is never called:
    a scheme other than https (http too while loopback is allowed), credentials, no host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("The URL is not valid.") from None
    schemes = ("https", "http") if settings.WEBHOOK_ALLOW_LOOPBACK else ("https",)
    if parts.scheme not in schemes:
        raise TargetRefused("The URL must use https.")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("The URL must not contain credentials.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise TargetRefused("The URL has no host.")
    return parts, host, port or (443 if parts.scheme == "https" else 80)


def _addresses(host: str) -> list[IPAddress]:
    """Every address `host` stands for: itself when it is one, else its A and AAAA records."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    if host.lower() in LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return [ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1")]
    import dns.exception
    import dns.rdatatype
    import dns.resolver

    resolver = build_resolver(nameservers=settings.WEBHOOK_NAMESERVERS, timeout=settings.WEBHOOK_DNS_TIMEOUT)
    found: list[IPAddress] = []
    for record_type in (dns.rdatatype.A, dns.rdatatype.AAAA):
        try:
            answer = resolver.resolve(host, record_type, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            continue
        except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.NoRootSOA):
            raise TargetRefused(f"The host {host} could not be resolved in time.") from None
        except (dns.exception.DNSException, UnicodeError, ValueError):
            raise TargetRefused(f"The host {host} is not a valid name.") from None
        found.extend(ipaddress.ip_address(record.address) for record in answer)
    if not found:
        raise TargetRefused(f"The host {host} does not resolve.")
    return found


def check_target(url: str) -> Target:
    """The URL and the address to connect to, or TargetRefused when its form is refused or any
    address its host resolves to is (one bad record refuses the name: which record a later
    lookup would pick is not ours to choose)."""
    parts, host, port = parse_url(url)
    addresses = _addresses(host)
    for address in addresses:
        reason = refusal(address)
        if reason is not None:
            raise TargetRefused(f"The host {host} resolves to {reason} ({address}); only public addresses are called.")
    # IPv4 first: more receivers listen on it.
    address = sorted(addresses, key=lambda candidate: candidate.version)[0]
    return Target(url=parts, host=host, port=port, address=address)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Built once: loading the CA bundle for every request would cost more than the request."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _pinned(target: Target) -> tuple[str, dict[str, str], dict[str, str]]:
    """The URL naming the checked address, the Host header and the request's TLS name."""
    address = f"[{target.address}]" if target.address.version == 6 else str(target.address)
    default_port = 443 if target.url.scheme == "https" else 80
    netloc = f"{address}:{target.port}"
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    url = urlunsplit((target.url.scheme, netloc, target.url.path or "/", target.url.query, ""))
    extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
    return url, {"Host": host_header}, extensions


def post(*, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST `body` to `url` (checked here, then pinned), without following redirects, within
    `timeout` seconds in all; reads at most EXCERPT_BYTES of the answer. Raises TargetRefused
    before any connection is made to a refused target."""
    import httpx

    target = check_target(url)
    pinned_url, host_header, extensions = _pinned(target)
    started = time.monotonic()
    deadline = started + timeout

    def elapsed_ms() -> int:
        return round((time.monotonic() - started) * 1000)

    with httpx.Client(
        timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False, verify=_tls_context()
    ) as client:
        try:
            with client.stream(
                "POST",
                pinned_url,
                content=body,
                headers={**headers, **host_header, "Content-Type": "application/json"},
                extensions=extensions,
            ) as response:
                excerpt = b""
                for chunk in response.iter_raw():
                    excerpt += chunk
                    if len(excerpt) >= EXCERPT_BYTES or time.monotonic() > deadline:
                        break
                if time.monotonic() > deadline:
                    return Answer(None, elapsed_ms(), "", f"No complete answer within {timeout:g} s.")
                text = excerpt[:EXCERPT_BYTES].decode("utf-8", errors="replace")
                return Answer(response.status_code, elapsed_ms(), text, "")
        except httpx.TimeoutException:
            return Answer(None, elapsed_ms(), "", f"No answer within {timeout:g} s.")
        except httpx.HTTPError as error:
            return Answer(None, elapsed_ms(), "", f"Connection failed ({type(error).__name__}).")
