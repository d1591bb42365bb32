"""Test settings: fast hashing, a known webhook secret, tasks run inline."""

import os

from .local import *  # noqa: F403
from .local import BASE_DIR, DATABASES, Q_CLUSTER

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
KUSTOMER_WEBHOOK_SECRET = "test-webhook-secret"
KUSTOMER_API_KEY = "test-api-key"
KUSTOMER_API_BASE_URL = "http://127.0.0.1:9"  # tests point the client at their own sandbox
KUSTOMER_MACHINE_USER_ID = "machine-user-0001"
KUSTOMER_MAX_WAIT_SECONDS = 2.0
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
KUSTOMER_BACKOFF_BASE_SECONDS = 0.05

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not shared-cache memory: threads in concurrency tests then wait on the busy timeout
    # as the web server and qcluster do, instead of failing with "table is locked".
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3")}
