"""One conversation's redactor: typed placeholders in, the real values back out."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

import phonenumbers

from .finders import (
    KINDS,
    Finding,
    cards_find,
    email_regions,
    emails_find,
    findings_resolve,
    ibans_find,
    names_find,
    names_pattern,
    phone_key,
    phones_find,
)

DEFAULT_REGION = "US"
PLACEHOLDER = re.compile(rf"\[(?:{'|'.join(KINDS)})_\d+\]")

ValueT = TypeVar("ValueT")


@dataclass(frozen=True, kw_only=True)
class KnownPerson:
    """The conversation's customer as Kustomer's record has them: names, email addresses, phone numbers."""

    names: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, *, names: Iterable[str] = (), emails: Iterable[str] = (), phones: Iterable[str] = ()
    ) -> "KnownPerson":
        """A KnownPerson from any iterables, blank values dropped (a record's fields are often empty)."""

        def clean(values: Iterable[str]) -> tuple[str, ...]:
            return tuple(dict.fromkeys(v.strip() for v in values if v and v.strip()))

        return cls(names=clean(names), emails=clean(emails), phones=clean(phones))


@dataclass(frozen=True, kw_only=True)
class Redaction:
    """One placeholder: what it stands for as first written, and the form every writing of it shares."""

    placeholder: str
    kind: str
    original: str
    key: str


class Redactor:
    """Replaces personal items by `[EMAIL_1]`, `[PHONE_2]`... numbered per kind across every call.

    Use one Redactor per conversation: the same address, number or card gets the same placeholder
    in every message it redacts, and `restore` maps the model's answer back.
    """

    def __init__(
        self,
        *,
        known: KnownPerson | None = None,
        region: str = DEFAULT_REGION,
        extra_regions: Iterable[str] = (),
    ) -> None:
        """`region`: how a phone number without a country code is read (the store's country);
        `extra_regions`: other countries whose national numbers are read too (a store's other markets).
        National numbers of the countries of the record's phones, of the customer's email domains and
        of the international numbers in the same text are read as well."""
        self.region = region
        self.extra_regions = tuple(extra_regions)
        for name in (region, *self.extra_regions):
            if name not in phonenumbers.SUPPORTED_REGIONS:
                raise ValueError(f"{name!r} is not a region libphonenumber knows (use e.g. 'US', 'GB').")
        self.known = known or KnownPerson()
        self._names = names_pattern(names=self.known.names)
        # The record's phones in E.164, so "+1 415 555 0123" there and "(415) 555-0123" here agree.
        self._known_phones = tuple(p for p in self.known.phones if phone_key(phone=p, region=region))
        self._by_key: dict[tuple[str, str], Redaction] = {}
        self._by_placeholder: dict[str, Redaction] = {}

    def find(self, text: str) -> list[Finding]:
        """The personal items in `text`, in order, without overlaps; nothing is numbered or kept."""
        emails = emails_find(text=text, known=self.known.emails)
        hints = [
            *self.extra_regions,
            *email_regions(addresses=[*self.known.emails, *(text[e.start : e.end] for e in emails)]),
        ]
        return findings_resolve(
            text=text,
            findings=[
                *emails,
                *phones_find(text=text, region=self.region, known=self._known_phones, hints=hints),
                *cards_find(text=text),
                *ibans_find(text=text),
                *names_find(text=text, pattern=self._names),
            ],
        )

    def redact(self, text: str) -> str:
        """`text` with every personal item replaced by its placeholder."""
        findings = self.find(text)
        # A customer who types "[EMAIL_1]" must not be able to stand in for a real placeholder.
        safe = PLACEHOLDER.sub(lambda m: f"({m.group()[1:-1]})", text)
        pieces, position = [], 0
        for finding in findings:
            pieces.append(safe[position : finding.start])
            pieces.append(self._placeholder(finding, text[finding.start : finding.end]))
            position = finding.end
        pieces.append(safe[position:])
        return "".join(pieces)

    def restore(self, value: ValueT) -> ValueT:
        """`value` with this redactor's placeholders replaced by what they stand for.

        Strings are restored, and so are the strings inside lists, tuples and dict values (a model's
        structured answer); anything else comes back as it is. Placeholders this redactor did not
        hand out are left in place.
        """
        if isinstance(value, str):
            return PLACEHOLDER.sub(self._original, value)
        if isinstance(value, list):
            return [self.restore(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.restore(item) for item in value)
        if isinstance(value, dict):
            return {key: self.restore(item) for key, item in value.items()}
        return value

    @property
    def mapping(self) -> dict[str, str]:
        """Placeholder to the original text, as first written."""
        return {placeholder: r.original for placeholder, r in self._by_placeholder.items()}

    @property
    def redactions(self) -> list[Redaction]:
        """Every placeholder handed out, in order."""
        return list(self._by_placeholder.values())

    def counts(self) -> dict[str, int]:
        """How many distinct items of each kind were replaced (every kind listed, zeros included)."""
        counts = dict.fromkeys(KINDS, 0)
        for redaction in self._by_placeholder.values():
            counts[redaction.kind] += 1
        return counts

    def _placeholder(self, finding: Finding, original: str) -> str:
        redaction = self._by_key.get((finding.kind, finding.key))
        if redaction is None:
            number = sum(1 for r in self._by_placeholder.values() if r.kind == finding.kind) + 1
            redaction = Redaction(
                placeholder=f"[{finding.kind}_{number}]",
                kind=finding.kind,
                original=original,
                key=finding.key,
            )
            self._by_key[(finding.kind, finding.key)] = redaction
            self._by_placeholder[redaction.placeholder] = redaction
        return redaction.placeholder

    def _original(self, match: re.Match) -> str:
        redaction = self._by_placeholder.get(match.group())
        return match.group() if redaction is None else redaction.original
