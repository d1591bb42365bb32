"""The reviewer's grade of a shadow reply."""

from django import forms

from .models import ShadowReview


class ShadowGradeForm(forms.Form):
    grade = forms.ChoiceField(
        choices=ShadowReview.Grade.choices,
        widget=forms.RadioSelect,
        label="Would this reply have been right to send?",
    )
    note = forms.CharField(
        required=False,
        label="Note",
        help_text="Optional; say what was wrong so the template or the policy can be fixed.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("grade") == ShadowReview.Grade.OTHER and not data.get("note", "").strip():
            self.add_error("note", "Say what was wrong when you choose “Other”.")
        return data
