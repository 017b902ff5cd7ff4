"""Search across the business."""

from typing import Annotated

from ninja import Query, Router, Schema
from pydantic import Field, field_validator

from api import appointments, customers, invoices, quotes, sms, voice
from api.auth import ApiRequest, manager, may_read, member
from api.schemas import StorableSchema, StrictSchema, enum_of, example
from tenant_apps.search import services
from tenant_apps.search.queries import KINDS, search

router = Router(tags=["search"])

# A member finds a kind only if they may read such a row: the route that reads one (or, for
# texts, the list) decides, through its own auth; search keeps no copy of those rules.
READ_ROUTES: dict[str, tuple[Router, str]] = {
    "customer": (customers.router, "/{customer_id}"),
    "appointment": (appointments.router, "/{int:appointment_id}"),
    "quote": (quotes.router, "/{quote_id}"),
    "invoice": (invoices.router, "/{invoice_id}"),
    "text": (sms.router, "/messages"),
    "call": (voice.router, "/calls/{call_id}"),
}


def _readable_kinds(role: str) -> frozenset[str]:
    return frozenset(kind for kind in KINDS if may_read(*READ_ROUTES[kind], role))


def _listed(types: str) -> tuple[str, ...]:
    return tuple(kind for kind in (part.strip() for part in types.split(",")) if kind)


class SearchParams(StorableSchema):
    q: str = Field(
        min_length=1,
        max_length=200,
        description='What to look for: words (`water heater`), a "quoted phrase", `-word` to leave out, a document '
        "number, part of a phone number, a name with a typo.",
    )
    types: str = Field(
        default=",".join(KINDS),
        max_length=200,
        description=f"Comma-separated kinds to search, out of: {', '.join(KINDS)}. All that you may read by default.",
    )
    limit: int = Field(default=20, ge=1, le=50, description="How many hits to answer at most.")
    cursor: str | None = Field(
        default=None, max_length=500, description="`next_cursor` of the previous page (same `q` and `types`)."
    )

    @field_validator("q")
    @classmethod
    def _something_to_search(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Type something to search for.")
        return value

    @field_validator("types")
    @classmethod
    def _known_kinds(cls, value: str) -> str:
        unknown = sorted(set(_listed(value)) - set(KINDS))
        if unknown:
            raise ValueError(f"Unknown kinds: {', '.join(unknown)}; known: {', '.join(KINDS)}.")
        return value

    def kinds(self) -> tuple[str, ...]:
        """The kinds asked for; all of them when `types` lists none."""
        return _listed(self.types) or KINDS


class SearchHitOut(Schema):
    model_config = example(
        kind="invoice", id=42, title="INV-2026-0042", snippet="<mark>INV-2026-0042</mark> · Water heater flush"
    )

    kind: Annotated[str, enum_of(KINDS)]
    id: int = Field(description="The row's id; read it at the kind's own route.")
    title: str = Field(description="Plain text: the name, title, document number or the text's or call's number.")
    snippet: str = Field(description="HTML-escaped text around the matches, each match in <mark>…</mark>.")


class SearchPageOut(Schema):
    items: list[SearchHitOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


@router.get("", response=SearchPageOut, auth=member)
def search_business(request: ApiRequest, params: Query[SearchParams]):
    """Search customers, appointments, quotes, invoices, texts and calls at once, best match
    first: an exact document number, phone number or email, then names and titles, then words
    in notes, items, texts and transcripts. Only the kinds your role may read are searched."""
    kinds = tuple(kind for kind in params.kinds() if kind in _readable_kinds(request.auth.role))
    return search(text=params.q, kinds=kinds, limit=params.limit, cursor=params.cursor)


class SearchSettingsOut(Schema):
    language: Annotated[str, enum_of(services.LANGUAGES)] = Field(
        description="The language words are stemmed in (`heaters` finds `heater`); `simple`: as written."
    )


class SearchSettingsIn(StrictSchema):
    language: Annotated[str, enum_of(services.LANGUAGES)] = Field(
        max_length=20, description="`simple` (no stemming, the default) or the business's language."
    )


@router.get("/settings", response=SearchSettingsOut, auth=member)
def get_search_settings(request: ApiRequest):
    """How this business's search reads words."""
    return {"language": services.get_search_language()}


@router.patch("/settings", response=SearchSettingsOut, auth=manager)
def update_search_settings(request: ApiRequest, payload: SearchSettingsIn):
    """Change the search language (owners and admins); every stored document is re-read in it,
    which takes a few seconds for a business with a hundred thousand rows."""
    return {"language": services.set_search_language(language=payload.language)}
