"""The rules for accounts: registration, sign-in, token rotation, memberships."""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.cache import caches
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from shared_apps.accounts.models import Membership, RefreshToken, User
from shared_apps.accounts.revocation import revoke_access_tokens
from shared_apps.accounts.tokens import hash_refresh_token, issue_access_token, new_refresh_token
from shared_apps.audit import services as audit
from shared_apps.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    violated_constraint,
)
from shared_apps.events.actors import user_actor
from shared_apps.events.services import emit
from shared_apps.tenants import queries as tenant_queries
from shared_apps.tenants.models import Tenant
from shared_apps.tenants.services import create_tenant, require_active_tenant, slug_from_name

BAD_CREDENTIALS = "Invalid email or password."
MANAGER_ROLES = frozenset({Membership.Role.OWNER, Membership.Role.ADMIN})
OWNER_ROLE = Membership.Role.OWNER
# The unique constraint on users' emails (stored lower-case, so unique case-insensitively).
USER_EMAIL_CONSTRAINT = "accounts_user_email_key"


@dataclass(frozen=True)
class IssuedTokens:
    user: User
    tenant: Tenant | None
    role: str | None
    access_token: str
    refresh_token: str
    expires_in: int


def _issue_tokens(
    *, user: User, tenant: Tenant | None, role: str | None, family: uuid.UUID | None = None
) -> IssuedTokens:
    """A refresh token in `family` (a new session when None) and an access token naming that
    session, so logging out refuses the session's access tokens too."""
    raw, digest = new_refresh_token()
    family = family or uuid.uuid4()
    RefreshToken.objects.create(
        token_hash=digest,
        user=user,
        tenant=tenant,
        expires_at=timezone.now() + settings.REFRESH_TOKEN_EXPIRES_IN,
        family=family,
    )
    access = issue_access_token(
        user_id=user.pk, tenant_schema=tenant.schema_name if tenant else None, role=role, session=str(family)
    )
    return IssuedTokens(
        user=user,
        tenant=tenant,
        role=role,
        access_token=access,
        refresh_token=raw,
        expires_in=int(settings.JWT_EXPIRES_IN.total_seconds()),
    )


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValidationFailed(
            "Invalid email.", details=[{"field": "email", "message": "Not a valid email."}]
        ) from None
    return email


def check_password_strength(*, password: str, email: str, full_name: str = "") -> None:
    try:
        validate_password(password, user=User(email=email, full_name=full_name))
    except DjangoValidationError as error:
        raise ValidationFailed(
            "Password too weak.", details=[{"field": "password", "message": message} for message in error.messages]
        ) from None


def _email_taken() -> Conflict:
    return Conflict("That email is already registered.", code="email_taken", details=[{"field": "email"}])


def register_business(
    *,
    business_name: str,
    email: str,
    password: str,
    slug: str | None = None,
    full_name: str = "",
    timezone_name: str = "UTC",
    currency: str = "usd",
) -> IssuedTokens:
    """Create a tenant (`create_tenant`: schema claimed from the pool, host) and its owner in
    one transaction: if any part fails, nothing is left behind. A taken email or slug, also
    when a concurrent registration takes it first, is a Conflict naming which."""
    email = normalize_email(email)
    business_name = business_name.strip()
    if not business_name:
        raise ValidationFailed("Invalid business name.", details=[{"field": "business_name", "message": "Required."}])
    check_password_strength(password=password, email=email, full_name=full_name)
    try:
        with transaction.atomic():
            if User.objects.filter(email__iexact=email).exists():
                raise _email_taken()
            tenant = create_tenant(
                slug=slug or slug_from_name(business_name),
                name=business_name,
                timezone_name=timezone_name,
                currency=currency,
            )
            user = User.objects.create_user(email, password, full_name=full_name.strip())
            add_member(user=user, tenant=tenant, role=Membership.Role.OWNER)
            tokens = _issue_tokens(user=user, tenant=tenant, role=Membership.Role.OWNER)
    except IntegrityError as error:
        if violated_constraint(error) != USER_EMAIL_CONSTRAINT:
            raise
        raise _email_taken() from None
    tenant_queries.forget_tenant(tenant)
    return tokens


def _failed_login(*, email: str, tenant_slug: str | None, user: User | None, reason: str) -> NotAuthenticated:
    """Record a refused sign-in (audit trail: the business named, if any, sees it) and answer
    the one message every refusal shares."""
    tenant_id = Tenant.objects.filter(slug=tenant_slug).values_list("pk", flat=True).first() if tenant_slug else None
    audit.record(
        action="auth.login_failed",
        tenant_id=tenant_id,
        target=f"user:{user.pk}" if user else "",
        details={"email": email.strip().lower()[:254], "reason": reason},
    )
    return NotAuthenticated(BAD_CREDENTIALS, code="bad_credentials")


def _signed_in(*, user: User, tenant: Tenant | None, role: str | None) -> IssuedTokens:
    audit.record(
        action="auth.login",
        tenant_id=tenant.pk if tenant else None,
        target=f"user:{user.pk}",
        actor=user_actor(user.pk),
        details={"role": role} if role else {},
    )
    return _issue_tokens(user=user, tenant=tenant, role=role)


def login(*, email: str, password: str, tenant_slug: str | None = None) -> IssuedTokens:
    """Check credentials and choose the tenant. Unknown email and wrong password fail alike,
    and take as long as each other (a hash is computed either way). Each sign-in and each
    refusal is in the audit trail."""
    user = User.objects.filter(email__iexact=email.strip()).first()
    if user is None:
        make_password(password)
        raise _failed_login(email=email, tenant_slug=tenant_slug, user=None, reason="unknown_email")
    if not user.check_password(password) or not user.is_active:
        raise _failed_login(email=email, tenant_slug=tenant_slug, user=user, reason="bad_password")
    if user.is_platform_admin and not tenant_slug:
        # Platform powers never depend on memberships: without a chosen tenant a platform
        # admin always gets a platform token, whatever businesses they belong to.
        return _signed_in(user=user, tenant=None, role=None)
    memberships = list(
        Membership.objects.select_related("tenant").filter(user=user).exclude(tenant__status=Tenant.Status.POOLED)
    )
    if tenant_slug:
        memberships = [membership for membership in memberships if membership.tenant.slug == tenant_slug]
        if not memberships:
            raise _failed_login(email=email, tenant_slug=tenant_slug, user=user, reason="not_a_member")
    if len(memberships) > 1:
        raise ValidationFailed(
            "Choose a tenant.",
            code="tenant_required",
            details=[{"field": "tenant", "choices": sorted(m.tenant.slug for m in memberships)}],
        )
    if not memberships:
        raise _failed_login(email=email, tenant_slug=tenant_slug, user=user, reason="not_a_member")
    membership = memberships[0]
    require_active_tenant(tenant=membership.tenant)
    return _signed_in(user=user, tenant=membership.tenant, role=membership.role)


def refresh_tokens(*, refresh_token: str) -> IssuedTokens:
    """Rotate: spend the presented token and issue a new pair in the same family. A token
    presented a second time means it leaked: the whole family is revoked.

    Every refresh of a family is serialized on the family's first row, and the new token is
    written before that lock is released: a request that then finds a spent token revokes a
    family that already holds every token issued so far, whichever request ran first."""
    digest = hash_refresh_token(refresh_token)
    now = timezone.now()
    family = RefreshToken.objects.filter(token_hash=digest).values_list("family", flat=True).first()
    if family is None:
        raise NotAuthenticated("The refresh token is invalid.", code="refresh_invalid")
    with transaction.atomic():
        _lock_refresh_family(family=family)
        token = (
            RefreshToken.objects.select_for_update(of=("self",))
            .select_related("user", "tenant")
            .filter(token_hash=digest)
            .first()
        )
        if token is None or token.revoked_at is not None or token.expires_at <= now:
            raise NotAuthenticated("The refresh token is invalid.", code="refresh_invalid")
        if token.used_at is None:
            token.used_at = now
            token.save(update_fields=["used_at"])
            role = _role_for_refresh(user=token.user, tenant=token.tenant)
            return _issue_tokens(user=token.user, tenant=token.tenant, role=role, family=family)
        RefreshToken.objects.filter(family=family, revoked_at__isnull=True).update(revoked_at=now)
        audit.record(
            action="auth.refresh_reused",
            tenant_id=token.tenant_id,
            target=f"user:{token.user_id}",
            actor=user_actor(token.user_id),
            details={"session": str(family)},
        )
    revoke_access_tokens(session=str(family))
    # Raised after the commit, so the family's revocation sticks.
    raise NotAuthenticated("The refresh token was already used; sign in again.", code="refresh_reused")


def _lock_refresh_family(*, family: uuid.UUID) -> None:
    """Lock the family's first token: the one lock every refresh of the family takes first."""
    RefreshToken.objects.select_for_update().filter(family=family).order_by("pk").values_list("pk").first()


def _role_for_refresh(*, user: User, tenant: Tenant | None) -> str | None:
    """The role a refreshed access token carries; refused when the account or membership is gone."""
    if not user.is_active:
        raise NotAuthenticated("The refresh token is invalid.", code="refresh_invalid")
    if tenant is None:
        return None
    role = member_role(user_id=user.pk, tenant_id=tenant.pk)
    if role is None:
        raise NotAuthenticated("You are no longer a member of this business.", code="membership_removed")
    require_active_tenant(tenant=tenant)
    return role


def logout(*, user_id: int, refresh_token: str, access_jti: str, access_session: str | None) -> None:
    """End the session of the presented refresh token (only the caller's own): its refresh
    tokens are revoked, and its access tokens and the one presented stop working at once
    (shared_apps/accounts/revocation.py)."""
    family = (
        RefreshToken.objects.filter(token_hash=hash_refresh_token(refresh_token), user_id=user_id)
        .values_list("family", flat=True)
        .first()
    )
    if family is not None:
        RefreshToken.objects.filter(family=family, user_id=user_id, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    revoke_access_tokens(session=str(family) if family else access_session, jti=access_jti)


def _membership_cache_key(*, user_id: int, tenant_id: int) -> str:
    return f"membership:{tenant_id}:{user_id}"


# Stored for users who are not members, so a stranger's requests stay off the database.
_NOT_A_MEMBER = "-"


def member_role(*, user_id: int, tenant_id: int) -> str | None:
    """The user's role in the tenant, or None. Cached in Redis and dropped on every change,
    so a removed member loses access on the next request."""
    cache = caches["global"]
    key = _membership_cache_key(user_id=user_id, tenant_id=tenant_id)
    role = cache.get(key)
    if role is None:
        role = (
            Membership.objects.filter(user_id=user_id, tenant_id=tenant_id).values_list("role", flat=True).first()
            or _NOT_A_MEMBER
        )
        cache.set(key, role, settings.MEMBERSHIP_CACHE_SECONDS)
    return None if role == _NOT_A_MEMBER else role


def _forget_membership(*, user_id: int, tenant_id: int) -> None:
    caches["global"].delete(_membership_cache_key(user_id=user_id, tenant_id=tenant_id))


def member_ids(*, tenant_id: int) -> list[int]:
    """The user ids of every member of the tenant, ascending."""
    return sorted(Membership.objects.filter(tenant_id=tenant_id).values_list("user_id", flat=True))


def list_members(*, tenant_id: int):
    return Membership.objects.select_related("user").filter(tenant_id=tenant_id).order_by("id")


def _require_manager(actor_role: str) -> None:
    if actor_role not in MANAGER_ROLES:
        raise PermissionDenied("Only owners and admins manage users.", code="role_forbidden")


def _check_role(role: str) -> str:
    if role not in Membership.Role.values:
        raise ValidationFailed(
            "Invalid role.", details=[{"field": "role", "message": f"One of {', '.join(Membership.Role.values)}."}]
        )
    return role


def _lock_owners(*, tenant_id: int) -> list[int]:
    """Lock the tenant's owner memberships (in pk order) and return their user ids. Taken
    before any role change or removal, so two owners demoting each other at once are
    counted one after the other and the business keeps an owner."""
    return list(
        Membership.objects.select_for_update()
        .filter(tenant_id=tenant_id, role=Membership.Role.OWNER)
        .order_by("pk")
        .values_list("user_id", flat=True)
    )


def add_member(*, user: User, tenant: Tenant, role: str) -> Membership:
    """Make `user` a member of `tenant` with `role` (the caller checked they may join)."""
    membership = Membership.objects.create(user=user, tenant=tenant, role=role)
    emit("member.joined", tenant_schema=tenant.schema_name, user_id=user.pk, role=role)
    return membership


def change_member_role(*, tenant_id: int, actor_role: str, user_id: int, role: str) -> Membership:
    _require_manager(actor_role)
    role = _check_role(role)
    with transaction.atomic():
        owner_ids = _lock_owners(tenant_id=tenant_id)
        membership = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("user", "tenant")
            .filter(tenant_id=tenant_id, user_id=user_id)
        ).first()
        if membership is None:
            raise NotFound("User not found.")
        touches_owner = Membership.Role.OWNER in (role, membership.role)
        if touches_owner and actor_role != Membership.Role.OWNER:
            raise PermissionDenied("Only owners can grant or take the owner role.", code="role_forbidden")
        if membership.role == Membership.Role.OWNER and role != Membership.Role.OWNER and len(owner_ids) == 1:
            raise Conflict("A business needs at least one owner.", code="last_owner")
        previous_role = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        if role != previous_role:
            audit.record(
                action="member.role_changed",
                tenant_id=tenant_id,
                target=f"user:{user_id}",
                details={"role": {"before": previous_role, "after": role}},
            )
            emit(
                "member.role_changed",
                tenant_schema=membership.tenant.schema_name,
                user_id=user_id,
                role=role,
                previous_role=previous_role,
            )
    _forget_membership(user_id=user_id, tenant_id=tenant_id)
    return membership


def remove_member(*, tenant_id: int, actor_role: str, user_id: int) -> None:
    """Remove the membership (the account stays) and revoke its refresh tokens here."""
    _require_manager(actor_role)
    with transaction.atomic():
        owner_ids = _lock_owners(tenant_id=tenant_id)
        membership = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("tenant")
            .filter(tenant_id=tenant_id, user_id=user_id)
            .first()
        )
        if membership is None:
            raise NotFound("User not found.")
        if membership.role == Membership.Role.OWNER:
            if actor_role != Membership.Role.OWNER:
                raise PermissionDenied("Only owners can remove owners.", code="role_forbidden")
            if len(owner_ids) == 1:
                raise Conflict("A business needs at least one owner.", code="last_owner")
        membership.delete()
        audit.record(
            action="member.removed", tenant_id=tenant_id, target=f"user:{user_id}", details={"role": membership.role}
        )
        emit("member.removed", tenant_schema=membership.tenant.schema_name, user_id=user_id, role=membership.role)
        RefreshToken.objects.filter(user_id=user_id, tenant_id=tenant_id, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    _forget_membership(user_id=user_id, tenant_id=tenant_id)


@dataclass(frozen=True)
class Account:
    """A signed-in user and their memberships of businesses (pooled schemas left out)."""

    user: User
    memberships: list[Membership]


def get_account(*, user_id: int) -> Account:
    user = get_user(user_id=user_id)
    memberships = list(
        Membership.objects.select_related("tenant")
        .filter(user_id=user_id)
        .exclude(tenant__status=Tenant.Status.POOLED)
        .order_by("id")
    )
    return Account(user=user, memberships=memberships)


def get_user(*, user_id: int) -> User:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise NotAuthenticated("Unknown user.", code="token_invalid")
    return user
