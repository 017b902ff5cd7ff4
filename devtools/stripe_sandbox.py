"""A loopback stand-in for the parts of Stripe's API the payments module calls, so card
payments work end to end without credentials.

It speaks the wire format the real `stripe` SDK uses (form-encoded bodies with bracketed
nested keys, `Authorization: Bearer`, `Stripe-Account` for calls on a connected account,
`Idempotency-Key` replayed like Stripe's: same key and same parameters answer the first
response, different parameters answer 400 `idempotency_error`), keeps everything in memory,
and posts the events Stripe would send to the Connect webhook endpoint, signed with the real
`Stripe-Signature` algorithm (stripe.WebhookSignature).

What it serves: accounts, account links, payment intents (create, retrieve, cancel, list by
`created[gte]`, confirm with `pm_card_visa`, `pm_card_chargeDeclined` or
`pm_card_pendingRefund`, the sandbox's name for Stripe's test card whose refunds start
`pending`), Checkout Sessions (create, retrieve) and refunds (create, retrieve, list).

As at Stripe, a new account takes no charges (`charges_enabled` false) until its onboarding
link (`GET /connect/onboarding/{acct_id}`) is followed; then `account.updated` follows and the
browser goes back to the link's `return_url`. A Checkout Session's `url` is a page here:
`POST {url}` with `outcome=succeeded` (or `failed`) pays (or declines) it as a customer
would (a browser, asking for HTML, gets a form with both buttons, and after paying is sent on
to the session's `success_url`, as at Stripe); `outcome=processing` pays it with an
asynchronous method (the session completes `unpaid`, the intent is `processing`) until `POST
/sandbox/{cs_id}/settle` or `/decline` sends `checkout.session.async_payment_succeeded` or
`_failed`. The signed events follow.
What happens on Stripe's side without an API call: `POST /sandbox/{acct_id}/deauthorize` (the
business disconnects our platform; its account answers 403 afterwards), `POST
/sandbox/{re_id}/fail` (a refund fails after it succeeded), `POST /sandbox/{re_id}/settle` (a
pending refund succeeds), `POST /sandbox/{pi_id}/dispute` (funds are withdrawn at once) or
`/inquiry` (an inquiry, which names only the charge, as Stripe's own fixture shows), `POST
/sandbox/{dp_id}/win` or `/lose` (the dispute is closed; won: funds reinstated).

Simpler than Stripe: objects carry the fields our code reads, not every field of Stripe's API
reference (tests build events from Stripe's published fixtures for that), only direct charges
on a connected account, and no 3-D Secure, payouts or balance transactions.

Run: `python -m devtools.stripe_sandbox` (make run starts it when STRIPE_SECRET_KEY is unset); it
listens on the port of STRIPE_SANDBOX_URL (default http://127.0.0.1:8012) and delivers events
to STRIPE_SANDBOX_WEBHOOK_URL signed with STRIPE_CONNECT_WEBHOOK_SECRET.
"""

import contextlib
import hashlib
import html
import json
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from wsgiref.simple_server import WSGIServer

import requests
import stripe

from devtools.sandbox_server import serve_sandbox

API_VERSION = stripe.api_version
DECLINING_METHODS = {"pm_card_chargeDeclined": ("card_declined", "generic_decline")}
# Payment methods whose refunds stay `pending` until `/sandbox/{re_id}/settle`.
PENDING_REFUND_METHODS = {"pm_card_pendingRefund"}
ROUTE = re.compile(
    r"^/v1/(?P<resource>accounts|account_links|payment_intents|checkout/sessions|refunds|disputes)"
    r"(?:/(?P<id>[A-Za-z0-9_]+))?(?:/(?P<action>cancel|confirm))?$"
)
# The object each sandbox action works on.
ACTION_OBJECTS = {
    "deauthorize": ("account",),
    "fail": ("refund",),
    "settle": ("refund", "checkout.session"),
    "decline": ("checkout.session",),
    "dispute": ("payment_intent",),
    "inquiry": ("payment_intent",),
    "win": ("dispute",),
    "lose": ("dispute",),
}
CHECKOUT_PAGE = re.compile(r"^/checkout/(?P<id>cs_[A-Za-z0-9_]+)$")
ONBOARDING_PAGE = re.compile(r"^/connect/onboarding/(?P<id>acct_[A-Za-z0-9_]+)$")
# What a developer or a test makes happen on Stripe's side (no SDK call does these).
SANDBOX_ACTION = re.compile(
    r"^/sandbox/(?P<id>(?:acct|re|pi|dp|cs_test)_[A-Za-z0-9_]+)"
    r"/(?P<action>deauthorize|fail|settle|decline|dispute|inquiry|win|lose)$"
)
REASONS = {
    200: "OK",
    303: "See Other",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Request Failed",
    403: "Forbidden",
    404: "Not Found",
}

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Deliver = Callable[[dict[str, Any]], None]


def parse_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (`metadata[tenant]=x`, `line_items[0][quantity]=1`) as nested
    dicts; list indexes stay dict keys, which is all the sandbox needs."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return result


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


class StripeError(Exception):
    def __init__(self, status: int, error_type: str, message: str, *, code: str = "", decline_code: str = ""):
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"error": {"type": error_type, "message": message}}
        if code:
            self.body["error"]["code"] = code
        if decline_code:
            self.body["error"]["decline_code"] = decline_code


class StripeSandbox:
    """The WSGI app. `events` holds every event sent, in order; `deliver` posts one (None:
    kept only, e.g. to simulate a webhook that never arrived), in a thread of its own, or
    before the answer with `deliver_before_answering`."""

    def __init__(self, *, base_url: str, webhook_url: str = "", webhook_secret: str = "", deliver_events: bool = True):
        self.base_url = base_url.rstrip("/")
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.deliver_events = deliver_events
        # Deliver each event before answering the call that caused it: Stripe's events are
        # asynchronous and may overtake its answer (a new account's `account.updated`).
        self.deliver_before_answering = False
        self.objects: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self._idempotent: dict[tuple[str, str], tuple[str, int, dict[str, Any]]] = {}
        self._lock = threading.RLock()

    # -- WSGI

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length).decode() if length else ""
        onboarding = ONBOARDING_PAGE.match(path)
        if onboarding:
            return self._onboarding_page(start_response, account_id=onboarding["id"])
        page = CHECKOUT_PAGE.match(path)
        if page:
            if "text/html" in environ.get("HTTP_ACCEPT", ""):
                return self._checkout_html(start_response, session_id=page["id"], method=method, form=parse_form(raw))
            return self._checkout_page(start_response, session_id=page["id"], method=method, form=parse_form(raw))
        action = SANDBOX_ACTION.match(path)
        if action and method == "POST":
            return self._sandbox_action(start_response, object_id=action["id"], action=action["action"])
        route = ROUTE.match(path)
        if route is None:
            return _json(start_response, 404, StripeError(404, "invalid_request_error", "Unrecognized URL").body)
        if not environ.get("HTTP_AUTHORIZATION", "").startswith("Bearer sk_"):
            return _json(start_response, 401, StripeError(401, "invalid_request_error", "Invalid API Key").body)
        params = parse_form(raw if method == "POST" else environ.get("QUERY_STRING", ""))
        account = environ.get("HTTP_STRIPE_ACCOUNT", "")
        key = environ.get("HTTP_IDEMPOTENCY_KEY", "")
        revoked = self.objects.get(account or "", {}).get("_deauthorized")
        if revoked or (
            route["resource"] == "accounts" and self.objects.get(route["id"] or "", {}).get("_deauthorized")
        ):
            error = StripeError(
                403,
                "invalid_request_error",
                f"The provided key does not have access to account '{account or route['id']}' (or that account does "
                "not exist). Application access may have been revoked.",
                code="account_invalid",
            )
            return _json(start_response, 403, error.body)
        with self._lock:
            self.requests.append(
                {"method": method, "path": path, "params": params, "account": account, "idempotency_key": key}
            )
            if method == "POST" and key:
                fingerprint = hashlib.sha256(f"{path}?{raw}".encode()).hexdigest()
                seen = self._idempotent.get((account, key))
                if seen is not None:
                    if seen[0] != fingerprint:
                        error = StripeError(
                            400,
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same parameters they were first "
                            "used with.",
                        )
                        return _json(start_response, 400, error.body, replayed=True)
                    return _json(start_response, seen[1], seen[2], replayed=True)
            try:
                status, body = 200, self._dispatch(method, route, params, account)
            except StripeError as error:
                status, body = error.status, error.body
            if method == "POST" and key:
                self._idempotent[(account, key)] = (fingerprint, status, body)
        return _json(start_response, status, body)

    def _dispatch(self, method: str, route: re.Match, params: dict[str, Any], account: str) -> dict[str, Any]:
        resource, object_id, action = route["resource"], route["id"], route["action"]
        if resource == "accounts":
            if method == "POST" and object_id is None:
                return self._create_account(params)
            return self._get(object_id, "account", account="")
        if resource == "account_links" and method == "POST":
            self._get(params.get("account"), "account", account="")
            self.objects[params["account"]]["_return_url"] = params.get("return_url", "")
            return {
                "object": "account_link",
                "url": f"{self.base_url}/connect/onboarding/{params['account']}",
                "created": int(time.time()),
                "expires_at": int(time.time()) + 300,
            }
        if not account:
            raise StripeError(400, "invalid_request_error", "The sandbox serves direct charges only: Stripe-Account.")
        if resource == "payment_intents":
            if method == "POST" and object_id is None:
                return self._create_payment_intent(params, account)
            if method == "GET" and object_id is None:
                return self._list_payment_intents(params, account)
            intent = self._get(object_id, "payment_intent", account=account)
            if action == "cancel":
                return self._cancel(intent, params)
            if action == "confirm":
                return self._confirm(intent, params.get("payment_method", ""))
            return intent
        if resource == "checkout/sessions":
            if method == "POST" and object_id is None:
                return self._create_session(params, account)
            return self._get(object_id, "checkout.session", account=account)
        if resource == "refunds":
            if method == "POST" and object_id is None:
                return self._create_refund(params, account)
            if method == "GET" and object_id is None:
                found = [
                    _public(obj)
                    for obj in self.objects.values()
                    if obj["object"] == "refund"
                    and obj["_account"] == account
                    and obj["payment_intent"] == params.get("payment_intent", obj["payment_intent"])
                ]
                return {"object": "list", "url": "/v1/refunds", "has_more": False, "data": found}
            return self._get(object_id, "refund", account=account)
        if resource == "disputes" and method == "GET" and object_id:
            return self._get(object_id, "dispute", account=account)
        raise StripeError(404, "invalid_request_error", "Unrecognized request URL")

    # -- objects

    def _get(self, object_id: str | None, kind: str, *, account: str) -> dict[str, Any]:
        found = self.objects.get(object_id or "")
        if found is None or found["object"] != kind or found.get("_account", "") != account:
            raise StripeError(404, "invalid_request_error", f"No such {kind}: '{object_id}'", code="resource_missing")
        return _public(found)

    def _store(self, obj: dict[str, Any], account: str) -> dict[str, Any]:
        obj["_account"] = account
        self.objects[obj["id"]] = obj
        return _public(obj)

    def _create_account(self, params: dict[str, Any]) -> dict[str, Any]:
        account = {
            "id": _new_id("acct"),
            "object": "account",
            "type": params.get("type", "standard"),
            "email": params.get("email"),
            "country": params.get("country", "US"),
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": False,
            "requirements": {
                "currently_due": ["business_profile.url", "external_account", "tos_acceptance.date"],
                "disabled_reason": "requirements.past_due",
            },
            "metadata": params.get("metadata", {}),
            "created": int(time.time()),
        }
        stored = self._store(account, "")
        self._emit("account.updated", stored, account=account["id"])
        return stored

    def complete_onboarding(self, *, account_id: str) -> dict[str, Any]:
        """The business finished Stripe's onboarding form: the account takes charges."""
        with self._lock:
            account = self.objects[account_id]
            account.update(
                charges_enabled=True,
                payouts_enabled=True,
                details_submitted=True,
                requirements={"currently_due": [], "disabled_reason": None},
            )
            self._emit("account.updated", _public(account), account=account_id)
            return _public(account)

    def _onboarding_page(self, start_response: StartResponse, *, account_id: str) -> list[bytes]:
        """Stripe's hosted onboarding, completed at once; back to the link's return_url."""
        found = self.objects.get(account_id)
        if found is None or found["object"] != "account":
            return _json(start_response, 404, StripeError(404, "invalid_request_error", "No such account").body)
        account = self.complete_onboarding(account_id=account_id)
        back = found.get("_return_url")
        if not back:
            return _json(start_response, 200, account)
        start_response("303 See Other", [("Location", back), ("Content-Length", "0")])
        return [b""]

    def _create_payment_intent(self, params: dict[str, Any], account: str) -> dict[str, Any]:
        owner = self.objects.get(account, {})
        if not owner.get("charges_enabled"):
            raise StripeError(
                400,
                "invalid_request_error",
                "Your destination account needs to have at least one of the following capabilities enabled: "
                "transfers, card_payments.",
                code="insufficient_capabilities_for_transfer",
            )
        intent_id = _new_id("pi")
        try:
            amount = int(params["amount"])
        except (KeyError, ValueError) as error:
            raise StripeError(400, "invalid_request_error", "Missing required param: amount.") from error
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "currency": params.get("currency", "usd"),
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "metadata": params.get("metadata", {}),
            "application_fee_amount": int(params["application_fee_amount"])
            if params.get("application_fee_amount")
            else None,
            "latest_charge": None,
            "last_payment_error": None,
            "canceled_at": None,
            "cancellation_reason": None,
            "created": int(time.time()),
            "livemode": False,
        }
        return self._store(intent, account)

    def _list_payment_intents(self, params: dict[str, Any], account: str) -> dict[str, Any]:
        since = int(params.get("created", {}).get("gte", 0))
        limit = int(params.get("limit", 10))
        intents = sorted(
            (
                obj
                for obj in self.objects.values()
                if obj["object"] == "payment_intent" and obj["_account"] == account and obj["created"] >= since
            ),
            key=lambda obj: (obj["created"], obj["id"]),
            reverse=True,
        )
        after = params.get("starting_after")
        if after:
            ids = [obj["id"] for obj in intents]
            intents = intents[ids.index(after) + 1 :] if after in ids else []
        return {
            "object": "list",
            "url": "/v1/payment_intents",
            "has_more": len(intents) > limit,
            "data": [_public(obj) for obj in intents[:limit]],
        }

    def _cancel(self, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        stored = self.objects[intent["id"]]
        if stored["status"] in ("succeeded", "canceled"):
            raise StripeError(
                400,
                "invalid_request_error",
                f"You cannot cancel this PaymentIntent because it has a status of {stored['status']}.",
                code="payment_intent_unexpected_state",
            )
        stored.update(
            status="canceled",
            canceled_at=int(time.time()),
            cancellation_reason=params.get("cancellation_reason", "requested_by_customer"),
        )
        self._emit("payment_intent.canceled", _public(stored), account=stored["_account"])
        return _public(stored)

    def _confirm(self, intent: dict[str, Any], payment_method: str) -> dict[str, Any]:
        """Pay (or decline) an intent as Stripe.js would with a test payment method."""
        stored = self.objects[intent["id"]]
        account = stored["_account"]
        if stored["status"] in ("succeeded", "canceled"):
            raise StripeError(
                400,
                "invalid_request_error",
                f"This PaymentIntent's status is {stored['status']}.",
                code="payment_intent_unexpected_state",
            )
        if payment_method in DECLINING_METHODS:
            code, decline_code = DECLINING_METHODS[payment_method]
            stored.update(
                status="requires_payment_method",
                last_payment_error={
                    "type": "card_error",
                    "code": code,
                    "decline_code": decline_code,
                    "message": "Your card was declined.",
                },
            )
            self._emit("payment_intent.payment_failed", _public(stored), account=account)
            error = StripeError(402, "card_error", "Your card was declined.", code=code, decline_code=decline_code)
            error.body["error"]["payment_intent"] = _public(stored)
            raise error
        charge = {
            "id": _new_id("ch"),
            "object": "charge",
            "amount": stored["amount"],
            "amount_refunded": 0,
            "refunded": False,
            "currency": stored["currency"],
            "payment_intent": stored["id"],
            "status": "succeeded",
            "paid": True,
            "created": int(time.time()),
            "_pending_refunds": payment_method in PENDING_REFUND_METHODS,
        }
        self._store(charge, account)
        stored.update(
            status="succeeded", amount_received=stored["amount"], latest_charge=charge["id"], last_payment_error=None
        )
        self._emit("charge.succeeded", _public(charge), account=account)
        self._emit("payment_intent.succeeded", _public(stored), account=account)
        return _public(stored)

    def _create_session(self, params: dict[str, Any], account: str) -> dict[str, Any]:
        items = params.get("line_items", {})
        amount = sum(int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1)) for item in items.values())
        currency = next(iter(items.values()), {}).get("price_data", {}).get("currency", "usd")
        session_id = _new_id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params.get("mode", "payment"),
            "url": f"{self.base_url}/checkout/{session_id}",
            "status": "open",
            "payment_status": "unpaid",
            "payment_intent": None,
            "amount_total": amount,
            "currency": currency,
            "metadata": params.get("metadata", {}),
            "client_reference_id": params.get("client_reference_id"),
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "expires_at": int(params.get("expires_at") or time.time() + 24 * 3600),
            "created": int(time.time()),
            "_payment_intent_data": params.get("payment_intent_data", {}),
        }
        return self._store(session, account)

    def _checkout_page(
        self, start_response: StartResponse, *, session_id: str, method: str, form: dict[str, Any]
    ) -> list[bytes]:
        """The hosted page: GET shows the session; POST outcome=succeeded|failed pays it."""
        with self._lock:
            session = self.objects.get(session_id)
            if session is None:
                return _json(start_response, 404, StripeError(404, "invalid_request_error", "No such session").body)
            if method != "POST":
                return _json(start_response, 200, _public(session))
            if session["status"] != "open":
                error = StripeError(400, "invalid_request_error", f"This Checkout Session is {session['status']}.")
                return _json(start_response, 400, error.body)
            account = session["_account"]
            data = session["_payment_intent_data"]
            intent = self._create_payment_intent(
                {
                    "amount": session["amount_total"],
                    "currency": session["currency"],
                    "metadata": data.get("metadata", {}),
                    "application_fee_amount": data.get("application_fee_amount"),
                },
                account,
            )
            session["payment_intent"] = intent["id"]
            outcome = form.get("outcome", "succeeded")
            if outcome == "processing":  # a bank debit: paid days later, or not
                self.objects[intent["id"]]["status"] = "processing"
                session.update(status="complete", payment_status="unpaid")
                self._emit("checkout.session.completed", _public(session), account=account)
                return _json(start_response, 200, {"session": _public(session), "payment_intent": intent})
            try:
                paid = self._confirm(intent, "pm_card_visa" if outcome == "succeeded" else "pm_card_chargeDeclined")
            except StripeError as error:
                return _json(start_response, 402, error.body)
            session.update(status="complete", payment_status="paid")
            self._emit("checkout.session.completed", _public(session), account=account)
            back = (session.get("success_url") or "").replace("{CHECKOUT_SESSION_ID}", session["id"])
            return _json(start_response, 200, {"session": _public(session), "payment_intent": paid, "redirect": back})

    def _checkout_html(
        self, start_response: StartResponse, *, session_id: str, method: str, form: dict[str, Any]
    ) -> list[bytes]:
        """The hosted page as a browser sees it: the amount and two buttons (a card that pays,
        one that is declined); paid, the browser goes on to the session's success_url."""
        answers: list[tuple[str, dict[str, Any]]] = []
        body = json.loads(
            b"".join(
                self._checkout_page(
                    lambda status, headers: answers.append((status, dict(headers))),
                    session_id=session_id,
                    method=method,
                    form=form,
                )
            )
        )
        status = answers[0][0]
        if method == "POST" and status.startswith("200") and body.get("redirect"):
            start_response("303 See Other", [("Location", body["redirect"]), ("Content-Length", "0")])
            return [b""]
        session = self.objects.get(session_id)
        if session is None:
            return _html(start_response, status, "<h1>Checkout</h1><p>No such session.</p>")
        message = body.get("error", {}).get("message", "") if not status.startswith("200") else ""
        amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
        page = (
            "<h1>Stripe sandbox Checkout</h1>"
            f"<p>Pay <strong id='amount'>{html.escape(amount)}</strong></p>"
            + (f"<p role='alert' id='error'>{html.escape(message)}</p>" if message else "")
            + (
                "<form method='post'>"
                "<button id='pay' name='outcome' value='succeeded'>Pay with a test card</button> "
                "<button id='decline' name='outcome' value='failed'>Use a card that is declined</button></form>"
                if session["status"] == "open"
                else f"<p>This Checkout Session is {html.escape(session['status'])}.</p>"
            )
            + f"<p><a id='back' href='{html.escape(session.get('cancel_url') or '')}'>Back</a></p>"
        )
        return _html(start_response, status, page)

    def settle_async_payment(self, *, session_id: str, succeeded: bool) -> dict[str, Any]:
        """The bank settles (or returns) a Checkout Session's asynchronous payment."""
        with self._lock:
            session = self.objects[session_id]
            intent = self.objects[session["payment_intent"]]
            if session["payment_status"] != "unpaid" or intent["status"] != "processing":
                return _public(session)
            account = session["_account"]
            intent["status"] = "requires_confirmation"
            with contextlib.suppress(StripeError):  # a decline is on the intent and in its event
                self._confirm(_public(intent), "pm_card_visa" if succeeded else "pm_card_chargeDeclined")
            session["payment_status"] = "paid" if succeeded else "unpaid"
            kind = "async_payment_succeeded" if succeeded else "async_payment_failed"
            self._emit(f"checkout.session.{kind}", _public(session), account=account)
            return _public(session)

    def _create_refund(self, params: dict[str, Any], account: str) -> dict[str, Any]:
        intent = self._get(params.get("payment_intent"), "payment_intent", account=account)
        if intent["status"] != "succeeded":
            raise StripeError(400, "invalid_request_error", "This PaymentIntent has no successful charge.")
        charge = self.objects[intent["latest_charge"]]
        left = charge["amount"] - charge["amount_refunded"]
        amount = int(params.get("amount") or left)
        if amount > left:
            raise StripeError(
                400,
                "invalid_request_error",
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                code="amount_too_large",
            )
        refund = {
            "id": _new_id("re"),
            "object": "refund",
            "amount": amount,
            "currency": charge["currency"],
            "charge": charge["id"],
            "payment_intent": intent["id"],
            "status": "pending" if charge.get("_pending_refunds") else "succeeded",
            "failure_reason": None,
            "reason": params.get("reason"),
            "metadata": params.get("metadata", {}),
            "created": int(time.time()),
        }
        charge.update(amount_refunded=charge["amount_refunded"] + amount)
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        stored = self._store(refund, account)
        self._emit("refund.created", stored, account=account)
        self._emit("charge.refunded", _public(charge), account=account)
        return stored

    def settle_refund(self, *, refund_id: str) -> dict[str, Any]:
        """A pending refund reaches the card: `succeeded`, `refund.updated`."""
        with self._lock:
            refund = self.objects[refund_id]
            if refund["status"] == "pending":
                refund["status"] = "succeeded"
                self._emit("refund.updated", _public(refund), account=refund["_account"])
            return _public(refund)

    def dispute(self, *, payment_intent_id: str, inquiry: bool = False) -> dict[str, Any]:
        """Open a dispute on an intent's charge, as a card holder would (tests, README): its
        amount is withdrawn at once (`charge.dispute.funds_withdrawn`). An inquiry takes no
        money yet and, as Stripe's own fixture shows, names only the charge."""
        with self._lock:
            intent = self.objects[payment_intent_id]
            account = intent["_account"]
            dispute = {
                "id": _new_id("dp"),
                "object": "dispute",
                "amount": intent["amount_received"],
                "balance_transactions": [],
                "currency": intent["currency"],
                "charge": intent["latest_charge"],
                "payment_intent": None if inquiry else intent["id"],
                "evidence_details": {"due_by": int(time.time()) + 7 * 86400, "has_evidence": False},
                "is_charge_refundable": inquiry,
                "livemode": False,
                "metadata": {},
                "payment_method_details": {
                    "type": "card",
                    "card": {"brand": "visa", "case_type": "inquiry" if inquiry else "chargeback"},
                },
                "reason": "general" if inquiry else "fraudulent",
                "status": "warning_needs_response" if inquiry else "needs_response",
                "created": int(time.time()),
            }
            stored = self._store(dispute, account)
            self._emit("charge.dispute.created", stored, account=account)
            if not inquiry:
                self._emit("charge.dispute.funds_withdrawn", stored, account=account)
            return stored

    def close_dispute(self, *, dispute_id: str, won: bool) -> dict[str, Any]:
        """The card network decides the dispute: `charge.dispute.closed`, status won or lost
        (an inquiry: warning_closed); a won dispute's funds are reinstated."""
        with self._lock:
            dispute = self.objects[dispute_id]
            if dispute["status"] in ("won", "lost", "warning_closed"):
                return _public(dispute)
            inquiry = dispute["status"].startswith("warning_")
            dispute["status"] = "warning_closed" if inquiry else "won" if won else "lost"
            self._emit("charge.dispute.closed", _public(dispute), account=dispute["_account"])
            if won and not inquiry:
                self._emit("charge.dispute.funds_reinstated", _public(dispute), account=dispute["_account"])
            return _public(dispute)

    def deauthorize(self, *, account_id: str) -> dict[str, Any]:
        """The business disconnects our platform in its Stripe dashboard: we lose access to
        the account and get `account.application.deauthorized`."""
        with self._lock:
            account = self.objects[account_id]
            account["_deauthorized"] = True
            application = {"id": "ca_sandbox_platform", "object": "application", "name": "Sandbox platform"}
            self._emit("account.application.deauthorized", application, account=account_id)
            return application

    def fail_refund(self, *, refund_id: str, reason: str = "expired_or_canceled_card") -> dict[str, Any]:
        """The card network returns a refund after it succeeded (closed card): the refund
        becomes `failed`, the charge is refundable again, `refund.updated` and `refund.failed`."""
        with self._lock:
            refund = self.objects[refund_id]
            if refund["status"] in ("failed", "canceled"):
                return _public(refund)
            refund.update(status="failed", failure_reason=reason)
            charge = self.objects[refund["charge"]]
            charge.update(amount_refunded=charge["amount_refunded"] - refund["amount"], refunded=False)
            self._emit("refund.updated", _public(refund), account=refund["_account"])
            self._emit("refund.failed", _public(refund), account=refund["_account"])
            return _public(refund)

    def _sandbox_action(self, start_response: StartResponse, *, object_id: str, action: str) -> list[bytes]:
        """`POST /sandbox/{acct_id}/deauthorize`, `/sandbox/{re_id}/fail`, `/sandbox/{pi_id}/dispute`."""
        found = self.objects.get(object_id)
        if found is None or found["object"] not in ACTION_OBJECTS[action]:
            error = StripeError(404, "invalid_request_error", f"No such {ACTION_OBJECTS[action][0]}: '{object_id}'")
            return _json(start_response, 404, error.body)
        if action == "deauthorize":
            return _json(start_response, 200, self.deauthorize(account_id=object_id))
        if action == "fail":
            return _json(start_response, 200, self.fail_refund(refund_id=object_id))
        if action == "settle" and object_id.startswith("re_"):
            return _json(start_response, 200, self.settle_refund(refund_id=object_id))
        if action in ("settle", "decline"):
            return _json(
                start_response, 200, self.settle_async_payment(session_id=object_id, succeeded=action == "settle")
            )
        if action in ("win", "lose"):
            return _json(start_response, 200, self.close_dispute(dispute_id=object_id, won=action == "win"))
        return _json(start_response, 200, self.dispute(payment_intent_id=object_id, inquiry=action == "inquiry"))

    # -- events

    def _emit(self, event_type: str, obj: dict[str, Any], *, account: str) -> None:
        event = {
            "id": _new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "type": event_type,
            "account": account,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": obj},
        }
        self.events.append(event)
        if self.deliver_before_answering:
            self.deliver(event)
        elif self.deliver_events and self.webhook_url:
            threading.Thread(target=self.deliver, args=(event,), daemon=True).start()

    def sign(self, payload: str) -> str:
        return stripe.WebhookSignature.generate_signature_header(payload, self.webhook_secret)

    def deliver(self, event: dict[str, Any]) -> int | None:
        """POST one event to the webhook URL as Stripe does; the status, None if unreachable."""
        payload = json.dumps(event)
        headers = {"Content-Type": "application/json", "Stripe-Signature": self.sign(payload)}
        try:
            return requests.post(self.webhook_url, data=payload.encode(), headers=headers, timeout=10).status_code
        except requests.RequestException:
            return None


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if not key.startswith("_")}


def _json(start_response: StartResponse, status: int, body: dict[str, Any], *, replayed: bool = False) -> list[bytes]:
    payload = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    headers.append(("Request-Id", _new_id("req")))
    if replayed:
        headers.append(("Idempotent-Replayed", "true"))
    start_response(f"{status} {REASONS.get(status, 'Error')}", headers)
    return [payload]


def _html(start_response: StartResponse, status: str, content: str) -> list[bytes]:
    payload = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><title>Checkout</title></head>"
        f"<body style='font-family:sans-serif;max-width:30rem;margin:1rem auto;padding:1rem'>{content}</body></html>"
    ).encode()
    start_response(status, [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(payload)))])
    return [payload]


def serve(port: int, *, sandbox: StripeSandbox, host: str = "127.0.0.1") -> WSGIServer:
    """A server for the sandbox (call serve_forever(), or run it in a thread in tests)."""
    return serve_sandbox(sandbox, name="stripe-sandbox", port=port, host=host)


if __name__ == "__main__":
    if os.environ.get("STRIPE_SECRET_KEY"):
        sys.stderr.write("stripe-sandbox: STRIPE_SECRET_KEY is set, the real Stripe is used; not starting\n")
        sys.exit(0)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings

    base_url = settings.STRIPE_SANDBOX_URL
    app = StripeSandbox(
        base_url=base_url,
        webhook_url=settings.STRIPE_SANDBOX_WEBHOOK_URL,
        webhook_secret=settings.STRIPE_CONNECT_WEBHOOK_SECRET,
    )
    server = serve(urlsplit(base_url).port or 80, sandbox=app)
    sys.stderr.write(f"stripe-sandbox: listening on {base_url}, events to {app.webhook_url}\n")
    server.serve_forever()
