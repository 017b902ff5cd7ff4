"""Tenants' own domains: claimed with a DNS TXT token, resolving like a subdomain (a Domain
row) once the token is found, and answered for by Caddy's on-demand TLS question only then."""

import ipaddress
import re
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from shared_apps.audit import services as audit
from shared_apps.errors import Conflict, NotFound, ValidationFailed, violated_constraint
from shared_apps.tenants import dns_verification, queries
from shared_apps.tenants.models import CustomDomain, Domain, Tenant

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed("Invalid domain.", details=[{"field": "domain", "message": message}])


def normalize_domain(value: str) -> str:
    """A lowercase ASCII (IDNA) host name of two labels or more, not an IP address, not under
    BASE_DOMAIN (those are the tenants' subdomains) and without `www.` (a request for
    `www.<domain>` resolves to `<domain>`)."""
    domain = value.strip().rstrip(".").lower()
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise _invalid("Not a valid host name.") from None
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise _invalid("A host name such as book.example.com.")
    try:
        ipaddress.ip_address(domain)
    except ValueError:
        pass
    else:
        raise _invalid("An IP address is not a domain.")
    if labels[-1].isdigit():
        raise _invalid("A host name such as book.example.com.")
    base = settings.BASE_DOMAIN
    if domain == base or domain.endswith(f".{base}"):
        raise _invalid(f"Hosts under {base} are the businesses' own subdomains.")
    if labels[0] == "www":
        raise _invalid(f"Add {domain[4:]}; www.{domain[4:]} then resolves too.")
    return domain


def list_custom_domains(*, tenant_id: int):
    return CustomDomain.objects.filter(tenant_id=tenant_id).order_by("id")


def get_custom_domain(*, tenant_id: int, domain_id: int) -> CustomDomain:
    custom = CustomDomain.objects.filter(tenant_id=tenant_id, pk=domain_id).first()
    if custom is None:
        raise NotFound("Domain not found.")
    return custom


def _taken() -> Conflict:
    return Conflict("That domain belongs to another business.", code="domain_taken", details=[{"field": "domain"}])


def add_custom_domain(*, tenant_id: int, domain: str) -> CustomDomain:
    """Claim `domain` for the tenant with a fresh verification token. Conflict when another
    business already proved it is theirs, or this one has claimed it already."""
    domain = normalize_domain(domain)
    with transaction.atomic():
        queries.get_tenant_for_update(tenant_id=tenant_id)  # one claim at a time per tenant: the limit holds
        if Domain.objects.filter(domain=domain).exclude(tenant_id=tenant_id).exists():
            raise _taken()
        if CustomDomain.objects.filter(tenant_id=tenant_id).count() >= settings.MAX_CUSTOM_DOMAINS:
            raise Conflict(
                f"A business may have at most {settings.MAX_CUSTOM_DOMAINS} domains.", code="too_many_domains"
            )
        try:
            with transaction.atomic():
                custom = CustomDomain.objects.create(
                    tenant_id=tenant_id, domain=domain, verification_token=secrets.token_urlsafe(24)
                )
        except IntegrityError as error:
            if violated_constraint(error) != "custom_domain_unique_per_tenant":
                raise
            raise Conflict(
                "This business has added that domain already.", code="domain_exists", details=[{"field": "domain"}]
            ) from None
        audit.record(action="custom_domain.added", tenant_id=tenant_id, target=f"domain:{domain}")
    return custom


def verify_custom_domain(*, tenant_id: int, domain_id: int) -> CustomDomain:
    """Look for the token in DNS; when found, the domain resolves to the tenant from the next
    request on. Conflict when the record is missing (`verification_failed`), DNS did not answer
    (`dns_unavailable`) or another business proved the domain first (`domain_taken`)."""
    custom = get_custom_domain(tenant_id=tenant_id, domain_id=domain_id)
    if custom.verified_at is not None:
        return custom
    # Outside any transaction: the lookup may take DOMAIN_VERIFICATION_TIMEOUT.
    name = dns_verification.record_name(custom.domain)
    expected = dns_verification.record_value(custom.verification_token)
    if expected not in dns_verification.txt_values(name):
        raise Conflict(
            "The verification record was not found.",
            code="verification_failed",
            details=[{"record": name, "type": "TXT", "value": expected}],
        )
    try:
        with transaction.atomic():
            custom = CustomDomain.objects.select_for_update().get(pk=custom.pk)
            if custom.verified_at is None:
                Domain.objects.create(domain=custom.domain, tenant_id=tenant_id, is_primary=False)
                custom.verified_at = timezone.now()
                custom.save(update_fields=["verified_at"])
                audit.record(action="custom_domain.verified", tenant_id=tenant_id, target=f"domain:{custom.domain}")
    except IntegrityError as error:
        if violated_constraint(error) != "tenants_domain_domain_key":
            raise
        raise _taken() from None
    return custom


def remove_custom_domain(*, tenant_id: int, domain_id: int) -> None:
    """Forget the claim; a verified domain stops resolving at once."""
    with transaction.atomic():
        custom = get_custom_domain(tenant_id=tenant_id, domain_id=domain_id)
        Domain.objects.filter(domain=custom.domain, tenant_id=tenant_id).delete()
        custom.delete()
        audit.record(action="custom_domain.removed", tenant_id=tenant_id, target=f"domain:{custom.domain}")


def may_issue_certificate(*, domain: str) -> bool:
    """Caddy's on-demand TLS question: is `domain` (or the domain its `www.` form names) a host
    of an active business? Nothing else gets a certificate."""
    host = domain.strip().rstrip(".").lower()
    host = host.removeprefix("www.")
    return Domain.objects.filter(domain=host, tenant__in=Tenant.objects.active()).exists()
