"""The business's look on its customer pages: its name and brand colour, with a text colour
that stays readable on it (WCAG contrast of at least 4.5:1)."""

import re
from dataclasses import dataclass

from shared_apps.tenants.models import Tenant

DEFAULT_COLOR = "#1f4b99"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Theme:
    business_name: str
    color: str
    on_color: str  # the text colour on `color`


def _luminance(color: str) -> float:
    """Relative luminance (WCAG 2.x) of a #rrggbb colour."""
    channels = [int(color[index : index + 2], 16) / 255 for index in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# Pages of no business (a link followed on the API host): no name, no brand.
NEUTRAL = Theme(business_name="", color=DEFAULT_COLOR, on_color="#ffffff")


def theme_of(tenant: Tenant) -> Theme:
    """White or near-black text, whichever reads better on the brand colour; a colour neither
    reads well on (mid greys) is replaced by the default."""
    color = tenant.brand_color if _HEX.match(tenant.brand_color or "") else DEFAULT_COLOR
    on_color = max(("#ffffff", "#111111"), key=lambda text: contrast(color, text))
    if contrast(color, on_color) < 4.5:
        color, on_color = DEFAULT_COLOR, "#ffffff"
    return Theme(business_name=tenant.name or tenant.claimed_slug, color=color.lower(), on_color=on_color)
