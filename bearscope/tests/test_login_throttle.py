"""The sign-in throttle: failures lock a username out from one address, behind proxies too."""

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


# --- Behind a proxy (TRUSTED_PROXY_COUNT) and across usernames (LOGIN_ADDRESS_USERNAME_LIMIT) ---

PROXY = "10.0.0.2"


def _behind_proxy(forwarded_for: str) -> Client:
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)


def test_behind_a_trusted_proxy_a_lockout_applies_to_the_username_from_the_clients_address(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    UserFactory(username="maya")
    attacker = _behind_proxy("203.0.113.7")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _log_in(attacker, "/accounts/login/", "maya", WRONG)
    assert _log_in(attacker, "/accounts/login/", "maya", PASSWORD).status_code == 429
    assert AccessAttempt.objects.get(username="maya").ip_address == "203.0.113.7"
    # Maya, through the same proxy from her own address, still signs in.
    assert _log_in(_behind_proxy("198.51.100.9"), "/accounts/login/", "maya", PASSWORD).status_code == 302


def test_entries_left_of_the_trusted_proxies_are_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    UserFactory(username="maya")
    # The attacker writes a new address in front on every try; the proxy appends the real one.
    for n in range(settings.AXES_FAILURE_LIMIT):
        _log_in(_behind_proxy(f"192.0.2.{n + 1}, 203.0.113.7"), "/accounts/login/", "maya", WRONG)
    forged = _behind_proxy("192.0.2.200, 203.0.113.7")
    assert _log_in(forged, "/accounts/login/", "maya", PASSWORD).status_code == 429


def test_with_no_trusted_proxy_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    UserFactory(username="maya")
    _log_in(_behind_proxy("203.0.113.7"), "/accounts/login/", "maya", WRONG)
    assert AccessAttempt.objects.get(username="maya").ip_address == PROXY


def test_two_trusted_proxies_read_the_second_entry_from_the_right(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    UserFactory(username="maya")
    _log_in(_behind_proxy("192.0.2.1, 203.0.113.7, 10.0.0.1"), "/accounts/login/", "maya", WRONG)
    assert AccessAttempt.objects.get(username="maya").ip_address == "203.0.113.7"


def test_an_address_failing_across_many_usernames_is_blocked_as_a_whole(settings):
    settings.LOGIN_ADDRESS_USERNAME_LIMIT = 4
    UserFactory(username="maya")
    sprayer = Client(REMOTE_ADDR="203.0.113.7")
    for n in range(3):
        assert _log_in(sprayer, "/accounts/login/", f"guess{n}", WRONG).status_code == 200
    assert _log_in(sprayer, "/accounts/login/", "guess3", WRONG).status_code == 429  # the fourth username
    # Maya's right password from that address is refused; from another address it works.
    assert _log_in(sprayer, "/accounts/login/", "maya", PASSWORD).status_code == 429
    elsewhere = Client(REMOTE_ADDR="198.51.100.9")
    assert _log_in(elsewhere, "/accounts/login/", "maya", PASSWORD).status_code == 302


def test_below_the_address_limit_other_users_from_the_address_still_sign_in(settings):
    settings.LOGIN_ADDRESS_USERNAME_LIMIT = 4
    UserFactory(username="maya")
    office = Client(REMOTE_ADDR="203.0.113.7")
    for n in range(3):
        _log_in(office, "/accounts/login/", f"typo{n}", WRONG)
    assert _log_in(office, "/accounts/login/", "maya", PASSWORD).status_code == 302
