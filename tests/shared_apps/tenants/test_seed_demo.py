"""seed_demo (run by `make run`): its owner can log in at once, so no invitation is mailed or
printed for it."""

from django.core.management import call_command

from shared_apps.accounts.management.commands.seed_demo import DEMO_EMAIL


def test_seeding_mails_no_invitation_to_the_demo_owner(db, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")

    assert [message.to for message in mailoutbox if DEMO_EMAIL in message.to] == []
