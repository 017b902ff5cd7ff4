"""Query-count baselines of the customer-link and customer hub routes (tests/api/query_counts.json):
a hub with more documents and visits costs the same."""

from datetime import timedelta

from django.utils import timezone

from tenant_apps.appointments import services as appointments
from tests.api.test_query_baselines import count, count_list
from tests.factories import CustomerFactory
from tests.portal import make_link
from tests.tenant_apps.billing.factories import item
from tests.tenant_apps.invoices.factories import sent_invoice
from tests.tenant_apps.quotes.factories import sent_quote


def test_customer_links(tenant_a):
    with tenant_a.schema():
        customer = CustomerFactory()
    client = tenant_a.api()

    created = count("POST /customer-links", client, "POST", "/customer-links", {"customer_id": customer.pk})
    count_list(
        "GET /customer-links",
        client,
        "/customer-links",
        lambda rows: [make_link(tenant_a, customer=customer) for _ in range(rows)],
        customer_id=customer.pk,
    )
    count("DELETE /customer-links/{id}", client, "DELETE", f"/customer-links/{created.json()['id']}")


def test_the_hub_costs_the_same_with_more_to_show(tenant_a):
    link = make_link(tenant_a)
    start = timezone.now() + timedelta(days=3)

    def add(rows: int) -> None:
        with tenant_a.schema():
            for index in range(rows):
                sent_quote(tenant_a.tenant, customer_id=link.customer.pk)
                sent_invoice(tenant_a.tenant, customer_id=link.customer.pk)
                at = start + timedelta(hours=index)
                appointments.create_appointment(
                    tenant=tenant_a.tenant,
                    customer_id=link.customer.pk,
                    title="Visit",
                    starts_at=at,
                    ends_at=at + timedelta(minutes=30),
                )

    count_list("GET /portal/{id}", link.api(), link.json_path(), add)


def test_a_customers_quote_and_invoice(tenant_a):
    link = make_link(tenant_a)
    with tenant_a.schema():
        accepting, declining = (
            sent_quote(tenant_a.tenant, customer_id=link.customer.pk, items=[item(), item(optional=True)])
            for _ in range(2)
        )
        optional = accepting.items.get(optional=True)
        invoice = sent_invoice(tenant_a.tenant, customer_id=link.customer.pk)
    client = link.api()

    count("GET /portal/{id}/quotes/{id}", client, "GET", link.json_path(f"/quotes/{accepting.pk}"))
    options = link.json_path(f"/quotes/{accepting.pk}/options")
    count("POST /portal/{id}/quotes/{id}/options", client, "POST", options, {"selected_item_ids": [optional.pk]})
    count("GET /portal/{id}/quotes/{id}/pdf", client, "GET", link.json_path(f"/quotes/{accepting.pk}/pdf"))
    accept = link.json_path(f"/quotes/{accepting.pk}/accept")
    count("POST /portal/{id}/quotes/{id}/accept", client, "POST", accept, {"name": "Dana"})
    decline = link.json_path(f"/quotes/{declining.pk}/decline")
    count("POST /portal/{id}/quotes/{id}/decline", client, "POST", decline, {"name": "Dana"})
    count("GET /portal/{id}/invoices/{id}", client, "GET", link.json_path(f"/invoices/{invoice.pk}"))
    count("GET /portal/{id}/invoices/{id}/pdf", client, "GET", link.json_path(f"/invoices/{invoice.pk}/pdf"))
