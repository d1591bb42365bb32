"""factory-boy factories for analyses, the taxonomies and ops leaders."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from bearscope.testing.factories import UserFactory, role_group
from intelligence.models import ConversationAnalysis, ResolutionMethod, RootCause
from kustomer.tests.factories import ConversationFactory

OPS_LEADERS_GROUP = "Ops leaders"


class RootCauseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RootCause
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"cause_{n}")
    name = factory.LazyAttribute(lambda o: o.key.replace("_", " ").capitalize())


class ResolutionMethodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResolutionMethod
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"method_{n}")
    name = factory.LazyAttribute(lambda o: o.key.replace("_", " ").capitalize())


class AnalysisFactory(factory.django.DjangoModelFactory):
    """A computed and extracted analysis of a conversation resolved an hour ago."""

    class Meta:
        model = ConversationAnalysis

    conversation = factory.SubFactory(ConversationFactory, status="done")
    occurrence = 1
    current = True
    status = ConversationAnalysis.Status.DONE
    resolved_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    due_at = factory.LazyAttribute(lambda o: o.resolved_at)
    intent = "shipping_issue"
    route = "auto"
    channel = "email"
    team = "team-care"
    agent = "agent-ana"
    first_response_seconds = 600
    resolution_seconds = 3600
    customer_messages = 2
    agent_messages = 2
    customer_wait_seconds = 900
    effort_score = Decimal("1.6")
    extraction_status = ConversationAnalysis.Extraction.DONE
    root_cause = factory.SubFactory(RootCauseFactory, key="shipping_delay", name="Shipping delay")
    resolution_method = factory.SubFactory(
        ResolutionMethodFactory, key="information_provided", name="Information provided"
    )
    accuracy_score = 4
    tone_score = 5
    summary = "The customer asked where the parcel was. The agent shared the tracking link."


def ops_leader(username: str = "olivia"):
    """A user in the "Ops leaders" group.

    The group comes from a migration; browser tests may run after a flush that removed it (their
    serialized rollback does not restore it while Playwright's event loop runs), so it is ensured.
    """
    user = UserFactory(username=username, first_name="Olivia", last_name="Reyes")
    user.groups.add(role_group(OPS_LEADERS_GROUP))
    return user
