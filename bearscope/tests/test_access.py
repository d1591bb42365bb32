"""Who may open what: every page but the open ones needs sign-in, each group sees only its pages,
every POST needs a CSRF token."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern

from bearscope.testing.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
# Open on purpose: Kustomer's webhook (HMAC instead), the load balancer's checks, signing in and out.
OPEN = {"kustomer:webhook", "healthz", "readyz", "login", "logout", "admin:login", "admin:logout"}
# The webhook authenticates by signature, which a forged cross-site request cannot carry.
CSRF_EXEMPT = {"kustomer:webhook"}
LOGIN_PAGES = ("/accounts/login/?next=", "/admin/login/?next=")
SAMPLES = {"int": "1", "path": "1", "slug": "overview", "str": "1"}

pytestmark = pytest.mark.django_db


def _sample_path(pieces) -> str:
    """A concrete URL for a pattern: each converter or named group filled with a sample value."""
    parts = []
    for piece in pieces:
        text = str(piece)
        if isinstance(piece, RegexPattern):
            text = re.sub(r"\(\?P<\w+>[^)]*\)", "1", text).strip("^$")
        parts.append(re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES[m.group(1) or "str"], text))
    return "/" + "".join(parts)


def url_patterns(patterns=None, prefix=(), namespace=""):
    """(name, sample URL) of every URL pattern, admin and django-q2 included."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(n for n in (namespace, pattern.namespace or "") if n)
            yield from url_patterns(pattern.url_patterns, (*prefix, pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else (pattern.name or "")
            yield name or _sample_path((*prefix, pattern.pattern)), _sample_path((*prefix, pattern.pattern))


ALL_URLS = sorted(set(url_patterns()))


def test_the_walk_finds_every_app_and_the_admin():
    names = {name for name, _ in ALL_URLS}
    assert {"classification:queue", "autoreply:shadow_index", "intelligence:overview", "admin:index"} <= names
    assert names >= OPEN
    assert len(ALL_URLS) > 100  # the admin's pages, one set per registered model


def test_every_page_sends_anonymous_visitors_to_a_login_page():
    client = Client()
    wrong = {}
    for name, url in ALL_URLS:
        if name in OPEN:
            continue
        response = client.get(url)
        location = response.get("Location", "")
        if response.status_code != 302 or not location.startswith(LOGIN_PAGES):
            wrong[name] = (url, response.status_code, location)
    assert wrong == {}


# --- roles --------------------------------------------------------------------------------------
PAGES = {
    "triage queue": "/triage/",
    "quality report": "/triage/quality/",
    "shadow replies": "/autoreply/shadow/",
    "insights": "/insights/",
    "insight conversations": "/insights/conversations/",
    "admin": "/admin/",
}
TRIAGE = {"triage queue", "quality report"}
REPLIES = {"shadow replies"}
INSIGHTS = {"insights", "insight conversations"}
ROLES = {
    # role: (groups, staff, superuser, pages answering 200)
    "triage reviewer": (["Triage reviewers"], False, False, TRIAGE),
    "reply reviewer": (["Reply reviewers"], False, False, REPLIES),
    "ops leader": (["Ops leaders"], False, False, INSIGHTS),
    "staff without a group": ([], True, False, {"admin"}),
    "superuser": ([], True, True, set(PAGES)),
    "signed in, no group": ([], False, False, set()),
}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_only_its_pages(role):
    groups, staff, superuser, allowed = ROLES[role]
    user = UserFactory(username=role.replace(" ", "-"), is_staff=staff, is_superuser=superuser)
    user.groups.set(Group.objects.filter(name__in=groups))
    client = Client()
    client.force_login(user)
    answers = {page: client.get(url).status_code for page, url in PAGES.items()}
    expected = {
        # Not staff: the admin sends to its own login page rather than answering 403.
        page: 200 if page in allowed else 302 if page == "admin" else 403
        for page in PAGES
    }
    assert answers == expected


# --- CSRF ---------------------------------------------------------------------------------------
def test_every_post_without_a_csrf_token_is_refused():
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    wrong = {}
    for name, url in ALL_URLS:
        if name in CSRF_EXEMPT:
            continue
        response = client.post(url, {"anything": "1"})
        if response.status_code != 403 or b"CSRF verification failed" not in response.content:
            wrong[name] = (url, response.status_code)
    assert wrong == {}


def test_the_login_page_refuses_a_post_without_a_csrf_token():
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "a", "password": "b"})
    assert response.status_code == 403


def _template_files() -> list[Path]:
    dirs = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]]
    dirs += [ROOT / app / "templates" for app in ("kustomer", "classification", "autoreply", "intelligence")]
    return sorted(path for d in dirs if d.exists() for path in d.rglob("*.html"))


def test_every_post_form_in_our_templates_carries_the_csrf_token():
    forms = 0
    for path in _template_files():
        text = path.read_text()
        for match in re.finditer(r"<form\b[^>]*>(.*?)</form>", text, flags=re.S | re.I):
            if re.search(r"method=[\"']?post", match.group(0)[: match.group(0).find(">") + 1], flags=re.I):
                forms += 1
                assert "{% csrf_token %}" in match.group(1), f"{path.relative_to(ROOT)}: a POST form lacks it"
    assert forms >= 4  # login, log out, triage review, shadow grade, train (admin)
