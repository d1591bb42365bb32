"""Development settings: DEBUG on and dev-only defaults, so a fresh clone runs without a .env."""

from .base import *  # noqa: F403
from .base import DEV_SECRET_KEY, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default=DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
