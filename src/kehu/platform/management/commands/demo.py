"""``kehu demo``: init plus realistic bilingual demo data."""

from __future__ import annotations

import os
import time
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kehu.platform.errors import validation_message

DEMO_MARKER = ".demo-loaded"
DEMO_URL = "http://127.0.0.1:8000/"


class Command(BaseCommand):
    help = (
        "Run `kehu init`, then load demo data: a team tree, one user per role (admin, manager, sales, "
        "sales2, service, marketing, readonly) sharing one password, and customers with contacts, half "
        "Chinese and half English. Does nothing when customers exist already, unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=200, help="How many customers to create (default 200).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed; the same seed gives the same data.")
        parser.add_argument(
            "--password",
            default=None,
            help="Password of the demo users (default: KEHU_PASSWORD when set, else kehu-demo-2026).",
        )
        parser.add_argument("--force", action="store_true", help="Add demo customers even when customers exist.")
        parser.add_argument("--url", default=DEMO_URL, help=f"The address to tell users to open (default {DEMO_URL}).")

    def handle(self, *args: Any, **options: Any) -> None:
        from kehu.accounts.demo import DEFAULT_PASSWORD, create_demo_users
        from kehu.customers.demo import DemoOwners, create_demo_customers
        from kehu.customers.models import Customer

        if options["customers"] < 0:
            raise CommandError("--customers cannot be negative.")
        call_command("init", no_admin=True, verbosity=options["verbosity"], stdout=self.stdout, stderr=self.stderr)
        if Customer.all_objects.exists() and not options["force"]:
            self.stdout.write("Customers exist already: no demo data added (use --force to add more).")
            return
        password = options["password"] or os.environ.get("KEHU_PASSWORD") or DEFAULT_PASSWORD
        started = time.monotonic()
        try:
            logins = create_demo_users(password)
        except ValidationError as error:
            raise CommandError(validation_message(error)) from error
        users = {login.user.username: login.user for login in logins}
        owners = DemoOwners(east=users["sales"], south=users["sales2"], manager=users["manager"])
        last_before = Customer.all_objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        customers, contacts = create_demo_customers(count=options["customers"], owners=owners, seed=options["seed"])
        from kehu.activities.demo import create_demo_activities

        activities = create_demo_activities(seed=options["seed"], customers_after=last_before)
        from kehu.sales.products.demo import create_demo_catalogue

        catalogue = create_demo_catalogue(manager=users["manager"], admin=users["admin"], seed=options["seed"])
        from kehu.sales.opportunities.demo import create_demo_opportunities

        pipeline = create_demo_opportunities(seed=options["seed"], customers_after=last_before)
        from kehu.sales.contracts.demo import create_demo_contracts  # after the pipeline: its won deals

        sales = create_demo_contracts(seed=options["seed"], customers_after=last_before)
        (settings.DATA_DIR / DEMO_MARKER).touch()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data: {len(logins)} users, {customers} customers, {contacts} contacts, "
                f"{activities.interactions} interactions, {activities.tasks} tasks, "
                f"{catalogue.products} products, {catalogue.rates} exchange rates, "
                f"{pipeline.opportunities} opportunities ({pipeline.won} won, {pipeline.lost} lost), "
                f"{pipeline.quotas} quotas, "
                f"{sales.contracts} contracts, {sales.orders} orders, {sales.payments} payments "
                f"({time.monotonic() - started:.1f}s)."
            )
        )
        self.stdout.write("")
        self.stdout.write(f"Open {options['url']} and log in as one of:")
        rows = [("username", "role", "team", "password")]
        for login in logins:
            shown = password if login.created else "(existing user, unchanged)"
            rows.append((login.user.username, login.role, login.team, shown))
        widths = [max(_width(row[i]) for row in rows) for i in range(4)]
        for number, row in enumerate(rows):
            self.stdout.write("  " + "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
            if number == 0:
                self.stdout.write("  " + "  ".join("-" * w for w in widths))


def _width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
