"""Customer links: made, sent and revoked by staff; opened by the customer on the business's
host only; only a digest of the token is kept."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from tenant_apps.portal.models import CustomerLink
from tenant_apps.portal.tokens import hash_token
from tenant_apps.sms.models import Message
from tests.events import emitted
from tests.factories import CustomerFactory
from tests.isolation import assert_refused
from tests.portal import make_link, page

SENDER = "+12025550100"


def test_staff_make_a_link_that_opens_the_customers_hub_on_the_business_host(tenant_a):
    with tenant_a.schema():
        customer = CustomerFactory(name="Dana Whitfield")

    answer = tenant_a.api(as_staff=True).post("/customer-links", {"customer_id": customer.pk, "expires_in_days": 7})

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["url"].split("://", 1)[1].startswith(f"{tenant_a.host}:") or body["url"].split("://", 1)[1].startswith(
        f"{tenant_a.host}/"
    )
    path = "/c/" + body["url"].rsplit("/c/", 1)[1]
    opened = page(path, host=tenant_a.host)
    assert opened.status_code == 200
    assert "Dana Whitfield" in opened.content.decode()
    assert opened["Cache-Control"] == "no-store"
    assert opened["Referrer-Policy"] == "same-origin"
    assert body["expires_at"].startswith((timezone.now() + timedelta(days=7)).date().isoformat())


def test_only_a_digest_of_the_token_is_stored(tenant_a):
    link = make_link(tenant_a)

    with tenant_a.schema():
        row = CustomerLink.objects.get(pk=link.link_id)
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM portal_customerlink WHERE id = %s", [link.link_id])
            stored = " ".join(str(value) for value in cursor.fetchone())
    assert row.token_hash == hash_token(link.token)
    assert link.token not in stored


def test_the_list_shows_links_without_urls_and_filters_by_customer(tenant_a):
    first = make_link(tenant_a)
    make_link(tenant_a)

    listed = tenant_a.api().get("/customer-links", customer_id=first.customer.pk).json()

    assert [item["id"] for item in listed["items"]] == [first.link_id]
    assert "url" not in listed["items"][0]


def test_a_revoked_link_stops_at_once(tenant_a):
    link = make_link(tenant_a)
    assert page(link.path, host=link.host).status_code == 200

    assert tenant_a.api(as_staff=True).delete(f"/customer-links/{link.link_id}").status_code == 204

    gone = page(link.path, host=link.host)
    assert gone.status_code == 410
    assert "withdrawn" in gone.content.decode()
    assert_refused(link.api().get(link.json_path()), 410)
    assert emitted("customer_link.revoked")[-1].payload.link_id == link.link_id


def test_an_expired_link_is_gone(tenant_a):
    link = make_link(tenant_a, expires_in_days=1)
    with tenant_a.schema():
        CustomerLink.objects.filter(pk=link.link_id).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert page(link.path, host=link.host).status_code == 410
    assert assert_refused(link.api().get(link.json_path()), 410)["errors"][0]["code"] == "link_expired"


def test_a_link_of_an_archived_customer_is_gone(tenant_a):
    link = make_link(tenant_a)
    with tenant_a.schema():
        type(link.customer).objects.filter(pk=link.customer.pk).update(archived_at=timezone.now())

    assert page(link.path, host=link.host).status_code == 410


@pytest.mark.parametrize(
    "edit",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: token[:-2],
        lambda token: token + "AAAA",
        lambda token: "not-a-token",
    ],
    ids=["last-character", "truncated", "extended", "garbage"],
)
def test_an_edited_link_is_not_found(tenant_a, edit):
    link = make_link(tenant_a)

    assert page(f"/c/{edit(link.token)}", host=link.host).status_code == 404
    assert_refused(link.api().get(f"/portal/{edit(link.token)}"), 404)


def test_a_link_of_one_business_is_not_found_on_another_business_host_nor_the_api_host(tenant_a, tenant_b, settings):
    link = make_link(tenant_a)

    for host in (tenant_b.host, settings.BASE_DOMAIN):
        refused = page(link.path, host=host)
        assert refused.status_code == 404
        assert link.customer.name not in refused.content.decode()
        assert_refused(link.api(host=host).get(link.json_path()), 404)


def test_a_link_shows_nothing_of_another_customer(tenant_a):
    mine = make_link(tenant_a)
    with tenant_a.schema():
        other = CustomerFactory(name="Someone Else Entirely")
    theirs = make_link(tenant_a, customer=other)

    shown = page(mine.path, host=mine.host).content.decode()
    hub = mine.api().get(mine.json_path()).json()

    assert "Someone Else Entirely" not in shown
    assert hub["customer"] == {"id": mine.customer.pk, "name": mine.customer.name}
    assert theirs.token not in shown


def test_the_first_opening_emits_an_event_naming_the_customer(tenant_a):
    link = make_link(tenant_a)

    page(link.path, host=link.host)
    page(link.path, host=link.host)

    opened = emitted("customer_link.opened")
    assert [event.payload.link_id for event in opened] == [link.link_id]
    assert opened[0].actor == f"customer:{link.customer.pk}"
    assert emitted("customer_link.created")[-1].payload.customer_id == link.customer.pk


def test_a_link_sent_by_email_carries_the_url(tenant_a, django_capture_on_commit_callbacks):
    with tenant_a.schema():
        customer = CustomerFactory(email="dana@example.test")

    with django_capture_on_commit_callbacks(execute=True):
        answer = tenant_a.api().post("/customer-links", {"customer_id": customer.pk, "send_via": "email"})

    assert answer.status_code == 201
    [sent] = mail.outbox
    assert sent.to == ["dana@example.test"]
    assert answer.json()["url"] in sent.body


def test_a_link_sent_by_text_is_queued_to_the_customers_phone(tenant_a):
    tenant_a.store_settings(sms_sender=SENDER)
    with tenant_a.schema():
        customer = CustomerFactory(phone="+12025550177")

    answer = tenant_a.api().post("/customer-links", {"customer_id": customer.pk, "send_via": "sms"})

    assert answer.status_code == 201
    with tenant_a.schema():
        [text] = Message.objects.filter(customer=customer)
    assert answer.json()["url"] in text.body
    assert text.to_number == "+12025550177"


def test_a_link_that_cannot_be_sent_is_not_made(tenant_a):
    with tenant_a.schema():
        customer = CustomerFactory(email="")

    refused = tenant_a.api().post("/customer-links", {"customer_id": customer.pk, "send_via": "email"})

    assert assert_refused(refused, 409)["errors"][0]["code"] == "customer_no_email"
    with tenant_a.schema():
        assert not CustomerLink.objects.filter(customer=customer).exists()


@pytest.mark.parametrize(
    "body",
    [
        {"customer_id": 1, "expires_in_days": 0},
        {"customer_id": 1, "expires_in_days": 366},
        {"customer_id": 1, "send_via": "pigeon"},
        {"customer_id": "x"},
        {"customer_id": 1, "token": "mine"},
    ],
)
def test_bad_input_is_400(tenant_a, body):
    assert_refused(tenant_a.api().post("/customer-links", body), 400, 422)


def test_another_business_cannot_make_list_or_revoke_links_of_this_one(tenant_a, tenant_b):
    link = make_link(tenant_a)

    elsewhere = tenant_b.api().on_host(tenant_a.host)
    assert_refused(elsewhere.post("/customer-links", {"customer_id": link.customer.pk}), 403)
    assert tenant_b.api().get("/customer-links").json()["count"] == 0
    assert_refused(tenant_b.api().delete(f"/customer-links/{link.link_id}"), 404)
    assert page(link.path, host=link.host).status_code == 200
    assert_refused(tenant_a.api().with_token(None).get("/customer-links"), 401)
