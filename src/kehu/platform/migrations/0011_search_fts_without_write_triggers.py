"""The SQLite search index's FTS5 tables are no longer kept in step by per-row insert and
update triggers but by ``platform/search/index.py``, a few ``INSERT … SELECT`` statements per
batch of documents: FTS5 writes its pending terms out as a new segment at every statement's
savepoint, so the triggers (a statement per document) made each document cost 3–4 times as much
to write (measured: 122 µs against 36 µs a document, a customer's document of ~90 characters).
The delete trigger stays: deleting documents with the ORM keeps the FTS5 tables right."""

from django.db import migrations


TRIGGERS = ("platform_searchdocument_ai", "platform_searchdocument_au")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for name in TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    from importlib import import_module

    search_index = import_module("kehu.platform.migrations.0006_search_index")
    for statement in search_index.SQLITE:
        if any(f"TRIGGER {name} " in statement for name in TRIGGERS):
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("platform", "0010_lease"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
