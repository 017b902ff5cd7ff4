"""Schema bases shared by every router."""

from ninja import Schema
from pydantic import ConfigDict


class StrictSchema(Schema):
    """Request bodies refuse unknown fields instead of silently dropping them."""

    model_config = ConfigDict(extra="forbid")
