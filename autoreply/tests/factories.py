"""factory-boy factories for shadow replies and their grades."""

import factory

from autoreply.models import AutoReplyDecision, Mode, ShadowReview
from classification.tests.factories import ClassificationFactory


class ShadowReplyFactory(factory.django.DjangoModelFactory):
    """A decision that would have replied in shadow mode."""

    class Meta:
        model = AutoReplyDecision

    classification = factory.SubFactory(ClassificationFactory, confidence=0.97, route="auto", route_reason="")
    conversation = factory.SelfAttribute("classification.conversation")
    policy = None
    mode = Mode.SHADOW
    verdict = AutoReplyDecision.Verdict.REPLY
    channel = "email"
    subject = "Your order BS-100234"
    body = "Hello,\n\nOrder BS-100234 is on its way with UPS.\n\nReply to reach a person."
    checks = factory.LazyFunction(
        lambda: [
            {"check": "switch", "passed": True, "reason": "auto-replies are on"},
            {"check": "data", "passed": True, "reason": "the order exists and belongs to the customer"},
        ]
    )
    order = factory.LazyFunction(lambda: {"order_number": "BS-100234", "carrier": "UPS"})


class ShadowReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShadowReview

    decision = factory.SubFactory(ShadowReplyFactory)
    reviewer = None
    grade = ShadowReview.Grade.GOOD
