from django.core.management.base import BaseCommand

from shared_apps.tenants.daily_jobs import backfill_daily_jobs


class Command(BaseCommand):
    help = (
        "Schedule each tenant's daily jobs (expire quotes, mark invoices overdue at 00:05 local) "
        "where they are missing. Safe to run again: nothing is scheduled twice."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"{backfill_daily_jobs()} daily job run(s) scheduled.")
