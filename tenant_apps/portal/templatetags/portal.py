"""Filters of the customer pages."""

from django import template

from tenant_apps.billing.totals import format_money

register = template.Library()


@register.filter
def money(amount: int, currency: str) -> str:
    """Integer minor units as people read them in `currency` ("$1,234.50")."""
    return format_money(amount, currency)
