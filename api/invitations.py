"""Staff invitations of the tenant (owners and admins)."""

from datetime import datetime
from typing import Annotated

from ninja import Router, Schema
from pydantic import Field

from api.auth import ApiRequest, manager
from api.lists import paginate
from api.schemas import RowId, StrictSchema, enum_of
from shared_apps.accounts import invitations
from shared_apps.accounts.invitations import IssuedInvitation
from shared_apps.accounts.models import Membership

router = Router(tags=["invitations"], auth=manager)


class InvitationIn(StrictSchema):
    email: str = Field(max_length=254)
    role: Annotated[str, enum_of(Membership.Role)]


class InvitationOut(Schema):
    id: int
    email: str
    role: Annotated[str, enum_of(Membership.Role)]
    invited_by_id: int | None
    created_at: datetime
    expires_at: datetime


class IssuedInvitationOut(Schema):
    """The accept link is shown once, here: only a digest of its token is kept."""

    id: int
    email: str
    role: Annotated[str, enum_of(Membership.Role)]
    expires_at: datetime
    accept_url: str


def issued_out(issued: IssuedInvitation) -> IssuedInvitationOut:
    invitation = issued.invitation
    return IssuedInvitationOut(
        id=invitation.pk,
        email=invitation.email,
        role=invitation.role,
        expires_at=invitation.expires_at,
        accept_url=issued.accept_url,
    )


@router.post("", response={201: IssuedInvitationOut})
def create_invitation(request: ApiRequest, payload: InvitationIn):
    """Invite someone by email with a role; the answer carries the accept link (also emailed),
    valid for a limited time."""
    issued = invitations.create_invitation(
        tenant_id=request.auth.tenant_id,
        actor_role=request.auth.role,
        inviter_id=request.auth.user_id,
        email=payload.email,
        role=payload.role,
    )
    return 201, issued_out(issued)


@router.get("", response=list[InvitationOut])
@paginate
def list_invitations(request: ApiRequest):
    """Invitations still pending, newest first."""
    return invitations.list_invitations(tenant_id=request.auth.tenant_id)


@router.post("/{invitation_id}/resend", response=IssuedInvitationOut)
def resend_invitation(request: ApiRequest, invitation_id: RowId):
    """A fresh link for a pending invitation (the old one stops working), emailed again."""
    return issued_out(
        invitations.resend_invitation(
            tenant_id=request.auth.tenant_id, actor_role=request.auth.role, invitation_id=invitation_id
        )
    )


@router.delete("/{invitation_id}", response={204: None})
def revoke_invitation(request: ApiRequest, invitation_id: RowId):
    """Withdraw a pending invitation; its link stops working."""
    invitations.revoke_invitation(
        tenant_id=request.auth.tenant_id, actor_role=request.auth.role, invitation_id=invitation_id
    )
    return 204, None
