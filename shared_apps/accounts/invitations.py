"""The rules for staff invitations: nobody joins a business without accepting one.

An invitation is a pending row; its token is a random secret mailed to the invitee (and shown
once to the inviter), stored only as a digest, good once until it expires. Creating one reveals
nothing about whether the email has an account and creates neither account nor membership;
accepting it does, after the invitee proves who they are."""

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from shared_apps.accounts.models import Invitation, Membership, User
from shared_apps.accounts.services import (
    BAD_CREDENTIALS,
    IssuedTokens,
    _check_role,
    _forget_membership,
    _issue_tokens,
    _require_manager,
    add_member,
    check_password_strength,
    normalize_email,
)
from shared_apps.accounts.tokens import hash_invitation_token, new_invitation_token
from shared_apps.audit import services as audit
from shared_apps.errors import Conflict, Gone, NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from shared_apps.events.actors import user_actor
from shared_apps.tenants.models import Tenant
from shared_apps.tenants.services import create_tenant, require_active_tenant

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssuedInvitation:
    """An invitation with the only copy of its token (the database keeps a digest)."""

    invitation: Invitation
    token: str

    @property
    def accept_url(self) -> str:
        return settings.INVITE_ACCEPT_URL.replace("{token}", self.token)


def _require_may_handle(*, actor_role: str, role: str) -> None:
    """Only owners invite owners (as only owners grant the owner role), and only they resend
    or revoke such an invitation."""
    if role == Membership.Role.OWNER and actor_role != Membership.Role.OWNER:
        raise PermissionDenied("Only owners invite owners or handle their invitations.", code="role_forbidden")


def _open_invitations(*, tenant_id: int) -> QuerySet[Invitation]:
    return Invitation.objects.filter(tenant_id=tenant_id, accepted_at__isnull=True, revoked_at__isnull=True)


def _send_invitation_email(*, email: str, tenant_name: str, role: str, expires_at: datetime, accept_url: str) -> None:
    """Mail the link. A mail server that is down must not fail the invitation: the inviter has
    the link from the answer, and can resend. The link is a secret, so it is not logged."""
    body = (
        f"You have been invited to join {tenant_name} as {role}.\n\n"
        f"Accept the invitation here:\n{accept_url}\n\n"
        f"The link works once and expires on {expires_at:%Y-%m-%d %H:%M} UTC. "
        "If you did not expect it, ignore this email."
    )
    try:
        send_mail(f"Invitation to join {tenant_name}", body, settings.DEFAULT_FROM_EMAIL, [email])
    except (smtplib.SMTPException, OSError):
        logger.warning("Could not send an invitation email", exc_info=True, extra={"tenant_name": tenant_name})


def _mail_after_commit(*, issued: IssuedInvitation, tenant_name: str) -> None:
    """Sent in this process once the row is committed: a job would need the plaintext token
    stored in its message, and tokens are never stored."""
    invitation = issued.invitation
    transaction.on_commit(
        lambda: _send_invitation_email(
            email=invitation.email,
            tenant_name=tenant_name,
            role=invitation.role,
            expires_at=invitation.expires_at,
            accept_url=issued.accept_url,
        )
    )


def create_invitation(
    *, tenant_id: int, actor_role: str, inviter_id: int | None, email: str, role: str, send_email: bool = True
) -> IssuedInvitation:
    """Invite `email` to the tenant with `role` and mail the link (unless `send_email` is false:
    a caller that accepts it at once). An open invitation for the same email is replaced (its
    link stops working). The answer is the same whether or not the email has an account."""
    _require_manager(actor_role)
    role = _check_role(role)
    _require_may_handle(actor_role=actor_role, role=role)
    email = normalize_email(email)
    now = timezone.now()
    raw, digest = new_invitation_token()
    try:
        with transaction.atomic():
            tenant = Tenant.objects.get(pk=tenant_id)
            # Members are listed to managers anyway, so this reveals nothing new.
            if Membership.objects.filter(tenant_id=tenant_id, user__email=email).exists():
                raise Conflict("That person is already a member.", code="already_member", details=[{"field": "email"}])
            for previous in _open_invitations(tenant_id=tenant_id).select_for_update().filter(email=email):
                _require_may_handle(actor_role=actor_role, role=previous.role)
                previous.revoked_at = now
                previous.save(update_fields=["revoked_at"])
            invitation = Invitation.objects.create(
                tenant_id=tenant_id,
                email=email,
                role=role,
                invited_by_id=inviter_id,
                token_hash=digest,
                expires_at=now + settings.INVITATION_EXPIRES_IN,
            )
            issued = IssuedInvitation(invitation=invitation, token=raw)
            audit.record(
                action="invitation.sent",
                tenant_id=tenant_id,
                target=f"invitation:{invitation.pk}",
                details={"email": email, "role": role},
            )
            if send_email:
                _mail_after_commit(issued=issued, tenant_name=tenant.name)
    except IntegrityError:
        # Another invitation for this email was created at the same moment.
        raise Conflict(
            "An invitation for this email was just created.", code="invitation_pending", details=[{"field": "email"}]
        ) from None
    return issued


def create_tenant_inviting_owner(
    *,
    slug: str,
    name: str,
    timezone_name: str,
    currency: str,
    owner_email: str | None,
    inviter_id: int | None,
) -> tuple[Tenant, IssuedInvitation | None]:
    """A business made by a platform admin or an operator (`create_tenant`), and with
    `owner_email` its owner's invitation, all or nothing: the business has no member until the
    invitation is accepted."""
    with transaction.atomic():
        tenant = create_tenant(slug=slug, name=name, timezone_name=timezone_name, currency=currency)
        if not owner_email:
            return tenant, None
        issued = create_invitation(
            tenant_id=tenant.pk,
            actor_role=Membership.Role.OWNER,
            inviter_id=inviter_id,
            email=owner_email,
            role=Membership.Role.OWNER,
        )
    return tenant, issued


def list_invitations(*, tenant_id: int) -> QuerySet[Invitation]:
    """Invitations neither accepted nor revoked (expired ones too, so they can be resent)."""
    return _open_invitations(tenant_id=tenant_id).order_by("id")


def _lock_open_invitation(*, tenant_id: int, invitation_id: int, actor_role: str) -> Invitation:
    invitation = (
        _open_invitations(tenant_id=tenant_id)
        .select_for_update(of=("self",))
        .select_related("tenant")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None:
        raise NotFound("Invitation not found.")
    _require_may_handle(actor_role=actor_role, role=invitation.role)
    return invitation


def resend_invitation(*, tenant_id: int, actor_role: str, invitation_id: int) -> IssuedInvitation:
    """Issue a fresh token with a fresh expiry and mail it again; the old link stops working."""
    _require_manager(actor_role)
    raw, digest = new_invitation_token()
    with transaction.atomic():
        invitation = _lock_open_invitation(tenant_id=tenant_id, invitation_id=invitation_id, actor_role=actor_role)
        invitation.token_hash = digest
        invitation.expires_at = timezone.now() + settings.INVITATION_EXPIRES_IN
        invitation.save(update_fields=["token_hash", "expires_at"])
        audit.record(
            action="invitation.resent",
            tenant_id=tenant_id,
            target=f"invitation:{invitation.pk}",
            details={"email": invitation.email, "role": invitation.role},
        )
        issued = IssuedInvitation(invitation=invitation, token=raw)
        _mail_after_commit(issued=issued, tenant_name=invitation.tenant.name)
    return issued


def revoke_invitation(*, tenant_id: int, actor_role: str, invitation_id: int) -> None:
    _require_manager(actor_role)
    with transaction.atomic():
        invitation = _lock_open_invitation(tenant_id=tenant_id, invitation_id=invitation_id, actor_role=actor_role)
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit.record(
            action="invitation.revoked",
            tenant_id=tenant_id,
            target=f"invitation:{invitation.pk}",
            details={"email": invitation.email, "role": invitation.role},
        )


def _check_usable(invitation: Invitation | None, *, now: datetime) -> Invitation:
    if invitation is None:
        raise ValidationFailed(
            "This invitation link is not valid.", code="invite_invalid", details=[{"field": "token"}]
        )
    if invitation.accepted_at is not None:
        raise Gone("This invitation was already accepted.", code="invite_used")
    if invitation.revoked_at is not None:
        raise Gone("This invitation was withdrawn.", code="invite_revoked")
    if invitation.expires_at <= now:
        raise Gone("This invitation has expired; ask for a new one.", code="invite_expired")
    require_active_tenant(tenant=invitation.tenant)
    return invitation


def _password_required() -> ValidationFailed:
    return ValidationFailed(
        "Enter your password (or a new one if you have no account).",
        code="password_required",
        details=[{"field": "password"}],
    )


def _invitee(*, invitation: Invitation, password: str | None, full_name: str, signed_in_user_id: int | None) -> User:
    """The account that joins: the signed-in user if the invitation is theirs, the existing
    account whose password is given, or a new account with the given password. A missing
    password answers alike whether or not an account exists."""
    user = User.objects.filter(email=invitation.email).first()
    if signed_in_user_id is not None:
        if user is None or user.pk != signed_in_user_id or not user.is_active:
            raise PermissionDenied(
                "This invitation is for another email address; sign in as its invitee.", code="invite_other_account"
            )
    elif user is not None:
        if not password:
            raise _password_required()
        if not user.check_password(password) or not user.is_active:
            raise NotAuthenticated(BAD_CREDENTIALS, code="bad_credentials")
    else:
        if not password:
            raise _password_required()
        check_password_strength(password=password, email=invitation.email, full_name=full_name)
        user = User.objects.create_user(invitation.email, password, full_name=full_name.strip())
    # Said only once the caller proved to be this account, so it reveals nothing to a stranger.
    if user.is_platform_admin:
        raise PermissionDenied("Platform admins cannot join a business.", code="platform_admin")
    return user


def accept_invitation(
    *, token: str, password: str | None = None, full_name: str = "", signed_in_user_id: int | None = None
) -> IssuedTokens:
    """Join the invitation's tenant and sign in there. The invitation row is locked, so of
    concurrent accepts of one token exactly one creates the membership; any refusal leaves
    nothing behind."""
    now = timezone.now()
    try:
        with transaction.atomic():
            invitation = _check_usable(
                Invitation.objects.select_for_update(of=("self",))
                .select_related("tenant")
                .filter(token_hash=hash_invitation_token(token))
                .first(),
                now=now,
            )
            user = _invitee(
                invitation=invitation, password=password, full_name=full_name, signed_in_user_id=signed_in_user_id
            )
            if Membership.objects.filter(user=user, tenant_id=invitation.tenant_id).exists():
                raise Conflict("You are already a member of this business.", code="already_member")
            add_member(user=user, tenant=invitation.tenant, role=invitation.role)
            invitation.accepted_at = now
            invitation.accepted_by = user
            invitation.save(update_fields=["accepted_at", "accepted_by"])
            audit.record(
                action="invitation.accepted",
                tenant_id=invitation.tenant_id,
                target=f"invitation:{invitation.pk}",
                details={"email": invitation.email, "role": invitation.role, "user_id": user.pk},
                actor=user_actor(user.pk),
            )
            tokens = _issue_tokens(user=user, tenant=invitation.tenant, role=invitation.role)
    except IntegrityError:
        # The same email got an account through another invitation at the same moment.
        raise Conflict("The invitation could not be accepted; try again.", code="accept_conflict") from None
    _forget_membership(user_id=user.pk, tenant_id=invitation.tenant_id)
    return tokens
