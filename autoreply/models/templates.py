"""Reply templates, with their channel and language versions."""

from django.core.exceptions import ValidationError
from django.db import models

from bearscope.models import TimeStampedModel

from ..rendering import TemplateError, template_check
from .settings import LANGUAGE_CODE


class ReplyTemplate(TimeStampedModel):
    """A reply with {variable} placeholders; only declared variables may appear."""

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=128)
    variables = models.CharField(
        max_length=255,
        blank=True,
        help_text="The variables this template uses, comma-separated. Available: order_number, order_status, "
        "carrier, tracking_url, estimated_delivery.",
    )
    subject = models.CharField(max_length=255, blank=True, help_text="Email subject; may use variables.")
    body = models.TextField(help_text="The reply; the escalation line is added after it.")
    language = models.CharField(
        max_length=2,
        default="en",
        validators=[LANGUAGE_CODE],
        help_text="The language of the subject and body above (ISO 639-1, e.g. en); customers whose "
        "language is unknown get this one.",
    )
    changed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When its wording (or a version of it) last changed; readiness counts grades of replies "
        "made since then.",
    )

    def __str__(self) -> str:
        return self.name

    def variable_list(self) -> list[str]:
        return [v.strip() for v in self.variables.split(",") if v.strip()]

    def clean(self) -> None:
        try:
            template_check("", declared=self.variable_list())
        except TemplateError as exc:
            raise ValidationError({"variables": str(exc)}) from exc
        errors = {}
        for field in ("subject", "body"):
            try:
                template_check(getattr(self, field), declared=self.variable_list())
            except TemplateError as exc:
                errors[field] = str(exc)
        if errors:
            raise ValidationError(errors)


def _wording_errors(version, template: ReplyTemplate) -> dict[str, str]:
    """A channel or language version's subject and body checked against its template's variables."""
    errors = {}
    for field in ("subject", "body"):
        try:
            template_check(getattr(version, field), declared=template.variable_list())
        except TemplateError as exc:
            errors[field] = str(exc)
    return errors


class ReplyTemplateVariant(models.Model):
    """A template's version for one channel (e.g. a short chat reply); other channels use the default."""

    template = models.ForeignKey(ReplyTemplate, on_delete=models.CASCADE, related_name="variants")
    channel = models.CharField(max_length=32, help_text="Kustomer channel name, e.g. chat, sms, email.")
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["template", "channel"], name="replytemplatevariant_unique_channel"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template} ({self.channel})"

    def clean(self) -> None:
        try:
            template = self.template  # in the admin, the template being saved with its new variables
        except ReplyTemplate.DoesNotExist:
            return
        errors = {}
        errors.update(_wording_errors(self, template))
        if errors:
            raise ValidationError(errors)


class ReplyTemplateVersion(models.Model):
    """A template in another language: customers writing in it get this subject and body."""

    template = models.ForeignKey(ReplyTemplate, on_delete=models.CASCADE, related_name="versions")
    language = models.CharField(
        max_length=2, validators=[LANGUAGE_CODE], help_text="ISO 639-1, e.g. es, fr, de."
    )
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["template", "language"], name="replytemplateversion_unique_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template} ({self.language})"

    def clean(self) -> None:
        try:
            template = self.template  # in the admin, the template being saved with its new variables
        except ReplyTemplate.DoesNotExist:
            return
        errors = {}
        if self.language and self.language == template.language:
            errors["language"] = f"{self.language} is the template's own language: edit the template instead."
        errors.update(_wording_errors(self, template))
        if errors:
            raise ValidationError(errors)
