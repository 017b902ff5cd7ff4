from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "tenant_apps.customers"
    label = "customers"

    def ready(self) -> None:
        from tenant_apps.customers.queries import get_customer
        from tenant_apps.files.parents import register_parent

        register_parent("customer", lambda row_id: get_customer(customer_id=row_id))
