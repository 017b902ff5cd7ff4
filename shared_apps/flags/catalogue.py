"""Every feature flag, declared here with its default. The database holds only what platform
admins changed: a flag's rollout percentage and per-business overrides (docs/flags.md)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Flag:
    name: str
    description: str
    # On for every business unless a rollout or an override says otherwise.
    default: bool = True
    # The provider whose inbound webhooks are stored, not run, while the flag is off for a
    # business (shared_apps/webhooks); blank: none.
    webhook_provider: str = ""


SMS = "sms"
VOICE = "voice"
CARD_PAYMENTS = "card_payments"
OUTBOUND_WEBHOOKS = "outbound_webhooks"

FLAGS: dict[str, Flag] = {
    flag.name: flag
    for flag in (
        Flag(SMS, "Texts through Twilio: sending them, and running Twilio's webhooks.", webhook_provider="twilio"),
        Flag(VOICE, "Calls through Vapi: placing them, and running Vapi's webhooks.", webhook_provider="vapi"),
        Flag(
            CARD_PAYMENTS,
            "Card payments through Stripe: connecting, payment intents, checkout, card refunds, and running "
            "Stripe's webhooks.",
            webhook_provider="stripe",
        ),
        # Declared ahead of the sender of outbound webhooks, which checks it at its entry point.
        Flag(OUTBOUND_WEBHOOKS, "Outbound webhooks to the business's own endpoints."),
    )
}

FLAG_OF_PROVIDER: dict[str, str] = {
    flag.webhook_provider: flag.name for flag in FLAGS.values() if flag.webhook_provider
}
