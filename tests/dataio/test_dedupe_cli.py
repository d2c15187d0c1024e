"""``kehu dedupe``: scan, list, merge and undo from the command line."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kehu.customers.models import Contact, Customer
from kehu.dataio.dedupe.models import Merge

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("dedupe", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_scan_list_merge_and_undo(admin_user: Any, rep: Any, make_customer: Any, make_contact: Any) -> None:
    first = make_customer(rep, name="北京远航物流有限公司", city="北京")
    second = make_customer(rep, name="北京远航物流", city="北京", email="info@yuanhang.example")
    make_contact(rep, second, name="赵敏")

    assert "customer: 2 records, 1 pairs (1 new" in run("scan", "--type", "customer")
    listing = run("list", "--type", "customer", "--min-score", "90")
    assert first.number in listing
    assert "Same name" in listing
    assert "0 open pairs" in run("list", "--min-score", "101")

    output = run("merge", first.number, second.number, "--user", "rep")
    merge = Merge.objects.get()
    assert f"kehu dedupe undo {merge.pk}" in output
    assert Customer.objects.get(pk=first.pk).email == "info@yuanhang.example"
    assert Contact.objects.get().customer_id == first.pk

    assert "is back" in run("undo", str(merge.pk))
    assert Contact.objects.get().customer_id == second.pk


def test_merge_refuses_another_teams_record_and_bad_numbers(rep: Any, other_rep: Any, make_customer: Any) -> None:
    mine = make_customer(rep, name="Acme")
    theirs = make_customer(other_rep, name="Acme")
    with pytest.raises(CommandError, match="Not found"):
        run("merge", mine.number, theirs.number, "--user", "rep")
    with pytest.raises(CommandError, match="No record numbered"):
        run("merge", mine.number, "C-999999", "--user", "rep")
    with pytest.raises(CommandError, match="No active user"):
        run("merge", mine.number, theirs.number, "--user", "nobody")
    with pytest.raises(CommandError, match="Unknown record type"):
        run("scan", "--type", "spaceship")
    assert not Customer.objects.get(pk=theirs.pk).is_deleted
