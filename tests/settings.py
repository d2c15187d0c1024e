"""Test settings: the app's settings with a throwaway data directory, fast password hashing,
tasks run at once, and PostgreSQL when KEHU_TEST_DATABASE_URL is set."""

import os
import tempfile

os.environ.setdefault("KEHU_DATA_DIR", tempfile.mkdtemp(prefix="kehu-test-"))
os.environ.setdefault("KEHU_TASKS_BACKEND", "immediate")

from kehu.settings import *  # noqa: F403
from kehu.settings import database_config

DATABASES = {"default": database_config(os.environ.get("KEHU_TEST_DATABASE_URL"))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(os.environ["KEHU_DATA_DIR"], "test.sqlite3")}
else:  # a throwaway test database: a commit need not wait for the server's disk
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c synchronous_commit=off".strip()
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
KEHU_BACKUP_INTERVAL_HOURS = 0  # no scheduled backups when a test runs the housekeeping sweeps (test_backup* set it)
