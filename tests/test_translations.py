"""The zh-Hans catalogue is complete: every message in the code is translated."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "kehu"
CATALOGUE = SRC / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_zh_hans_catalogue_has_no_untranslated_or_fuzzy_entries() -> None:
    catalogue = polib.pofile(str(CATALOGUE))
    missing = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]
    assert missing == []
    assert fuzzy == []
    assert len(catalogue.translated_entries()) > 300


def test_compiled_catalogue_matches_the_source() -> None:
    compiled = {(entry.msgctxt, entry.msgid): entry for entry in polib.mofile(str(CATALOGUE.with_suffix(".mo")))}
    stale = []
    for entry in polib.pofile(str(CATALOGUE)).translated_entries():
        found = compiled.get((entry.msgctxt, entry.msgid))
        if found is None or (not entry.msgid_plural and found.msgstr != entry.msgstr):
            stale.append(entry.msgid)
    assert stale == [], "run `make messages` to compile the catalogue"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext is not installed (apt-get install gettext)")
def test_every_message_in_the_code_is_in_the_catalogue(tmp_path: Path) -> None:
    copy = tmp_path / "kehu"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("static", "__pycache__", "*.mo"))
    subprocess.run(
        [
            sys.executable,
            "-P",
            "-m",
            "django",
            "makemessages",
            "-l",
            "zh_Hans",
            "--no-obsolete",
            "--no-location",
            "-v0",
        ],
        cwd=copy,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ""},
    )
    extracted = {entry.msgid for entry in polib.pofile(str(copy / "locale/zh_Hans/LC_MESSAGES/django.po"))}
    translated = {entry.msgid for entry in polib.pofile(str(CATALOGUE)).translated_entries()}
    assert sorted(extracted - translated) == []
