"""Test settings: fast hashing, a known webhook secret, tasks run inline."""

from .local import *  # noqa: F403
from .local import Q_CLUSTER

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
KUSTOMER_WEBHOOK_SECRET = "test-webhook-secret"
KUSTOMER_API_KEY = "test-api-key"
KUSTOMER_API_BASE_URL = "http://127.0.0.1:9"  # tests point the client at their own sandbox
KUSTOMER_MACHINE_USER_ID = "machine-user-0001"
KUSTOMER_MAX_WAIT_SECONDS = 2.0
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
KUSTOMER_BACKOFF_BASE_SECONDS = 0.05
