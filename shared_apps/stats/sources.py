"""What each tenant app counts of a business's usage. Apps register in their AppConfig.ready()
(the stats app imports no tenant app); each source runs in the business's schema."""

from collections.abc import Callable
from datetime import datetime

# `source(since)`: the usage since that instant, in the metric's unit (segments, seconds,
# minor units of the business's currency).
UsageSource = Callable[[datetime], int]

METRICS = ("sms_segments", "call_seconds", "card_volume")

_sources: dict[str, UsageSource] = {}


def register_usage_source(metric: str, source: UsageSource) -> None:
    if metric not in METRICS:
        raise ValueError(f"Unknown usage metric {metric!r}; one of {', '.join(METRICS)}.")
    _sources[metric] = source


def usage_sources() -> dict[str, UsageSource]:
    return dict(_sources)
