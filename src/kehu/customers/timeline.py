"""What customers and contacts put on a customer's timeline. Titles are data (names), never
translated text: an entry is read in the reader's language, its kind's label says what it is."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from kehu.platform import timeline

timeline.register(
    timeline.Source(
        record_type="customer",
        kind="created",
        label=_("Created"),
        icon="ti-building-plus",
        subjects=lambda customer: [("customer", customer.pk)],
        occurred_at=lambda customer: customer.created_at,
        title=lambda customer: customer.name,
        summary=lambda customer: customer.number,
    )
)

timeline.register(
    timeline.Source(
        record_type="contact",
        kind="contact",
        label=_("Contacts"),
        icon="ti-user-plus",
        subjects=lambda contact: [("customer", contact.customer_id)],
        occurred_at=lambda contact: contact.created_at,
        title=lambda contact: contact.name,
        summary=lambda contact: " · ".join(part for part in (contact.title, contact.department) if part),
    )
)
