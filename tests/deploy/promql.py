"""The metric names a PromQL expression reads, and the names GET /metrics exports, so the
alert rules and the dashboard can be checked to read only what exists."""

import re

from prometheus_client.parser import text_string_to_metric_families

_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset"})
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def metric_names(expr: str) -> set[str]:
    """Identifiers that are series, not functions, keywords, labels or template text."""
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # grouping labels
    names = set(re.findall(r"(?<![\w:.])([a-zA-Z_:][\w:]*)\b(?!\s*\()", expr))
    return names - _KEYWORDS


def exported_names(metrics_text: str) -> set[str]:
    return {
        family.name + suffix
        for family in text_string_to_metric_families(metrics_text)
        for suffix in _SUFFIXES[family.type]
    }
