"""The global search index (platform/search/): a table of search documents, and the
database's own text indexes over it.

SQLite: two FTS5 tables with the documents as external content, kept in step by triggers:
``platform_search_fts`` (trigram tokenizer: substrings of three characters or more, any script)
and ``platform_search_terms`` (unicode61 over the short terms: CJK characters and pairs of
characters, and the first one and two letters of every word, for one- and two-character
queries). PostgreSQL: pg_trgm GIN index over the text (ILIKE) and a GIN index over the terms
(as an array in a generated column).
"""

import django.db.models.functions.text
import django.utils.timezone
from django.db import migrations, models

SQLITE = [
    """CREATE VIRTUAL TABLE platform_search_fts USING fts5(
        number, title, body, pinyin,
        content='platform_searchdocument', content_rowid='id', tokenize='trigram'
    )""",
    """CREATE VIRTUAL TABLE platform_search_terms USING fts5(
        terms,
        content='platform_searchdocument', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2', detail='none', columnsize=0
    )""",
    """CREATE TRIGGER platform_searchdocument_ai AFTER INSERT ON platform_searchdocument BEGIN
        INSERT INTO platform_search_fts(rowid, number, title, body, pinyin)
            VALUES (new.id, new.number, new.title, new.body, new.pinyin);
        INSERT INTO platform_search_terms(rowid, terms) VALUES (new.id, new.terms);
    END""",
    """CREATE TRIGGER platform_searchdocument_ad AFTER DELETE ON platform_searchdocument BEGIN
        INSERT INTO platform_search_fts(platform_search_fts, rowid, number, title, body, pinyin)
            VALUES ('delete', old.id, old.number, old.title, old.body, old.pinyin);
        INSERT INTO platform_search_terms(platform_search_terms, rowid, terms) VALUES ('delete', old.id, old.terms);
    END""",
    """CREATE TRIGGER platform_searchdocument_au AFTER UPDATE ON platform_searchdocument BEGIN
        INSERT INTO platform_search_fts(platform_search_fts, rowid, number, title, body, pinyin)
            VALUES ('delete', old.id, old.number, old.title, old.body, old.pinyin);
        INSERT INTO platform_search_terms(platform_search_terms, rowid, terms) VALUES ('delete', old.id, old.terms);
        INSERT INTO platform_search_fts(rowid, number, title, body, pinyin)
            VALUES (new.id, new.number, new.title, new.body, new.pinyin);
        INSERT INTO platform_search_terms(rowid, terms) VALUES (new.id, new.terms);
    END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS platform_searchdocument_ai",
    "DROP TRIGGER IF EXISTS platform_searchdocument_ad",
    "DROP TRIGGER IF EXISTS platform_searchdocument_au",
    "DROP TABLE IF EXISTS platform_search_fts",
    "DROP TABLE IF EXISTS platform_search_terms",
]

# The expressions must stay exactly as platform/search/query.py writes them, or the planner will not
# use the indexes.
POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """CREATE INDEX platform_search_text_trgm ON platform_searchdocument
        USING gin ((number || ' ' || title || ' ' || body || ' ' || pinyin) gin_trgm_ops)""",
    # The terms as an array, computed by the database (the model does not know this column):
    # a stored array costs nothing to test per row, where string_to_array() is slow.
    """ALTER TABLE platform_searchdocument
        ADD COLUMN terms_array text[] GENERATED ALWAYS AS (string_to_array(terms, ' ')) STORED""",
    "CREATE INDEX platform_search_terms_gin ON platform_searchdocument USING gin (terms_array)",
]
POSTGRES_REVERSE = [
    "DROP INDEX IF EXISTS platform_search_text_trgm",
    "DROP INDEX IF EXISTS platform_search_terms_gin",
    "ALTER TABLE platform_searchdocument DROP COLUMN IF EXISTS terms_array",
]


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "sqlite" and connection.Database.sqlite_version_info < (3, 35, 0):
        raise RuntimeError(
            f"Kehu's search needs SQLite 3.35 or newer (FTS5 trigram tokenizer); this Python has "
            f"{connection.Database.sqlite_version}. Use a newer Python build, or PostgreSQL."
        )
    for statement in {"sqlite": SQLITE, "postgresql": POSTGRES}.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    for statement in {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('platform', '0005_tags_and_custom_fields'),
    ]

    operations = [
        migrations.CreateModel(
            name='SearchDocument',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('record_type', models.CharField(max_length=32)),
                ('record_id', models.BigIntegerField()),
                ('number', models.CharField(blank=True, max_length=32)),
                ('title', models.TextField(blank=True)),
                ('pinyin', models.TextField(blank=True)),
                ('indexed_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('body', models.TextField(blank=True)),
                ('terms', models.TextField(blank=True)),
            ],
            options={
                'indexes': [models.Index(django.db.models.functions.text.Lower('title'), name='platform_search_title_idx'), models.Index(django.db.models.functions.text.Lower('number'), name='platform_search_number_idx')],
                'constraints': [models.UniqueConstraint(fields=('record_type', 'record_id'), name='platform_searchdoc_unique_record')],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
