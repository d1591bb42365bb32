"""Personal data out of text before it reaches a model, and back into what the model answers."""

from .finders import CARD, EMAIL, IBAN, KINDS, NAME, PHONE, Finding
from .redactor import DEFAULT_REGION, KnownPerson, Redaction, Redactor

__all__ = [
    "CARD",
    "DEFAULT_REGION",
    "EMAIL",
    "IBAN",
    "KINDS",
    "NAME",
    "PHONE",
    "Finding",
    "KnownPerson",
    "Redaction",
    "Redactor",
]
