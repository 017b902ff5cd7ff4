"""Auth (public schema) and the tenant's users."""

from datetime import datetime
from typing import Annotated

from ninja import Router, Schema
from pydantic import Field

from api.auth import Actor, ApiRequest, manager, signed_in
from api.lists import paginate
from api.openapi import ErrorEnvelope
from api.ratelimit import enforce_rate_limit
from api.schemas import RowId, StrictSchema, enum_of, example
from api.tenancy import require_api_host
from shared_apps.accounts import invitations, services
from shared_apps.accounts.models import Membership
from shared_apps.accounts.services import IssuedTokens
from shared_apps.tenants.services import tenant_host

router = Router(tags=["auth"])
users_router = Router(tags=["users"])


class RegisterIn(StrictSchema):
    model_config = example(
        business_name="Acme Plumbing",
        email="owner@acme.example",
        password="correct-horse-battery-staple",  # noqa: S106 - an example in the docs
        slug="acme",
        full_name="Ada Owner",
        timezone="America/New_York",
        currency="usd",
    )

    business_name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)
    slug: str | None = Field(default=None, max_length=63)
    full_name: str = Field(default="", max_length=200)
    timezone: str = "UTC"
    currency: str = "usd"


class LoginIn(StrictSchema):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)
    tenant: str | None = Field(default=None, max_length=63)


class RefreshIn(StrictSchema):
    refresh_token: str = Field(max_length=200)


class TenantOut(Schema):
    id: int
    slug: str
    name: str
    domain: str


class UserOut(Schema):
    id: int
    email: str
    full_name: str = ""


class TokensOut(Schema):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme's name, not a secret
    expires_in: int
    tenant: TenantOut | None
    user: UserOut


class MembershipOut(Schema):
    tenant: str
    tenant_name: str
    role: Annotated[str, enum_of(Membership.Role)]


class MeOut(Schema):
    user: UserOut
    memberships: list[MembershipOut]


def tokens_out(tokens: IssuedTokens) -> TokensOut:
    tenant = tokens.tenant
    return TokensOut(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        tenant=TenantOut(
            id=tenant.pk, slug=tenant.claimed_slug, name=tenant.name, domain=tenant_host(slug=tenant.claimed_slug)
        )
        if tenant
        else None,
        user=UserOut(id=tokens.user.pk, email=tokens.user.email, full_name=tokens.user.full_name),
    )


@router.post("/register", response={201: TokensOut}, auth=None)
def register(request: ApiRequest, payload: RegisterIn):
    """Create an account and its business (owner), and sign in: answers the tokens.
    Rate-limited; on the API host only."""
    enforce_rate_limit(request, "register")
    require_api_host(request)
    tokens = services.register_business(
        business_name=payload.business_name,
        email=payload.email,
        password=payload.password,
        slug=payload.slug,
        full_name=payload.full_name,
        timezone_name=payload.timezone,
        currency=payload.currency,
    )
    return 201, tokens_out(tokens)


@router.post("/login", response=TokensOut, auth=None)
def login(request: ApiRequest, payload: LoginIn):
    """Sign in with email and password: an access token (valid `expires_in` seconds) and a
    refresh token. A member of several businesses names one in `tenant` (else 400
    `tenant_required` lists the choices). Rate-limited."""
    enforce_rate_limit(request, "login")
    return tokens_out(services.login(email=payload.email, password=payload.password, tenant_slug=payload.tenant))


@router.post("/refresh", response=TokensOut, auth=None)
def refresh(request: ApiRequest, payload: RefreshIn):
    """Trade a refresh token for new tokens; the old refresh token stops working (rotation).
    Rate-limited."""
    enforce_rate_limit(request, "refresh")
    return tokens_out(services.refresh_tokens(refresh_token=payload.refresh_token))


class AcceptInviteIn(StrictSchema):
    token: str = Field(min_length=1, max_length=200)
    password: str | None = Field(default=None, max_length=256)
    full_name: str = Field(default="", max_length=200)


# 410: a used, revoked or expired invitation (the other error statuses are added by api/openapi.py).
@router.post("/accept-invite", response={200: TokensOut, 410: ErrorEnvelope}, auth=None)
def accept_invite(request: ApiRequest, payload: AcceptInviteIn):
    """An existing account proves itself with its access token (Authorization) or password; a
    new one sets its password here."""
    # Accepting with a password is a sign-in: it shares the login limit.
    enforce_rate_limit(request, "login")
    if request.token_error is not None:
        raise request.token_error
    claims = request.access_claims
    return tokens_out(
        invitations.accept_invitation(
            token=payload.token,
            password=payload.password,
            full_name=payload.full_name,
            signed_in_user_id=claims.user_id if claims else None,
        )
    )


@router.post("/logout", response={204: None}, auth=signed_in)
def logout(request: ApiRequest, payload: RefreshIn):
    """Revoke the given refresh token and end its session: the access tokens of the session
    stop working at once."""
    claims = request.access_claims
    assert claims is not None  # signed_in let the request through
    services.logout(
        user_id=request.auth.user_id,
        refresh_token=payload.refresh_token,
        access_jti=claims.jti,
        access_session=claims.session,
    )
    return 204, None


@router.get("/me", response=MeOut, auth=signed_in)
def me(request: ApiRequest):
    """The signed-in user and the businesses they belong to, with their role in each."""
    actor: Actor = request.auth
    account = services.get_account(user_id=actor.user_id)
    user = account.user
    return MeOut(
        user=UserOut(id=user.pk, email=user.email, full_name=user.full_name),
        memberships=[
            MembershipOut(tenant=m.tenant.claimed_slug, tenant_name=m.tenant.name, role=m.role)
            for m in account.memberships
        ],
    )


class MemberOut(Schema):
    id: int = Field(alias="user_id")
    email: str = Field(alias="user.email")
    full_name: str = Field(alias="user.full_name")
    role: Annotated[str, enum_of(Membership.Role)]
    joined_at: datetime = Field(alias="created_at")


class RoleIn(StrictSchema):
    role: Annotated[str, enum_of(Membership.Role)]


@users_router.get("", response=list[MemberOut], auth=manager)
@paginate
def list_users(request: ApiRequest):
    """The business's members and their roles (owners and admins)."""
    return services.list_members(tenant_id=request.auth.tenant_id)


@users_router.patch("/{user_id}", response=MemberOut, auth=manager)
def change_role(request: ApiRequest, user_id: RowId, payload: RoleIn):
    """Change a member's role (owners and admins; only an owner makes or unmakes owners; the
    last owner stays)."""
    return services.change_member_role(
        tenant_id=request.auth.tenant_id, actor_role=request.auth.role, user_id=user_id, role=payload.role
    )


@users_router.delete("/{user_id}", response={204: None}, auth=manager)
def remove_user(request: ApiRequest, user_id: RowId):
    """Remove a member from the business; their tokens stop working for it at once."""
    services.remove_member(tenant_id=request.auth.tenant_id, actor_role=request.auth.role, user_id=user_id)
    return 204, None
