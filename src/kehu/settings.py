"""Django settings for Kehu, read from the environment (see docs/operations.md)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from kehu.datadir import data_dir, key_from_env_or_file


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = data_dir()

DEBUG = env_flag("KEHU_DEBUG")
SECRET_KEY = key_from_env_or_file("KEHU_SECRET_KEY", "secret.key", nbytes=48)
KEHU_ENCRYPTION_KEY = key_from_env_or_file("KEHU_ENCRYPTION_KEY", "encryption.key")
# Encryption of personal fields (platform/crypto.py): the current key comes from the environment
# or from the data directory's encryption.key; retired keys still decrypt (kehu rotate-keys).
KEHU_ENCRYPTION_KEY_FROM_ENV = bool(os.environ.get("KEHU_ENCRYPTION_KEY"))
KEHU_ENCRYPTION_OLD_KEYS = [k.strip() for k in os.environ.get("KEHU_ENCRYPTION_OLD_KEYS", "").split(",") if k.strip()]
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("KEHU_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h.strip()
]
KEHU_HTTPS = env_flag("KEHU_HTTPS")
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("KEHU_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "kehu.platform",
    "kehu.accounts",
    "kehu.customers",
    "kehu.activities",
    "kehu.sales.products",
    "kehu.sales.opportunities",
    "kehu.sales.contracts",
    "kehu.automation",
    "kehu.dataio.imports",
    "kehu.dataio.exports",
    "kehu.dataio.dedupe",
    "kehu.dataio.quality",
    "kehu.dataio.backup",
    "kehu.bench",
    "kehu.web",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "django_filters",
    "ninja",  # API docs from its bundled static files, not a CDN
    "crispy_forms",
    "crispy_bootstrap5",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "kehu.platform.requestlog.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kehu.accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "kehu.urls"
WSGI_APPLICATION = "kehu.wsgi.application"

FORM_RENDERER = "kehu.platform.renderer.FormRenderer"  # selects written in Python (see the module)
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "kehu.web.context_processors.shell",
            ],
        },
    },
]


def database_config(url: str | None) -> dict:
    """A database from a URL, or the embedded SQLite in the data directory.

    SQLite runs in WAL mode with IMMEDIATE transactions and a busy timeout, so the web
    process and a worker writing at the same time wait for each other instead of failing
    with "database is locked".
    """
    if url:
        config = dj_database_url.parse(
            url,
            conn_max_age=int(os.environ.get("KEHU_DB_CONN_MAX_AGE", "60")),
            # Behind PgBouncer in transaction mode a cursor cannot outlive its transaction
            # (docs/operations.md, "Connection pooling").
            disable_server_side_cursors=env_flag("KEHU_DB_DISABLE_SERVER_SIDE_CURSORS"),
        )
        config.setdefault("OPTIONS", {})
        if config["ENGINE"] == "django.db.backends.postgresql":
            config["CONN_HEALTH_CHECKS"] = True
            # No JIT compilation: Kehu's queries are short, and PostgreSQL compiled a search
            # with many visibility subplans for 2 s before running it for 0.3 s. PgBouncer
            # refuses this startup option: behind it, set jit = off on the database instead
            # (docs/operations.md, "Connection pooling").
            if not config.get("DISABLE_SERVER_SIDE_CURSORS"):
                config["OPTIONS"].setdefault("options", "-c jit=off")
        return dict(config)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "kehu.sqlite3",
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA foreign_keys=ON;"
                "PRAGMA busy_timeout=20000;"
                "PRAGMA temp_store=MEMORY;"
                "PRAGMA mmap_size=134217728;"
                "PRAGMA cache_size=-20000;"
            ),
        },
    }


DATABASES = {"default": database_config(os.environ.get("KEHU_DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("KEHU_REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # A database cache so that login throttling holds across several worker processes.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "kehu_cache"}}

_tasks_backend = os.environ.get("KEHU_TASKS_BACKEND", "db")
TASKS: dict[str, dict[str, object]] = {
    "default": {
        "BACKEND": {
            "db": "django_tasks_db.DatabaseBackend",
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
            "rq": "django_tasks_rq.RQBackend",
        }.get(_tasks_backend, _tasks_backend)
    }
}
if TASKS["default"]["BACKEND"] == "django_tasks_rq.RQBackend":
    # Tasks in Redis, run by RQ workers (`kehu worker` runs django-rq's rqworker).
    if not REDIS_URL:
        raise ImproperlyConfigured("KEHU_TASKS_BACKEND=rq needs KEHU_REDIS_URL (e.g. redis://127.0.0.1:6379/0).")
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    TASKS["default"]["QUEUES"] = ["default"]
    # No time limit, as with the database queue: an import or a reindex may run for many minutes.
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": -1}}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "kehu.accounts.backends.RoleBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "account_login"

# allauth: username or email login, no self sign-up (admins create users), TOTP second factor.
ACCOUNT_ADAPTER = "kehu.accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
# Throttled logins: per client address, and per account (KEHU_LOGIN_ATTEMPTS within 5 minutes).
ACCOUNT_RATE_LIMITS = {"login_failed": f"20/m/ip,{int(os.environ.get('KEHU_LOGIN_ATTEMPTS', '5'))}/300s/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Kehu"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("KEHU_TIME_ZONE", "Asia/Shanghai")
# Money custom fields sent without a currency are in this one (ISO 4217).
KEHU_DEFAULT_CURRENCY = os.environ.get("KEHU_DEFAULT_CURRENCY", "CNY").strip().upper() or "CNY"
# A renewal task is due this many days before an active contract ends (contracts/services.py).
KEHU_RENEWAL_NOTICE_DAYS = int(os.environ.get("KEHU_RENEWAL_NOTICE_DAYS", "30"))
# Phone numbers written without a country code are of this region (platform/phones.py).
KEHU_PHONE_REGION = "CN"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Where `kehu run --production` collects the static files (compressed) to serve them from disk.
STATIC_ROOT = (
    Path(os.environ["KEHU_STATIC_ROOT"]).resolve() if os.environ.get("KEHU_STATIC_ROOT") else DATA_DIR / "static"
)
STATICFILES_DIRS = [BASE_DIR / "static"]  # vendored browser assets (static/vendor/)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Plain names (no manifest, so nothing needs collectstatic); collectstatic also writes .gz copies.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"
# Serve static files straight from the package: no collectstatic step for a one-command install
# (`kehu run --production` collects them into STATIC_ROOT and serves them from there instead).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        # Tabler and htmx set style attributes; no third-party origin is ever allowed.
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
if KEHU_HTTPS:
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto (docs/operations.md).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("KEHU_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_flag("KEHU_HSTS_PRELOAD")


def email_config(url: str) -> dict:
    """Mail settings from ``KEHU_EMAIL_URL`` (``smtp://user:pass@host:port``, ``smtp+tls://…``,
    ``smtp+ssl://…`` or ``console://``); without it mail is written to the log."""
    if not url or url.startswith("console:"):
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    parts = urlsplit(url)
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname or "localhost",
        "EMAIL_PORT": parts.port or 25,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": parts.scheme == "smtp+tls",
        "EMAIL_USE_SSL": parts.scheme == "smtp+ssl",
        "EMAIL_TIMEOUT": 15,
    }


globals().update(email_config(os.environ.get("KEHU_EMAIL_URL", "")))
DEFAULT_FROM_EMAIL = os.environ.get("KEHU_DEFAULT_FROM_EMAIL", "kehu@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

NINJA_PAGINATION_MAX_LIMIT = 500

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("KEHU_LOG_LEVEL", "INFO")},
    "loggers": {
        # Our request log replaces Django's own per-request lines.
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
        # APScheduler logs every run of every job (the scheduler's lease is renewed every 10 s);
        # `kehu scheduler` says itself what it queues and who leads.
        "apscheduler": {"level": "WARNING"},
    },
}
