"""What personal data looks like in free text, so it can be cut from spans and error reports:
email addresses and phone numbers (stored and sent as E.164, `+` and up to 15 digits)."""

import re
from typing import Any

# Also URL-encoded (%40, %2B), as in a logged request line's query string.
PERSONAL = re.compile(
    r"[^\s@'\"<>(),;:=&?/]+(?:@|%40)[^\s@'\"<>(),;:=&?/]+\.[A-Za-z]{2,}|(?:\+|%2B)\d{7,15}", re.IGNORECASE
)
REDACTED = "[redacted]"


def redact(value: Any) -> Any:
    """`value` with every email address and phone number in its strings replaced, through
    lists, tuples and dicts; other values as they are."""
    if isinstance(value, str):
        # Most strings (SQL, routes) hold neither sign: skip the regular expression for them.
        if "@" in value or "+" in value or "%40" in value or "%2" in value:
            return PERSONAL.sub(REDACTED, value)
        return value
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(item) for item in value)
    return value
