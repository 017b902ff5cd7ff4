"""The business's colour on its customer pages stays readable (WCAG contrast 4.5:1 or more)."""

import pytest

from shared_apps.tenants.models import Tenant
from tenant_apps.portal.theme import DEFAULT_COLOR, contrast, theme_of


@pytest.mark.parametrize(
    ("brand", "color", "on_color"),
    [
        ("#0B5FFF", "#0b5fff", "#ffffff"),
        ("#FFD400", "#ffd400", "#111111"),
        ("#777777", DEFAULT_COLOR, "#ffffff"),  # neither text reads on mid grey: the default
        ("", DEFAULT_COLOR, "#ffffff"),
        ("red", DEFAULT_COLOR, "#ffffff"),
    ],
)
def test_the_text_on_the_brand_colour_is_readable(brand, color, on_color):
    theme = theme_of(Tenant(name="Acme Plumbing", brand_color=brand))

    assert (theme.business_name, theme.color, theme.on_color) == ("Acme Plumbing", color, on_color)
    assert contrast(theme.color, theme.on_color) >= 4.5


def test_contrast_is_wcags():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert contrast("#123456", "#123456") == 1.0
