"""How many SMS segments a body costs: GSM-7 when every character is in the GSM 03.38
alphabet (extension characters take two septets), else UCS-2 (UTF-16 code units)."""

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

# (units in a single message, units per part of a concatenated one) per encoding.
GSM7_LIMITS = (160, 153)
UCS2_LIMITS = (70, 67)


@dataclass(frozen=True)
class Segments:
    encoding: str  # "gsm7" or "ucs2"
    count: int


def _count(unit_sizes: list[int], single: int, part: int) -> int:
    """Parts needed when no character may be split across two parts."""
    if sum(unit_sizes) <= single:
        return 1
    parts, used = 1, 0
    for size in unit_sizes:
        if used + size > part:
            parts, used = parts + 1, 0
        used += size
    return parts


def count_segments(body: str) -> Segments:
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in body):
        sizes = [2 if char in GSM7_EXTENSION else 1 for char in body]
        return Segments("gsm7", _count(sizes, *GSM7_LIMITS))
    sizes = [len(char.encode("utf-16-le")) // 2 for char in body]
    return Segments("ucs2", _count(sizes, *UCS2_LIMITS))
