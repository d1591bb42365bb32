"""The shadow review pages through Django's test client: access, grading, readiness."""

import pytest
from django.test import Client

from autoreply.models import ShadowReview
from bearscope.testing.factories import UserFactory

from .factories import ShadowReplyFactory, ShadowReviewFactory

pytestmark = pytest.mark.django_db

INDEX = "/autoreply/shadow/"


@pytest.fixture
def reviewer(reply_reviewer):
    return reply_reviewer


@pytest.fixture
def client_for():
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get(INDEX)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/?next=")


def test_users_without_the_permission_get_the_403_page(client_for):
    response = client_for(UserFactory(username="ava", reviewer=True)).get(INDEX)  # a triage reviewer only
    assert response.status_code == 403
    assert "Reply reviewers" in response.content.decode()


def test_the_list_shows_waiting_replies_and_readiness(client_for, reviewer, starter):
    waiting = ShadowReplyFactory(policy=starter, classification__conversation__name="Where is BS-100234?")
    ShadowReviewFactory(
        decision=ShadowReplyFactory(policy=starter, classification__conversation__name="Graded one")
    )
    ShadowReplyFactory(
        verdict="blocked", reason="order_not_found", classification__conversation__name="Blocked one"
    )
    page = client_for(reviewer).get(INDEX).content.decode()
    assert "Where is BS-100234?" in page
    assert "Graded one" not in page and "Blocked one" not in page
    assert f'data-decision="{waiting.pk}"' in page
    assert 'data-cell="graded">1<' in page and 'data-cell="approval">100%<' in page
    assert 'data-cell="wilson">20.7%<' in page  # one good grade proves little
    assert "Not yet: 49 more good grades" in page
    assert "Graded one" in client_for(reviewer).get(INDEX, {"show": "all"}).content.decode()


def test_grading_saves_and_opens_the_next_reply(client_for, reviewer, starter):
    first = ShadowReplyFactory(policy=starter)
    second = ShadowReplyFactory(policy=starter)
    client = client_for(reviewer)
    page = client.get(f"{INDEX}{first.pk}/").content.decode()
    assert "Order BS-100234 is on its way with UPS." in page and "auto-replies are on" in page
    assert "Order found and belongs to the customer" in page  # checks in the team's words
    response = client.post(f"{INDEX}{first.pk}/", {"grade": "tone", "note": "Too curt."})
    assert response.status_code == 302 and response.url == f"{INDEX}{second.pk}/"
    review = ShadowReview.objects.get(decision=first)
    assert (review.grade, review.note, review.reviewer) == ("tone", "Too curt.", reviewer)


def test_a_second_grade_changes_nothing(client_for, reviewer, starter):
    review = ShadowReviewFactory(decision=ShadowReplyFactory(policy=starter), grade="good")
    response = client_for(reviewer).post(f"{INDEX}{review.decision_id}/", {"grade": "wrong_data"})
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.grade == "good"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"grade": "perfect"}, "Select a valid choice"),
        ({"grade": "other", "note": " "}, "Say what was wrong"),
    ],
)
def test_bad_input_shows_the_error_and_saves_nothing(client_for, reviewer, starter, data, error):
    decision = ShadowReplyFactory(policy=starter)
    response = client_for(reviewer).post(f"{INDEX}{decision.pk}/", data)
    assert response.status_code == 200 and error in response.content.decode()
    assert not ShadowReview.objects.exists()


def test_a_blocked_decision_is_not_a_shadow_reply(client_for, reviewer):
    blocked = ShadowReplyFactory(verdict="blocked", reason="confidence")
    assert client_for(reviewer).get(f"{INDEX}{blocked.pk}/").status_code == 404
