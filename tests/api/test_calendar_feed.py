from icalendar import Calendar

from shared_apps.tenants import services as tenant_services
from shared_apps.tenants.models import Tenant
from tenant_apps.appointments.models import CalendarFeed
from tests.api.test_appointments import DAY, ELEVEN, TEN, book
from tests.client import ApiClient
from tests.isolation import assert_refused


def new_feed(tenant, *, as_staff=False, **body):
    response = tenant.api(as_staff=as_staff).post("/appointments/calendar-feeds", body)
    assert response.status_code == 201, response.content
    return response.json()


def fetch(host, token):
    return ApiClient(host=host).get("/appointments/calendar.ics", token=token)


def events(response):
    assert response["Content-Type"].startswith("text/calendar")
    return {str(e["uid"]): e for e in Calendar.from_ical(response.content).walk("VEVENT")}


def test_business_feed_lists_appointments_with_ical_status(tenant_a):
    scheduled = book(tenant_a).json()
    cancelled = book(tenant_a, TEN, ELEVEN, staff=False).json()
    tenant_a.api().delete(f"/appointments/{cancelled['id']}?reason=Rain")
    feed = new_feed(tenant_a)

    found = events(fetch(tenant_a.host, feed["token"]))

    first = found[f"appointment-{scheduled['id']}@{tenant_a.host}"]
    second = found[f"appointment-{cancelled['id']}@{tenant_a.host}"]
    assert str(first["status"]) == "TENTATIVE"
    assert first.decoded("dtstart").isoformat() == f"{DAY}T13:00:00+00:00"
    assert str(second["status"]) == "CANCELLED"
    assert "Rain" in str(second["description"])
    assert feed["url"] == f"http://{tenant_a.host}/api/v1/appointments/calendar.ics?token={feed['token']}"


def test_token_is_self_identifying_on_the_api_host(tenant_a, api_host):
    book(tenant_a)
    feed = new_feed(tenant_a)

    response = api_host.get("/appointments/calendar.ics", token=feed["token"])

    assert response.status_code == 200
    assert len(events(response)) == 1


def test_token_of_one_business_on_another_host_is_404(tenant_a, tenant_b):
    feed = new_feed(tenant_a)

    assert_refused(fetch(tenant_b.host, feed["token"]), 404)


def test_forged_or_missing_tokens_are_refused(tenant_a, tenant_b):
    feed = new_feed(tenant_a)
    schema, _, secret = feed["token"].partition(".")

    assert_refused(fetch(tenant_a.host, f"{schema}.{secret[:-2]}xx"), 404)
    assert_refused(fetch(tenant_a.host, secret), 404)
    assert_refused(fetch(tenant_b.host, f"{tenant_b.tenant.schema_name}.{secret}"), 404)
    assert_refused(ApiClient(host=tenant_a.host).get("/appointments/calendar.ics"), 400)


def test_rotation_kills_the_old_url(tenant_a):
    old = new_feed(tenant_a)
    new = new_feed(tenant_a)

    assert_refused(fetch(tenant_a.host, old["token"]), 404)
    assert fetch(tenant_a.host, new["token"]).status_code == 200


def test_only_a_hash_is_stored(tenant_a):
    feed = new_feed(tenant_a)

    with tenant_a.schema():
        stored = list(CalendarFeed.objects.values_list("token_hash", flat=True))
    assert len(stored) == 1
    assert feed["token"].split(".", 1)[1] not in stored[0]


def test_staff_feed_holds_only_their_appointments(tenant_a):
    mine = book(tenant_a).json()
    book(tenant_a, staff_id=tenant_a.owner.pk)
    feed = new_feed(tenant_a, as_staff=True, staff_id=tenant_a.staff.pk)

    found = events(fetch(tenant_a.host, feed["token"]))

    assert list(found) == [f"appointment-{mine['id']}@{tenant_a.host}"]


def test_staff_manage_only_their_own_feed(tenant_a):
    staff = tenant_a.api(as_staff=True)

    assert_refused(staff.post("/appointments/calendar-feeds", {}), 403)
    assert_refused(staff.post("/appointments/calendar-feeds", {"staff_id": tenant_a.owner.pk}), 403)


def test_manager_may_make_a_feed_for_staff_but_not_strangers(tenant_a, tenant_b):
    assert new_feed(tenant_a, staff_id=tenant_a.staff.pk)["staff_id"] == tenant_a.staff.pk
    assert_refused(tenant_a.api().post("/appointments/calendar-feeds", {"staff_id": tenant_b.staff.pk}), 404)


def test_suspended_business_feed_is_403(tenant_a, api_host):
    feed = new_feed(tenant_a)
    tenant_services.set_tenant_status(tenant_id=tenant_a.tenant.pk, status=Tenant.Status.SUSPENDED)

    assert_refused(api_host.get("/appointments/calendar.ics", token=feed["token"]), 403)
