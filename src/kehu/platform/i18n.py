"""Names that ship in English and are shown in the reader's language until an admin changes
them: lifecycle stages, grades, pipelines and their stages. The default names are stored as
typed (English) and marked with ``gettext_noop``; one still equal to its default is translated
when shown, one an admin renamed is shown as typed."""

from __future__ import annotations

from django.utils.translation import gettext


def translated_default(text: str, defaults: dict[str, str], key: str) -> str:
    """``text`` translated when it is still the default name of ``key`` in ``defaults``."""
    return gettext(text) if text and defaults.get(key) == text else text


def kept_default(submitted: str, stored: str, defaults: dict[str, str], key: str) -> str:
    """The name to store when a form that showed ``translated_default(stored, …)`` sends back
    ``submitted``: the stored English default when the user left the translated name as it
    was (saving from a Chinese interface must not turn 线索 into a rename), else ``submitted``."""
    if stored and defaults.get(key) == stored and submitted in (stored, gettext(stored)):
        return stored
    return submitted
