"""kpiboard settings.

Two shapes, chosen by the environment:

* Embedded (no ``DATABASE_URL``): SQLite under ``var/``, a Celery broker on the local
  filesystem, DEBUG on. Nothing to install, so a fresh clone runs with one command.
* Production (``DATABASE_URL`` set): PostgreSQL, Redis or RabbitMQ from
  ``CELERY_BROKER_URL``, DEBUG off, and a refusal to start without ``SECRET_KEY`` and
  ``ALLOWED_HOSTS``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
import plotly
from django.core.exceptions import ImproperlyConfigured

from kpiboard.csp import plotly_style_hashes
from kpiboard.env import env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("KPIBOARD_VAR_DIR") or BASE_DIR / "var")

DATABASE_URL = env_str("DATABASE_URL")
EMBEDDED = not DATABASE_URL

# DEBUG exists only in the embedded shape; production never shows tracebacks.
DEBUG = EMBEDDED and env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not EMBEDDED:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production (DATABASE_URL set) needs a long random "
            "SECRET_KEY, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
        )
    SECRET_KEY = "embedded-only-insecure-key-never-used-when-DATABASE_URL-is-set"

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if EMBEDDED else []
)
if not EMBEDDED and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is not set. Give the host names kpiboard is served under, "
        "comma-separated, e.g. ALLOWED_HOSTS=kpi.example.com."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "lifecycle.catalog",
    "lifecycle.dataprep",
    "lifecycle.development",
    "lifecycle.deployment",
    "lifecycle.monitoring",
    "lifecycle.value",
    "ingestion",
    "demo",  # the demo seeder (`manage.py seed_demo`), apart from the write path
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kpiboard.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kpiboard.urls"
WSGI_APPLICATION = "kpiboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kpiboard.context_processors.navigation",
            ],
        },
    },
]

if EMBEDDED:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "kpiboard.sqlite3",
            "OPTIONS": {
                # WAL lets the web process read while the worker writes; IMMEDIATE
                # transactions avoid "database is locked" on lock upgrades.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
else:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
        raise ImproperlyConfigured(
            f"DATABASE_URL must point at PostgreSQL (postgres://...), not "
            f"{DATABASES['default']['ENGINE']}"
        )
    # kpiboard's queries are short (rollup rows, an hour of raw events): PostgreSQL's JIT
    # spent 10-40 ms compiling each raw-edge query of a KPI request and won nothing back.
    # An `options` given in DATABASE_URL (?options=...) replaces this.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portfolio"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(
    env_str("STATIC_ROOT") or (VAR_DIR / "static" if EMBEDDED else BASE_DIR / "staticfiles")
)
if EMBEDDED:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
# plotly.js comes from the installed plotly package, so the app works offline and the
# JavaScript always matches the Python library that builds the figures.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("plotly", Path(plotly.__file__).resolve().parent / "package_data"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if EMBEDDED
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = EMBEDDED

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "lifecycle.catalog.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["lifecycle.catalog.permissions.RoleWritePermission"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "kpiboard.pagination.CappedLimitOffsetPagination",
    # JSON read by lifecycle.catalog.jsonbody: NaN, lone surrogates, NUL and deep nesting
    # are a 400 naming the field, not a 500 from the database.
    "DEFAULT_PARSER_CLASSES": [
        "lifecycle.catalog.jsonbody.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 100,
    # Documents the error answers every operation can give (lifecycle/catalog/schema.py).
    "DEFAULT_SCHEMA_CLASS": "lifecycle.catalog.schema.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if EMBEDDED else []),
    "EXCEPTION_HANDLER": "kpiboard.api.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "kpiboard API",
    "DESCRIPTION": "Push serving events, labels, metrics and registry events; read KPIs "
    "and the model catalog. Authenticate with `Authorization: Token <key>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI from the sidecar package's static files: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per shared choice set, whichever serializer uses it.
    "ENUM_NAME_OVERRIDES": {
        "ServingModeEnum": "lifecycle.catalog.models.ServingMode",
        "DeploymentRoleEnum": "lifecycle.catalog.models.DeploymentRole",
        "FailureClassEnum": "lifecycle.catalog.models.FailureClass",
        "RoleEnum": "lifecycle.catalog.models.Role",
    },
}

# --- Celery ------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
if CELERY_BROKER_URL is None:
    if not EMBEDDED:
        raise ImproperlyConfigured(
            "CELERY_BROKER_URL is not set. Production needs Redis (redis://host:6379/0) "
            "or RabbitMQ (amqp://user:pass@host:5672//)."
        )
    # The filesystem transport needs no server: the worker and beat that `make demo`
    # starts pass messages through these folders.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),  # else kombu writes ./control
        "store_processed": False,
    }
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a task killed mid-run is redelivered; tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"

# --- Security (production) -----------------------------------------------------------
if not EMBEDDED:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Login throttling (django-axes): failures are counted in the database, which every web
# process shares, also on the embedded SQLite with no cache server. A username+address
# pair is locked, so one user's typos never lock another user out, nor an attacker who
# guesses from elsewhere the real user.
INSTALLED_APPS += ["axes"]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked pair before checking
    "django.contrib.auth.backends.ModelBackend",
]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # turns a lockout into its page
AXES_FAILURE_LIMIT = env_int("KPIBOARD_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("KPIBOARD_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "kpiboard.login.lockout_respond"
AXES_CLIENT_IP_CALLABLE = "kpiboard.login.client_address_get"
# Content-Security-Policy (django-csp): scripts and styles only from our own static files.
# Pages pass data to static/kpiboard.js in data- attributes and application/json blocks,
# which are not executed; the API docs load their init script from the docs URL itself.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "csp.middleware.CSPMiddleware",
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # No 'unsafe-inline': only the <style> elements plotly.js itself adds.
        "style-src": [
            "'self'",
            *plotly_style_hashes(
                script=Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
            ),
        ],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
# Behind a proxy (the same switch as SECURE_PROXY_SSL_HEADER) the client address is read
# from X-Forwarded-For, trusting as many entries from the right as there are proxies.
KPIBOARD_PROXY_COUNT = (
    env_int("KPIBOARD_PROXY_COUNT", 1)
    if not EMBEDDED and env_bool("SECURE_PROXY_SSL_HEADER", False)
    else 0
)

# Every handler redacts `token=<key>` (KServe's logger sends its key in the URL). Django's
# own loggers are named so they use these handlers, not the unfiltered defaults.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_tokens": {"()": "kpiboard.logs.TokenRedactFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_tokens"],
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "redact_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
DEFAULT_EXCEPTION_REPORTER_FILTER = "kpiboard.logs.TokenSafeExceptionReporterFilter"

# --- kpiboard --------------------------------------------------------------------------
# Uploaded files that are kept (see DATASET_KEEP_RAW_FILES) live here.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
MEDIA_URL = "/media/"

# --- Dataset uploads (docs: issue 5; ingestion/profiling) --------------------------------
# Larger uploads are answered 413 before the body is read.
DATASET_UPLOAD_MAX_BYTES = env_int("DATASET_UPLOAD_MAX_BYTES", 2 * 1024**3)
# A gzip or Parquet file may not expand past this many bytes, nor by more than this ratio
# (real CSV compresses 3-15x; a bomb does 1000x).
DATASET_MAX_DECOMPRESSED_BYTES = env_int("DATASET_MAX_DECOMPRESSED_BYTES", 20 * 1024**3)
DATASET_MAX_COMPRESSION_RATIO = float(env_int("DATASET_MAX_COMPRESSION_RATIO", 200))
DATASET_MAX_ROWS = env_int("DATASET_MAX_ROWS", 500_000_000)
DATASET_MAX_COLUMNS = env_int("DATASET_MAX_COLUMNS", 2_000)
# Profiles are kept; the raw file only when this is on.
DATASET_KEEP_RAW_FILES = env_bool("DATASET_KEEP_RAW_FILES", False)

# --- Ingestion (issue 3; see docs/ingestion.md) ---------------------------------------
# Push API limits: a larger body or batch is answered 413 (Django alone would say 400).
KPIBOARD_INGEST_MAX_BODY_BYTES = env_int("KPIBOARD_INGEST_MAX_BODY_BYTES", 32 * 1024 * 1024)
KPIBOARD_INGEST_MAX_ITEMS = env_int("KPIBOARD_INGEST_MAX_ITEMS", 50_000)
# Folder of serving-log files scanned every minute (embedded: var/serving-logs).
KPIBOARD_SERVING_LOG_DIR = env_str("KPIBOARD_SERVING_LOG_DIR") or (
    str(VAR_DIR / "serving-logs") if EMBEDDED else None
)
if EMBEDDED and not env_str("KPIBOARD_SERVING_LOG_DIR"):
    # The embedded folder is ours to make; a configured one missing is worth a warning.
    Path(KPIBOARD_SERVING_LOG_DIR).mkdir(parents=True, exist_ok=True)
# KServe logs a response only for HTTP 200: a request still unanswered after this many
# seconds becomes an error event of class "other".
KPIBOARD_KSERVE_RESPONSE_TIMEOUT_SECONDS = env_int("KPIBOARD_KSERVE_RESPONSE_TIMEOUT_SECONDS", 60)
# KServe's logger sends no headers of its own, so it authenticates with ?token=<key> in
# its URL; turn that off where a proxy or mesh adds `Authorization: Token <key>` instead.
KPIBOARD_KSERVE_QUERY_TOKEN = env_bool("KPIBOARD_KSERVE_QUERY_TOKEN", True)
# A serving event naming a version or endpoint of a known model that the catalog lacks
# (the serving layer deployed before the registry sync caught up): `register` stores it
# and registers the version or endpoint as seen in serving, until a registry brings it;
# `refuse` answers 400 as for any unknown name. An unknown model is always refused.
KPIBOARD_UNKNOWN_SERVING = env_choice(
    "KPIBOARD_UNKNOWN_SERVING", ("register", "refuse"), "register"
)
# Stale hours a rollup refresh recomputes per transaction (smaller: shorter locks).
KPIBOARD_ROLLUP_BATCH_MARKS = env_int("KPIBOARD_ROLLUP_BATCH_MARKS", 2000)
# Raw serving events older than this many days are deleted nightly; their rollups stay.
# 0 keeps them forever.
KPIBOARD_EVENT_RETENTION_DAYS = env_int("KPIBOARD_EVENT_RETENTION_DAYS", 0)
# 5-minute latency rollups (a day's charts in 5-minute buckets) are kept this many days
# and pruned nightly; an older window's charts are drawn by hour. 0 keeps them forever.
KPIBOARD_FIVE_MINUTE_ROLLUP_DAYS = env_int("KPIBOARD_FIVE_MINUTE_ROLLUP_DAYS", 3)

# --- Model registries and deployment KPIs (docs: issue 4) --------------------------------
# Hosts a registry poll may reach: `host`, `host:port` or `*.domain`; none when unset.
KPIBOARD_REGISTRY_ALLOWED_HOSTS = env_list("KPIBOARD_REGISTRY_ALLOWED_HOSTS")
KPIBOARD_REGISTRY_CONNECT_TIMEOUT_SECONDS = env_int("KPIBOARD_REGISTRY_CONNECT_TIMEOUT_SECONDS", 5)
KPIBOARD_REGISTRY_READ_TIMEOUT_SECONDS = env_int("KPIBOARD_REGISTRY_READ_TIMEOUT_SECONDS", 30)
KPIBOARD_REGISTRY_TOTAL_TIMEOUT_SECONDS = env_int("KPIBOARD_REGISTRY_TOTAL_TIMEOUT_SECONDS", 120)
KPIBOARD_REGISTRY_MAX_ANSWER_BYTES = env_int("KPIBOARD_REGISTRY_MAX_ANSWER_BYTES", 64 * 1024**2)
# A new production version replaced or rolled back within this many days is a failed change.
KPIBOARD_CHANGE_FAILURE_DAYS = env_int("KPIBOARD_CHANGE_FAILURE_DAYS", 7)
# Errors of class `deployment` this soon after a rollout mark it as a failed deployment.
KPIBOARD_ROLLOUT_ERROR_MINUTES = env_int("KPIBOARD_ROLLOUT_ERROR_MINUTES", 60)
