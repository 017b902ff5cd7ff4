from django.apps import AppConfig


class PriceBookConfig(AppConfig):
    """The business's services and materials with their prices, copied into quote and invoice
    items and offered by the receptionist."""

    name = "tenant_apps.pricebook"
    label = "pricebook"
