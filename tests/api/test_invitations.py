"""Staff invitations: an invitation takes no account over, reveals nothing
about the email, works once until it expires, and only its accepting creates a membership."""

import email
import email.policy
import hashlib
import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from config.settings import BASE_DIR
from shared_apps.accounts import invitations
from shared_apps.accounts.models import Invitation, Membership, User
from shared_apps.tenants.models import Tenant
from tests.api.generic import CreateTests, DeleteTests, ListTests
from tests.client import ApiClient
from tests.concurrency import run_at_once
from tests.conftest import PASSWORD
from tests.isolation import Route, assert_refused
from tests.test_settings_and_logging import import_settings

TOKEN_IN_LINK = re.compile(r"token=([A-Za-z0-9_-]+)")


def invite(tenant, email_address: str, role: str = "staff", *, as_staff: bool = False):
    return tenant.api(as_staff=as_staff).post("/invitations", {"email": email_address, "role": role})


def token_of(response) -> str:
    return TOKEN_IN_LINK.search(response.json()["accept_url"]).group(1)


def accept(api_host: ApiClient, token: str, **fields):
    return api_host.post("/auth/accept-invite", {"token": token, **fields})


def is_member(user_email: str, tenant) -> bool:
    return Membership.objects.filter(user__email=user_email, tenant=tenant.tenant).exists()


class TestInvitationsAPI(ListTests, CreateTests, DeleteTests):
    path = "/invitations"
    routes = [
        Route("GET", "/invitations"),
        Route("POST", "/invitations", {"email": "new@x.test", "role": "staff"}),
        Route("POST", "/invitations/{id}/resend"),
        Route("DELETE", "/invitations/{id}"),
    ]
    object_routes = [Route("POST", "/invitations/{id}/resend"), Route("DELETE", "/invitations/{id}")]

    # Emails are kept lower-cased; the accept link is shown once, in this answer.
    create_expected = {"email": "helper@alpha.test", "role": "staff"}
    create_fields = {"id", "expires_at", "accept_url"}
    invalid_create = [({"role": "boss"}, "role"), ({"email": "not-an-email"}, "email")]
    # There is no GET /invitations/{id}: a revoked invitation's second DELETE answers 404.
    gone_method = "DELETE"

    def create_data(self, owner):
        return {"email": "Helper@Alpha.test", "role": "staff"}

    def make_object(self, owner):
        return self.make_objects(owner, 1)[0]

    def make_objects(self, owner, count):
        return [
            invitations.create_invitation(
                tenant_id=owner.tenant.pk,
                actor_role="owner",
                inviter_id=owner.owner.pk,
                email=f"invitee-{uuid.uuid4().hex[:8]}@x.test",
                role="staff",
            ).invitation.pk
            for _ in range(count)
        ]


def test_other_tenant_does_not_list_the_invitation(tenant_a, tenant_b):
    invite(tenant_a, "listed@x.test")

    listed = tenant_b.api().get("/invitations")

    assert "listed@x.test" not in {item["email"] for item in listed.json()["items"]}


def test_inviting_an_existing_account_neither_attaches_nor_reveals_it(tenant_a, tenant_b, api_host):
    known = invite(tenant_a, tenant_b.owner.email.upper())
    unknown = invite(tenant_a, "nobody-yet@x.test")

    assert known.status_code == unknown.status_code == 201
    assert set(known.json()) == set(unknown.json()) == {"id", "email", "role", "expires_at", "accept_url"}
    assert known.json()["email"] == tenant_b.owner.email
    assert tenant_b.owner.full_name.encode() not in known.content
    assert not is_member(tenant_b.owner.email, tenant_a)
    assert tenant_b.owner.email not in {item["email"] for item in tenant_a.api().get("/users").json()["items"]}
    login = api_host.post("/auth/login", {"email": tenant_b.owner.email, "password": PASSWORD})
    assert login.status_code == 200
    assert login.json()["tenant"]["slug"] == tenant_b.slug


def test_inviting_an_unknown_email_creates_no_account_and_it_can_still_register(tenant_a, api_host):
    invited = invite(tenant_a, "fresh@newco.test")

    registered = api_host.post(
        "/auth/register",
        {"business_name": "New Co", "email": "fresh@newco.test", "password": PASSWORD, "slug": "new-co"},
    )

    assert invited.status_code == 201
    assert registered.status_code == 201
    assert not is_member("fresh@newco.test", tenant_a)


def test_post_users_no_longer_adds_anyone(tenant_a, tenant_b):
    response = tenant_a.api().post("/users", {"email": tenant_b.owner.email, "role": "staff", "password": PASSWORD})

    assert_refused(response, 405)
    assert not is_member(tenant_b.owner.email, tenant_a)
    assert not User.objects.filter(email="x@x.test").exists()


def test_new_invitee_sets_a_password_and_joins(tenant_a, api_host):
    token = token_of(invite(tenant_a, "Newbie@X.test", "admin"))

    weak = accept(api_host, token, password="password123")
    joined = accept(api_host, token, password=PASSWORD, full_name="New Bie")

    body = assert_refused(weak, 400)
    assert body["errors"][0]["field"] == "password"
    assert joined.status_code == 200, joined.content
    assert joined.json()["tenant"]["slug"] == tenant_a.slug
    assert joined.json()["user"] == {
        "id": joined.json()["user"]["id"],
        "email": "newbie@x.test",
        "full_name": "New Bie",
    }
    assert Membership.objects.get(user__email="newbie@x.test", tenant=tenant_a.tenant).role == "admin"
    me = api_host.with_token(joined.json()["access_token"]).get("/auth/me")
    assert me.json()["memberships"] == [{"tenant": tenant_a.slug, "tenant_name": tenant_a.tenant.name, "role": "admin"}]


def test_new_invitee_without_password_is_refused_and_nothing_is_created(tenant_a, api_host):
    token = token_of(invite(tenant_a, "nopass@x.test"))

    body = assert_refused(accept(api_host, token), 400)

    assert body["errors"][0]["code"] == "password_required"
    assert not User.objects.filter(email="nopass@x.test").exists()


def test_existing_account_proves_itself_with_its_password(tenant_a, tenant_b, api_host):
    token = token_of(invite(tenant_a, tenant_b.owner.email))

    missing = accept(api_host, token)
    wrong = accept(api_host, token, password="not-the-password-1")
    right = accept(api_host, token, password=PASSWORD)

    assert assert_refused(missing, 400)["errors"][0]["code"] == "password_required"
    assert assert_refused(wrong, 401)["errors"][0]["code"] == "bad_credentials"
    assert right.status_code == 200
    assert right.json()["tenant"]["slug"] == tenant_a.slug
    assert Membership.objects.get(user=tenant_b.owner, tenant=tenant_a.tenant).role == "staff"
    assert Membership.objects.get(user=tenant_b.owner, tenant=tenant_b.tenant).role == "owner"


def test_existing_account_proves_itself_by_being_signed_in(tenant_a, tenant_b, api_host):
    token = token_of(invite(tenant_a, tenant_b.owner.email))

    someone_else = accept(api_host.with_token(tenant_a.staff_token), token)
    invitee = accept(api_host.with_token(tenant_b.owner_token), token)

    assert assert_refused(someone_else, 403)["errors"][0]["code"] == "invite_other_account"
    assert invitee.status_code == 200
    assert is_member(tenant_b.owner.email, tenant_a)


def test_signed_in_stranger_cannot_take_an_invitation_for_a_new_email(tenant_a, tenant_b, api_host):
    token = token_of(invite(tenant_a, "brand-new@x.test"))

    response = accept(api_host.with_token(tenant_b.owner_token), token, password=PASSWORD)

    assert_refused(response, 403)
    assert not is_member(tenant_b.owner.email, tenant_a)
    assert not User.objects.filter(email="brand-new@x.test").exists()


@pytest.fixture
def platform_admin(db) -> User:
    return User.objects.create_superuser("root@platform.test", PASSWORD)


def test_platform_admin_cannot_be_captured(tenant_a, api_host, platform_admin):
    invited = invite(tenant_a, platform_admin.email)
    token = token_of(invited)

    wrong = accept(api_host, token, password="not-the-password-1")
    proved = accept(api_host, token, password=PASSWORD)
    login = api_host.post("/auth/login", {"email": platform_admin.email, "password": PASSWORD})
    created = api_host.with_token(login.json()["access_token"]).post(
        "/platform/tenants", {"slug": "after-capture", "name": "After"}
    )

    assert invited.status_code == 201
    assert set(invited.json()) == {"id", "email", "role", "expires_at", "accept_url"}
    assert_refused(wrong, 401)
    assert assert_refused(proved, 403)["errors"][0]["code"] == "platform_admin"
    assert not Membership.objects.filter(user=platform_admin).exists()
    assert login.json()["tenant"] is None
    assert created.status_code == 201


def test_platform_admin_with_memberships_keeps_platform_operations(tenant_a, tenant_b, api_host, platform_admin):
    Membership.objects.create(user=platform_admin, tenant=tenant_a.tenant, role="owner")
    Membership.objects.create(user=platform_admin, tenant=tenant_b.tenant, role="staff")
    credentials = {"email": platform_admin.email, "password": PASSWORD}

    platform_login = api_host.post("/auth/login", credentials)
    tenant_login = api_host.post("/auth/login", {**credentials, "tenant": tenant_a.slug})
    with_tenant_token = api_host.with_token(tenant_login.json()["access_token"])
    created = with_tenant_token.post("/platform/tenants", {"slug": "made-while-member", "name": "Made"})
    deleted = with_tenant_token.delete(f"/platform/tenants/{created.json()['id']}")

    assert platform_login.status_code == 200
    assert platform_login.json()["tenant"] is None
    assert tenant_login.json()["tenant"]["slug"] == tenant_a.slug
    assert created.status_code == 201, created.content
    assert deleted.status_code == 204


def test_token_is_stored_only_as_its_digest(tenant_a):
    response = invite(tenant_a, "digest@x.test")
    token = token_of(response)

    row = Invitation.objects.filter(pk=response.json()["id"]).values().get()

    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(row)


def test_token_works_once(tenant_a, api_host):
    token = token_of(invite(tenant_a, "once@x.test"))

    first = accept(api_host, token, password=PASSWORD)
    second = accept(api_host, token, password=PASSWORD)

    assert first.status_code == 200
    assert assert_refused(second, 410)["errors"][0]["code"] == "invite_used"
    assert "once@x.test" not in {item["email"] for item in tenant_a.api().get("/invitations").json()["items"]}


def test_expired_token_is_410_and_creates_nothing(tenant_a, api_host):
    response = invite(tenant_a, "late@x.test")
    Invitation.objects.filter(pk=response.json()["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    body = assert_refused(accept(api_host, token_of(response), password=PASSWORD), 410)

    assert body["errors"][0]["code"] == "invite_expired"
    assert not User.objects.filter(email="late@x.test").exists()


@pytest.mark.parametrize("token", ["made-up-token", "x" * 200])
def test_unknown_token_is_400(api_host, token):
    body = assert_refused(accept(api_host, token, password=PASSWORD), 400)

    assert body["errors"][0]["code"] == "invite_invalid"


def test_revoked_invitation_stops_working(tenant_a, api_host):
    response = invite(tenant_a, "revoked@x.test")

    revoked = tenant_a.api().delete(f"/invitations/{response.json()['id']}")
    again = tenant_a.api().delete(f"/invitations/{response.json()['id']}")
    accepted = accept(api_host, token_of(response), password=PASSWORD)

    assert revoked.status_code == 204
    assert_refused(again, 404)
    assert assert_refused(accepted, 410)["errors"][0]["code"] == "invite_revoked"
    assert not User.objects.filter(email="revoked@x.test").exists()


def test_resend_issues_a_fresh_token_and_the_old_one_stops_working(
    tenant_a, api_host, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = invite(tenant_a, "resent@x.test")
        resent = tenant_a.api().post(f"/invitations/{first.json()['id']}/resend")

    old = accept(api_host, token_of(first), password=PASSWORD)
    new = accept(api_host, token_of(resent), password=PASSWORD)

    assert resent.status_code == 200
    assert resent.json()["id"] == first.json()["id"]
    assert token_of(resent) != token_of(first)
    assert [message.to for message in mailoutbox] == [["resent@x.test"], ["resent@x.test"]]
    assert token_of(resent) in mailoutbox[1].body
    assert_refused(old, 400)
    assert new.status_code == 200


def test_inviting_the_same_email_again_replaces_the_open_invitation(tenant_a, api_host):
    first = invite(tenant_a, "twice@x.test")
    second = invite(tenant_a, "twice@x.test", "admin")

    listed = tenant_a.api().get("/invitations").json()["items"]

    assert second.status_code == 201
    assert [item["role"] for item in listed if item["email"] == "twice@x.test"] == ["admin"]
    assert assert_refused(accept(api_host, token_of(first), password=PASSWORD), 410)["errors"][0]["code"] == (
        "invite_revoked"
    )
    assert accept(api_host, token_of(second), password=PASSWORD).json()["tenant"]["slug"] == tenant_a.slug


def test_inviting_a_member_is_409(tenant_a):
    assert_refused(invite(tenant_a, tenant_a.staff.email), 409)


def test_role_rules(tenant_a, api_host):
    owner_invitation = invite(tenant_a, "future-owner@x.test", "owner")
    tenant_a.api().patch(f"/users/{tenant_a.staff.pk}", {"role": "admin"})
    admin_api = tenant_a.api(as_staff=True)

    assert owner_invitation.status_code == 201
    assert_refused(invite(tenant_a, "x@x.test", "owner", as_staff=True), 403)
    assert_refused(invite(tenant_a, "x@x.test", "boss"), 400)
    assert_refused(admin_api.post(f"/invitations/{owner_invitation.json()['id']}/resend"), 403)
    assert_refused(admin_api.delete(f"/invitations/{owner_invitation.json()['id']}"), 403)
    assert_refused(invite(tenant_a, "future-owner@x.test", "staff", as_staff=True), 403)
    assert invite(tenant_a, "x@x.test", "admin", as_staff=True).status_code == 201


def test_suspended_business_cannot_be_joined(tenant_a, api_host):
    token = token_of(invite(tenant_a, "late-joiner@x.test"))
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(status="suspended")

    assert_refused(accept(api_host, token, password=PASSWORD), 403)
    assert not User.objects.filter(email="late-joiner@x.test").exists()


@pytest.mark.concurrency
def test_concurrent_accepts_of_one_token_make_one_membership(committed_tenant):
    racers = 4
    invitee = f"racer@{committed_tenant.slug}.test"
    token = invitations.create_invitation(
        tenant_id=committed_tenant.tenant.pk, actor_role="owner", inviter_id=None, email=invitee, role="staff"
    ).token
    api_host = ApiClient(host=settings.BASE_DOMAIN)

    statuses = run_at_once([lambda: accept(api_host, token, password=PASSWORD).status_code] * racers)

    assert sorted(statuses) == [200] + [410] * (racers - 1)
    assert Membership.objects.filter(user__email=invitee, tenant=committed_tenant.tenant).count() == 1
    assert User.objects.filter(email=invitee).count() == 1


class _Inbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls this name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_inbox() -> Iterator[_Inbox]:
    """A real SMTP server on a free loopback port, with Django's SMTP backend pointed at it."""
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=controller.port,
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
            DEFAULT_FROM_EMAIL="team@servicedesk.test",
        ):
            yield inbox
    finally:
        controller.stop()


def test_invitation_is_mailed_over_smtp_and_its_link_works(
    tenant_a, api_host, smtp_inbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invited = invite(tenant_a, "mailed@x.test")

    [message] = smtp_inbox.messages
    body = message.get_body().get_content()
    mailed_token = TOKEN_IN_LINK.search(body).group(1)
    joined = accept(api_host, mailed_token, password=PASSWORD)

    assert message["To"] == "mailed@x.test"
    assert message["From"] == "team@servicedesk.test"
    assert tenant_a.tenant.name in message["Subject"]
    assert invited.json()["accept_url"] in body
    assert joined.status_code == 200
    assert joined.json()["tenant"]["slug"] == tenant_a.slug


def test_mail_server_down_does_not_fail_the_invitation(tenant_a, api_host, django_capture_on_commit_callbacks, caplog):
    with (
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=_free_port(),
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_TIMEOUT=2,
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        invited = invite(tenant_a, "unmailed@x.test")

    assert invited.status_code == 201
    assert "Could not send an invitation email" in caplog.text
    assert token_of(invited) not in caplog.text
    assert accept(api_host, token_of(invited), password=PASSWORD).status_code == 200


def test_email_url_configures_smtp():
    printed = subprocess.run(
        [sys.executable, "-c", "from config import settings as s; print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT)"],
        cwd=BASE_DIR,
        env={**os.environ, "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert printed.split() == ["django.core.mail.backends.smtp.EmailBackend", "smtp.example.com", "587"]


def test_accept_url_without_token_placeholder_is_refused_at_start():
    result = import_settings(INVITE_ACCEPT_URL="https://app.example.com/join")

    assert result.returncode != 0
    assert "INVITE_ACCEPT_URL must contain {token}" in result.stderr
