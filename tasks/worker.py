"""Entry point for `dramatiq tasks.worker`: sets Django up, then loads the actors."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from tasks import actors  # noqa: E402, F401 - registers every actor with the broker
