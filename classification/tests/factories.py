"""factory-boy factories for the taxonomy, classifications, triage reviews and reviewers."""

from decimal import Decimal

import factory
from django.utils import timezone

from classification.models import Classification, ComplexityLevel, Intent, PriorityLevel, TriageReview
from kustomer.tests.factories import ConversationFactory


class IntentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Intent
        django_get_or_create = ("key", "parent")

    parent = None
    key = factory.Sequence(lambda n: f"intent_{n}")
    name = factory.LazyAttribute(lambda o: o.key.replace("_", " ").capitalize())
    position = factory.Sequence(lambda n: n)


class SubIntentFactory(IntentFactory):
    parent = factory.SubFactory(IntentFactory)
    key = factory.Sequence(lambda n: f"sub_{n}")


class PriorityLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriorityLevel
        django_get_or_create = ("key",)

    key = "normal"
    name = factory.LazyAttribute(lambda o: o.key.capitalize())
    kustomer_priority = 3


class ComplexityLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ComplexityLevel
        django_get_or_create = ("key",)

    key = "simple"
    name = factory.LazyAttribute(lambda o: o.key.capitalize())


class ClassificationFactory(factory.django.DjangoModelFactory):
    """A finished classification waiting in triage for low confidence."""

    class Meta:
        model = Classification

    conversation = factory.SubFactory(ConversationFactory)
    current = True
    status = Classification.Status.DONE
    intent = factory.SubFactory(IntentFactory)
    sub_intent = None
    priority = factory.SubFactory(PriorityLevelFactory)
    complexity = factory.SubFactory(ComplexityLevelFactory)
    confidence = 0.6
    rationale = "The customer asks about an order."
    route = Classification.Route.TRIAGE
    route_reason = "low_confidence"
    provider = "claude"
    model_id = "claude-haiku-5-5"
    cost_usd = Decimal("0.001")
    latency_ms = 800
    classified_at = factory.LazyFunction(timezone.now)
    writeback_status = Classification.WriteBack.DONE


class TriageReviewFactory(factory.django.DjangoModelFactory):
    """A review that agrees with the AI unless told otherwise."""

    class Meta:
        model = TriageReview
        skip_postgeneration_save = True

    classification = factory.SubFactory(ClassificationFactory)
    reviewer = None
    intent = factory.SelfAttribute("classification.intent")
    sub_intent = factory.SelfAttribute("classification.sub_intent")
    priority = factory.SelfAttribute("classification.priority")
    complexity = factory.SelfAttribute("classification.complexity")
    agreed = factory.LazyAttribute(
        lambda o: o.intent == o.classification.intent and o.sub_intent == o.classification.sub_intent
    )

    @factory.post_generation
    def reviewed(obj, create, extracted, **kwargs):
        """Mark the classification reviewed, as triage_review_save does."""
        if create:
            obj.classification.reviewed_at = obj.created_at
            Classification.objects.filter(pk=obj.classification_id).update(reviewed_at=obj.created_at)
