from __future__ import annotations

import re

import pytest

from kehu.accounts.models import Role, Team, User
from kehu.customers.models import Contact, Customer, Need

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.django_db
def test_demo_creates_one_user_per_role_teams_and_customers_with_contacts(run_command) -> None:
    out = run_command("demo", "--customers", "20", "--password", "Demo-pass-2026")

    roles = set(User.objects.values_list("role__key", flat=True))
    assert roles == {Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE, Role.MARKETING, Role.READ_ONLY}
    assert User.objects.get(username="sales").check_password("Demo-pass-2026")
    head = Team.objects.get(parent__isnull=True)
    assert head.children.count() >= 3

    assert Customer.objects.count() == 20
    chinese = sum(bool(CJK.search(name)) for name in Customer.objects.values_list("name", flat=True))
    assert 8 <= chinese <= 12
    for customer in Customer.objects.all():
        assert 1 <= customer.contacts.count() <= 3
    owners = set(Customer.objects.values_list("owner__username", flat=True))
    assert owners <= {"sales", "sales2", "manager"}
    assert len(owners) >= 2
    assert Contact.objects.filter(is_primary=True).count() == 20

    assert "http://127.0.0.1:8000/" in out
    for username in ["admin", "manager", "sales", "sales2", "service", "marketing", "readonly"]:
        assert re.search(rf"^\s*{username}\s", out, re.MULTILINE)
    assert "Demo-pass-2026" in out


@pytest.mark.django_db
def test_demo_is_a_no_op_when_customers_exist(run_command) -> None:
    run_command("demo", "--customers", "4")
    out = run_command("demo", "--customers", "4")
    assert "no demo data added" in out
    assert Customer.objects.count() == 4


@pytest.mark.django_db
def test_demo_is_deterministic_for_a_seed(run_command) -> None:
    run_command("demo", "--customers", "6", "--seed", "7")
    first = list(Customer.objects.order_by("id").values_list("name", "city", "phone"))
    from kehu.activities.models import Interaction, Task
    from kehu.sales.contracts.models import Contract, Order, Payment
    from kehu.sales.opportunities.models import Opportunity

    Payment.all_objects.all().delete()  # payments, orders and contracts protect their customers
    Order.all_objects.all().delete()
    Contract.all_objects.all().delete()
    Opportunity.all_objects.all().delete()  # opportunities protect their customers
    Task.all_objects.all().delete()  # they protect their customers and contacts
    Interaction.all_objects.all().delete()
    Need.all_objects.all().delete()  # needs protect their customers too
    Contact.all_objects.all().delete()
    Customer.all_objects.all().delete()
    run_command("demo", "--customers", "6", "--seed", "7")
    assert list(Customer.objects.order_by("id").values_list("name", "city", "phone")) == first
