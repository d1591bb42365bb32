"""Settings shared by every environment, read from the environment (django-environ)."""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF

from bearscope.lanes import CLUSTERS, DECISIONS, EVENTS

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A .env beside manage.py is read when present; real environment variables win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Local settings' default key: public, so manage.py refuses to run with it once DEBUG is off.
DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105 (public on purpose)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_q",
    "csp",
    "axes",
    "bearscope",
    "kustomer",
    "classification",
    "autoreply",
    "intelligence",
]

# The bearscope.middleware ones are Django's and django-csp's, skipped by the webhook.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "bearscope.middleware.CSPMiddleware",
    "bearscope.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "bearscope.middleware.AuthenticationMiddleware",
    "bearscope.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "bearscope.urls"
WSGI_APPLICATION = "bearscope.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL, a busy timeout and IMMEDIATE transactions let the web server and qcluster share one
    # SQLite file: a deferred transaction that reads then writes fails at once with "database is
    # locked" instead of waiting for the other writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
# Persistent connections: without them each webhook opens two PostgreSQL connections (the
# request's and the queue insert's); docs/benchmarks.md has what that costs.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: it refuses a locked-out username and address before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Reviewers are not staff, so they sign in on the site's own page, not the admin's.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"

# --- Sign-in throttle (django-axes), on the site's and the admin's login pages -------------
# A username is locked out from one address after this many failed sign-ins, for the cool-off.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Behind a load balancer every request comes from its address: this many X-Forwarded-For entries
# (from the right) are the proxies' own, and the client's address is read from them (0: none).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "bearscope.signin.client_ip"
# An address failing for this many different usernames within the cool-off is blocked whole.
LOGIN_ADDRESS_USERNAME_LIMIT = env.int("LOGIN_ADDRESS_USERNAME_LIMIT", default=20)
AXES_HANDLER = "bearscope.signin.AddressAwareHandler"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# No start-up banner on every manage.py command; lockouts are still logged as warnings.
AXES_VERBOSE = False

# --- Response headers ------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Every script and stylesheet is a static file of ours (Chart.js is vendored); no inline code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

REST_FRAMEWORK = {
    # The webhook is the only DRF view; it sets its own classes. Nothing else is exposed.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [],
}

# --- Kustomer -----------------------------------------------------------------------------
KUSTOMER_API_BASE_URL = env("KUSTOMER_API_BASE_URL", default="https://api.kustomerapp.com")
KUSTOMER_API_KEY = env("KUSTOMER_API_KEY", default="")
# The org's Kustomer app (https://ORG.kustomerapp.com): pages link each conversation to it there.
KUSTOMER_APP_URL = env("KUSTOMER_APP_URL", default="")
KUSTOMER_WEBHOOK_SECRET = env("KUSTOMER_WEBHOOK_SECRET", default="")
# When set, webhook events whose envelope names another org are refused (403) and stored nowhere.
KUSTOMER_ORG_ID = env("KUSTOMER_ORG_ID", default="")
KUSTOMER_MACHINE_USER_ID = env("KUSTOMER_MACHINE_USER_ID", default="")
KUSTOMER_WEBHOOK_MAX_BYTES = env.int("KUSTOMER_WEBHOOK_MAX_BYTES", default=1024 * 1024)
KUSTOMER_RATE_LIMIT_PER_MINUTE = env.int("KUSTOMER_RATE_LIMIT_PER_MINUTE", default=1000)
# Kustomer's budget window is a minute. Tests shorten it (1-60 s) to cross windows quickly; the
# limit above then counts per window.
KUSTOMER_RATE_WINDOW_SECONDS = env.int("KUSTOMER_RATE_WINDOW_SECONDS", default=60)
KUSTOMER_TIMEOUT_CONNECT = env.float("KUSTOMER_TIMEOUT_CONNECT", default=3.05)
KUSTOMER_TIMEOUT_READ = env.float("KUSTOMER_TIMEOUT_READ", default=15.0)
KUSTOMER_MAX_RETRIES = env.int("KUSTOMER_MAX_RETRIES", default=4)
# Longest single wait for a retry or a budget slot; beyond it the call fails instead of
# sleeping past the task timeout.
KUSTOMER_MAX_WAIT_SECONDS = env.float("KUSTOMER_MAX_WAIT_SECONDS", default=30.0)
KUSTOMER_EVENT_MAX_ATTEMPTS = env.int("KUSTOMER_EVENT_MAX_ATTEMPTS", default=5)
# Events still unprocessed this long after arriving (or after failing) are queued again by the sweeper.
KUSTOMER_EVENT_SWEEP_MINUTES = env.int("KUSTOMER_EVENT_SWEEP_MINUTES", default=5)
KUSTOMER_BACKOFF_BASE_SECONDS = env.float("KUSTOMER_BACKOFF_BASE_SECONDS", default=1.0)

# Django refuses bodies above this before our view sees them; keep it above the webhook limit
# so the webhook can answer 413 itself.
DATA_UPLOAD_MAX_MEMORY_SIZE = KUSTOMER_WEBHOOK_MAX_BYTES + 1024

# --- Claude -------------------------------------------------------------------------------
ANTHROPIC_API_KEY = env("ANTHROPIC_API_KEY", default="")
ANTHROPIC_BASE_URL = env("ANTHROPIC_BASE_URL", default="")
# One call (with its retries) must end well inside the task timeout below.
LLM_TIMEOUT_SECONDS = env.float("LLM_TIMEOUT_SECONDS", default=30.0)
LLM_MAX_RETRIES = env.int("LLM_MAX_RETRIES", default=2)

# --- Queue (django-q2) --------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
Q_CLUSTER = {
    "name": "bearscope",
    "workers": env.int("Q_WORKERS", default=2),
    # timeout < retry: a task is killed before the broker hands it to another worker.
    "timeout": env.int("Q_TIMEOUT", default=120),
    "retry": env.int("Q_RETRY", default=180),
    "max_attempts": env.int("Q_MAX_ATTEMPTS", default=5),
    # 0: keep successful results and prune them by age (bearscope.tasks.task_results_prune). A
    # positive limit makes django-q2 load every stored success on each task to prune by count
    # (docs/benchmarks.md).
    "save_limit": 0,
    "queue_limit": 50,
    "catch_up": False,
    "label": "Task queue",
    # The decision and event lanes (bearscope.lanes): run `Q_CLUSTER_NAME=<cluster> manage.py
    # qcluster` for each, beside the plain `qcluster` of the background lane (docs/operations.md).
    "ALT_CLUSTERS": {
        CLUSTERS[EVENTS]: {"workers": env.int("Q_EVENTS_WORKERS", default=2)},
        CLUSTERS[DECISIONS]: {"workers": env.int("Q_DECISIONS_WORKERS", default=2)},
    },
}
# Off: every task in the one default queue, served by a single `qcluster` (a small install).
QUEUE_LANES = env.bool("QUEUE_LANES", default=True)
Q_RESULT_DAYS = env.int("Q_RESULT_DAYS", default=7)
# Raw webhook bodies, the prompt inputs sent to Claude and its answers are blanked after this many days;
# the rows derived from them (mirror, classifications, analyses) stay (bearscope/retention.py).
PII_RETENTION_DAYS = env.int("PII_RETENTION_DAYS", default=90)
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# Each process reads a settings row (classifier, auto-reply, order mapping, ...) at most once in this
# many seconds: they are read on every webhook event. An admin change reaches the workers within it; the
# process that wrote the row (save, update, delete) sees it at once. 0 reads the row every time.
SETTINGS_CACHE_SECONDS = env.float("SETTINGS_CACHE_SECONDS", default=5.0)

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # Every handler gets the filter: a library logging a header or an error body cannot leak a key.
    "filters": {"redact_secrets": {"()": "bearscope.redaction.SecretRedactingFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]}
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Insights -----------------------------------------------------------------------------
# Analysis waits this long after a conversation is resolved, so late events settle first.
INSIGHTS_QUIET_PERIOD_SECONDS = env.int("INSIGHTS_QUIET_PERIOD_SECONDS", default=600)
# The longest date range the conversations CSV download accepts (rows are streamed either way).
INSIGHTS_CSV_MAX_DAYS = env.int("INSIGHTS_CSV_MAX_DAYS", default=366)
# The Claude models' defaults; each is a setting in the admin (Classifier settings, Insights settings)
# and these only fill a fresh install. Reasons and prices: docs/configuration.md.
CLASSIFIER_MODEL_ID = env("CLASSIFIER_MODEL_ID", default="claude-haiku-5-5")
INSIGHTS_MODEL_ID = env("INSIGHTS_MODEL_ID", default="claude-haiku-4-5")

# --- The local tier's language identification (classification/local/language.py) -------------
# The languages a guess may be (ISO 639-1, from py3langid's 97). Each Latin-script language added
# costs a little accuracy on short messages; other scripts cost nothing measurable
# (docs/language-and-sentiment.md).
LOCAL_LANGUAGES = env.list(
    "LOCAL_LANGUAGES",
    default=[
        *("en", "es", "fr", "de", "it", "pt", "nl", "pl", "sv"),  # Latin script
        *("ru", "uk", "el", "ja", "zh", "ko", "ar", "he"),
    ],
)
# Below this probability the guess is "unknown": at 0.5, codes and order numbers are unknown and 3.2%
# of real messages, against 0.8% wrong answers.
LOCAL_LANGUAGE_MIN_CONFIDENCE = env.float("LOCAL_LANGUAGE_MIN_CONFIDENCE", default=0.5)
