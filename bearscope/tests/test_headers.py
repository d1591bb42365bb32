"""Security headers on every page: CSP without inline code, no framing, no sniffing, same-origin."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from bearscope.testing.factories import UserFactory

pytestmark = pytest.mark.django_db

EXPECTED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize(
    "url", ["/accounts/login/", "/insights/", "/triage/", "/admin/kustomer/webhookevent/"]
)
def test_pages_carry_the_security_headers_and_a_strict_csp(url):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    user.groups.set(Group.objects.all())
    client = Client()
    if url != "/accounts/login/":
        client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    assert {name: response.get(name) for name in EXPECTED} == EXPECTED
    directives = _directives(response)
    assert directives["default-src"] == "default-src 'self'"
    assert directives["script-src"] == "script-src 'self'"
    assert directives["style-src"] == "style-src 'self'"
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert directives["object-src"] == "object-src 'none'"
    assert "unsafe" not in response["Content-Security-Policy"]


@pytest.mark.parametrize("url", ["/accounts/login/", "/insights/"])
def test_our_pages_have_no_inline_script_or_style(url):
    """The CSP would block them: scripts and styles must be static files (JSON data blocks are fine)."""
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    html = client.get(url).content.decode()
    for tag in html.split("<script")[1:]:
        head = tag[: tag.find(">")]
        assert "src=" in head or 'type="application/json"' in head, tag[:120]
    assert " style=" not in html
    assert "<style" not in html
