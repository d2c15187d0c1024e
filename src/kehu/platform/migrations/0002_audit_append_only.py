"""Make the audit log append-only in the database itself: updates are refused by a trigger."""

from django.db import migrations

SQLITE = """
CREATE TRIGGER platform_auditentry_no_update BEFORE UPDATE ON platform_auditentry
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
SQLITE_REVERSE = "DROP TRIGGER IF EXISTS platform_auditentry_no_update;"

POSTGRES = """
CREATE OR REPLACE FUNCTION platform_auditentry_refuse_update() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER platform_auditentry_no_update BEFORE UPDATE ON platform_auditentry
FOR EACH ROW EXECUTE FUNCTION platform_auditentry_refuse_update();
"""
POSTGRES_REVERSE = """
DROP TRIGGER IF EXISTS platform_auditentry_no_update ON platform_auditentry;
DROP FUNCTION IF EXISTS platform_auditentry_refuse_update();
"""


def forwards(apps, schema_editor):
    sql = {"sqlite": SQLITE, "postgresql": POSTGRES}.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    sql = {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("platform", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
