"""The sign-in throttle: repeated failures lock a username out from one address for the cool-off."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client

from bearscope.testing.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # UserFactory's
WRONG = "wrong-password-4711"


def _log_in(client: Client, url: str, username: str, password: str):
    return client.post(url, {"username": username, "password": password})


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_repeated_failures_lock_the_username_out_with_a_clear_message(url):
    UserFactory(username="maya", is_staff=True)
    UserFactory(username="daniel", is_staff=True)
    client = Client(REMOTE_ADDR="203.0.113.7")
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert _log_in(client, url, "maya", WRONG).status_code == 200  # the form again, with its error
    locked = _log_in(client, url, "maya", WRONG)
    assert locked.status_code == 429
    right = _log_in(client, url, "maya", PASSWORD)
    assert right.status_code == 429
    page = right.content.decode()
    assert "Sign-in locked" in page
    assert f"locked for {int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)} minutes" in page
    assert "_auth_user_id" not in client.session
    # The attempts are kept for the admin (Access attempts), the passwords tried are not.
    attempt = AccessAttempt.objects.get(username="maya")
    assert attempt.failures_since_start >= limit
    assert WRONG not in attempt.post_data
    assert PASSWORD not in attempt.post_data

    # Another user from the same address, and the same user from another address, still sign in.
    assert _log_in(Client(REMOTE_ADDR="203.0.113.7"), url, "daniel", PASSWORD).status_code == 302
    assert _log_in(Client(REMOTE_ADDR="198.51.100.9"), url, "maya", PASSWORD).status_code == 302


def test_a_success_before_the_limit_starts_the_count_again():
    UserFactory(username="maya")
    client = Client()
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        _log_in(client, "/accounts/login/", "maya", WRONG)
    assert _log_in(client, "/accounts/login/", "maya", PASSWORD).status_code == 302
    client.logout()
    for _ in range(limit - 1):
        assert _log_in(client, "/accounts/login/", "maya", WRONG).status_code == 200
    assert _log_in(client, "/accounts/login/", "maya", PASSWORD).status_code == 302
