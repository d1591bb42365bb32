"""Test factories every app shares: users, and the role groups the migrations make."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

PASSWORD = "correct-horse-battery"  # noqa: S105  (test users only)
# The role groups made by migrations: name -> (app label, permission codename).
ROLE_GROUPS = {
    "Triage reviewers": ("classification", "review_classification"),
    "Reply reviewers": ("autoreply", "review_reply"),
    "Ops leaders": ("intelligence", "view_insights"),
}


def role_group(name: str) -> Group:
    """A role group with its permission, made again when missing.

    After a browser test (live server under Playwright) the flush is not followed by the serialized
    restore, so a later test finds the migration-made groups gone.
    """
    app_label, codename = ROLE_GROUPS[name]
    group, _ = Group.objects.get_or_create(name=name)
    group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return group


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def reviewer(self, create: bool, extracted: bool | None, **kwargs) -> None:
        """UserFactory(reviewer=True) joins the "Triage reviewers" group."""
        if create and extracted:
            self.groups.add(role_group("Triage reviewers"))
        if create:
            self.save()
