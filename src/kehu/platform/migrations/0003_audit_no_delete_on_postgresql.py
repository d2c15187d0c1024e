"""On PostgreSQL, refuse row deletes of audit entries in the database too.

A row trigger does not fire on TRUNCATE, which is how Django (and its test runner) empties
tables on PostgreSQL. SQLite has no TRUNCATE: Django empties tables there with DELETE, so on
SQLite deletes are refused by the model and queryset only (see AuditEntry).
"""

from django.db import migrations

POSTGRES = """
CREATE OR REPLACE FUNCTION platform_auditentry_refuse_delete() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER platform_auditentry_no_delete BEFORE DELETE ON platform_auditentry
FOR EACH ROW EXECUTE FUNCTION platform_auditentry_refuse_delete();
"""
POSTGRES_REVERSE = """
DROP TRIGGER IF EXISTS platform_auditentry_no_delete ON platform_auditentry;
DROP FUNCTION IF EXISTS platform_auditentry_refuse_delete();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("platform", "0002_audit_append_only")]
    operations = [migrations.RunPython(forwards, backwards)]
