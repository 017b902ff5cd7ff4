"""What personal data looks like in free text, so it can be cut from spans and error reports:
email addresses and phone numbers (stored and sent as E.164, `+` and up to 15 digits)."""

import re
from typing import Any

# Also URL-encoded (%40, %2B), as in a logged request line's query string.
PERSONAL = re.compile(
    r"[^\s@'\"<>(),;:=&?/]+(?:@|%40)[^\s@'\"<>(),;:=&?/]+\.[A-Za-z]{2,}|(?:\+|%2B)\d{7,15}", re.IGNORECASE
)
REDACTED = "[redacted]"


def may_hold_personal(text: str) -> bool:
    """False for a string that cannot hold an email address or phone number: most strings (SQL,
    routes) hold neither sign, and the test is far cheaper than the regular expression."""
    return "@" in text or "+" in text or "%40" in text or "%2" in text


def redact(value: Any) -> Any:
    """`value` with every email address and phone number in its strings replaced, through
    lists, tuples and dicts; other values as they are."""
    if isinstance(value, str):
        return PERSONAL.sub(REDACTED, value) if may_hold_personal(value) else value
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(item) for item in value)
    return value
