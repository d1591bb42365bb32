"""Finding emails, phone numbers, payment cards, IBANs and the known customer's names in text."""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
from stdnum import ean, iban, luhn

EMAIL = "EMAIL"
PHONE = "PHONE"
CARD = "CARD"
IBAN = "IBAN"
NAME = "NAME"
KINDS = (EMAIL, PHONE, CARD, IBAN, NAME)
# Where two findings overlap the longer wins; on a tie, the kind listed first.
_PRIORITY = {kind: rank for rank, kind in enumerate((EMAIL, IBAN, CARD, PHONE, NAME))}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One personal item in a text: `text[start:end]`, and `key`, the same for every way of writing it."""

    kind: str
    start: int
    end: int
    key: str


_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,63}(?![\w-])")


def emails_find(*, text: str, known: Iterable[str] = ()) -> list[Finding]:
    """Every email address in `text`, plus the record's own addresses wherever they stand."""
    found = [
        Finding(kind=EMAIL, start=m.start(), end=m.end(), key=m.group().lower())
        for m in _EMAIL.finditer(text)
    ]
    for address in known:
        # The record's address is found even if it is of a shape the pattern above does not take.
        for m in re.finditer(re.escape(address), text, flags=re.IGNORECASE):
            found.append(Finding(kind=EMAIL, start=m.start(), end=m.end(), key=address.lower()))
    return found


# A number that the writer has just called an order, tracking or serial number is that, not a phone:
# the word, then up to a few words ("serial number on the box is") with no other number, no
# sentence end and no word that announces a phone ("order 4471 or call me on ...").
_KEEP_BEFORE = re.compile(
    r"(?:\#|\b(?:order|orders|tracking|track|invoice|ref|reference|confirmation|sku|item|model|part|po|"
    r"waybill|awb|parcel|shipment|consignment|rma|return|ticket|case|serial|voucher|gift\s+card)\b"
    r"(?:\s+(?:no|nr|num|number|id|code)\b\.?)?)"
    r"(?:(?!\b(?:call|calls|calling|phone|cell|cellphone|mobile|tel|telephone|text|txt|reach|whatsapp|ring|"
    r"contact|fax|landline|sms|dial|number)\b)[^\d.!?\n]){0,30}\Z",
    re.IGNORECASE,
)
# A US ZIP+4 code, which reads as a valid number in some countries (Spain's 6xx mobiles).
_ZIP_PLUS_4 = re.compile(r"\d{5}-\d{4}")
# Digits glued to a word by a hyphen or slash ("ORD-2024-843832") belong to that code.
_GLUED_BEFORE = re.compile(r"[^\W_][-/_]?\Z")
_GLUED_AFTER = re.compile(r"^(?:[-/_]?[^\W\d_]|[-/_]\d)")
# "00" and "011" are dialled before a country code; libphonenumber only reads the current region's.
# Only at the head of a number: "0364 008585" has a group starting "00" that is no prefix.
_INTERNATIONAL_00 = re.compile(r"(?<![\w+.,/-])(?<![\d][ -])00(?=[1-9]\d)")


def phones_find(
    *, text: str, region: str, known: Iterable[str] = (), hints: Iterable[str] = ()
) -> list[Finding]:
    """Every valid phone number in `text`: in international form, or in the national form of `region`,
    of a known phone's country, of a `hints` region, or of a country the text's own international
    numbers are from (a customer who writes "+44 20..." may write "0161..." too).

    A number the customer record holds is always taken; another right after "order", "tracking",
    "#"... is taken for that reference and left alone.
    """
    known_keys: set[str] = set()
    regions = [region]
    for phone in known:
        number = _phone_parse(phone, region)
        if number is not None:
            known_keys.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
            regions.append(phonenumbers.region_code_for_number(number))
    regions.extend(hints)
    # Same length as `text`, so offsets carry over: "0044 20..." reads as " +44 20...".
    searched = _INTERNATIONAL_00.sub(" +", text)
    found: list[Finding] = []
    done: set[str] = set()
    while pending := [r for r in dict.fromkeys(regions) if r and r not in done]:
        done.add(pending[0])
        for match in phonenumbers.PhoneNumberMatcher(searched, pending[0]):
            start = match.start - 1 if text[match.start - 1 : match.start + 1] == "00" else match.start
            key = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            if key not in known_keys and (
                _GLUED_BEFORE.search(text, max(0, start - 2), start)
                or _GLUED_AFTER.match(text[match.end : match.end + 2])
                or _KEEP_BEFORE.search(text, max(0, start - 60), start)
                or _ZIP_PLUS_4.fullmatch(text, start, match.end)
            ):
                continue
            found.append(Finding(kind=PHONE, start=start, end=match.end, key=key))
            if searched[match.start] in "+\uff0b" or match.raw_string.startswith("011"):
                regions.append(phonenumbers.region_code_for_number(match.number))
    return found


# Country-code domains that are sold as generic names say nothing of where a customer lives.
_GENERIC_TLDS = _words("co io ai me tv cc fm ly gg ws to am la")


def email_regions(*, addresses: Iterable[str]) -> list[str]:
    """The countries of the addresses' country-code domains ("gmx.de" -> DE, "yahoo.co.uk" -> GB)."""
    regions = []
    for address in addresses:
        tld = address.rsplit(".", 1)[-1].lower()
        region = "GB" if tld == "uk" else tld.upper()
        if tld not in _GENERIC_TLDS and region in phonenumbers.SUPPORTED_REGIONS and region not in regions:
            regions.append(region)
    return regions


def phone_key(*, phone: str, region: str) -> str | None:
    """The E.164 form of `phone` read in `region` (None if it is not a phone number)."""
    number = _phone_parse(phone, region)
    return None if number is None else phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phone_parse(phone: str, region: str) -> "phonenumbers.PhoneNumber | None":
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None


# Runs of digit groups split by one space or dash, not glued to a word, a decimal or a "+".
_DIGIT_RUN = re.compile(r"(?<![\w+.,/-])\d+(?:[ -]\d+)*(?![\w])")
_GROUP = re.compile(r"\d+")
# Every card network's numbers start with 2 to 6 (Mastercard, Amex, Diners, JCB, Visa, Discover,
# UnionPay); tracking and account numbers often start otherwise.
_CARD_FIRST_DIGITS = "23456"


def cards_find(*, text: str) -> list[Finding]:
    """Every payment card number (13 to 19 digits, grouped as cards are, Luhn-valid) in `text`."""
    found = []
    for run in _DIGIT_RUN.finditer(text):
        groups = list(_GROUP.finditer(text, run.start(), run.end()))
        # From the head of the run only: a card inside a longer run is a slice of some other
        # number (a 22-digit tracking number holds many Luhn-valid 16-digit slices).
        first = 0
        while first < len(groups):
            last = _card_end(groups, first)
            if last is None:
                break
            digits = "".join(g.group() for g in groups[first : last + 1])
            found.append(Finding(kind=CARD, start=groups[first].start(), end=groups[last].end(), key=digits))
            first = last + 1
    return found


def _card_end(groups: list[re.Match], first: int) -> int | None:
    """The index of the last group of a card number starting at group `first`, longest first."""
    # At most 19 digits in groups of three or more after a four-digit head: six groups.
    for last in range(min(len(groups) - 1, first + 5), first - 1, -1):
        parts = [g.group() for g in groups[first : last + 1]]
        digits = "".join(parts)
        if not 13 <= len(digits) <= 19 or digits[0] not in _CARD_FIRST_DIGITS:
            continue
        # Written whole, or grouped from a four-digit head as every network prints them (4-4-4-4, 4-6-5).
        grouped = len(parts) == 1 or (len(parts[0]) == 4 and all(3 <= len(p) <= 6 for p in parts[1:-1]))
        # A 13-digit number that is a valid EAN-13 is a product barcode: 13-digit cards are long gone.
        if grouped and luhn.is_valid(digits) and not (len(digits) == 13 and ean.is_valid(digits)):
            return last
    return None


# A country code and check digits, then letters and digits whole or in groups of up to four; at
# most 34 characters in all, so a long run of short words costs no more than one IBAN.
_IBAN = re.compile(r"(?<![^\W_])[A-Za-z]{2}\d{2}[A-Za-z0-9]{0,30}(?: [A-Za-z0-9]{1,4}(?![^\W_])){0,8}")


def ibans_find(*, text: str) -> list[Finding]:
    """Every IBAN in `text` whose checksum and country format hold."""
    found, position = [], 0
    while (m := _IBAN.search(text, position)) is not None:
        chunks = list(re.finditer(r"\S+", m.group()))
        position = m.start() + 1
        # The pattern may run on into short words after the IBAN ("... 0003 7 My IBAN is PT47...");
        # keep the longest valid prefix and search again after it.
        for count in range(len(chunks), 0, -1):
            compact = "".join(c.group() for c in chunks[:count]).upper()
            if 15 <= len(compact) <= 34 and iban.is_valid(compact):
                end = m.start() + chunks[count - 1].end()
                found.append(Finding(kind=IBAN, start=m.start(), end=end, key=compact))
                position = end
                break
    return found


# Names that are also everyday words ("Will", "May", "Price", "Brown") match only when written
# with a capital, so "I will check the price" keeps its words.
COMMON_WORD_NAMES = _words(
    """
    art bell best bill black brown bush case chase cook day dawn faith ford fox frank gay gene
    golden grace green guy hall hill holly hope hunt ivy jack joy king lane little long love
    major mark may miles moon most new park pat penny price ray rich rose ruby rush sharp short
    sky small smith stone strong summer sunny wade ward west white will wood young june april
    august autumn christian page
    """
)
_HONORIFICS = _words("mr mrs ms miss mx dr prof sir madam jr sr ii iii iv")
# "van", "de", "da"... belong to a surname, but alone they are words of every other sentence; so
# are English function words that some surnames are ("The", "To").
_PARTICLES = _words(
    """
    van von der den de del della di da dos das du la le y bin ibn al el the a an and of to in on
    at by for or as is it be
    """
)


def names_pattern(*, names: Iterable[str]) -> re.Pattern | None:
    """One pattern for a person's names: each full name, first + last, and each part as a word."""
    forms: set[str] = set()
    for name in names:
        parts = [p for p in name.split() if len(p.strip(".")) > 1 and p.strip(".").lower() not in _HONORIFICS]
        if not parts:
            continue
        # The surname with its particles ("van der Pouw"), alone and after the first name.
        head = len(parts) - 1
        while head > 1 and parts[head - 1].lower() in _PARTICLES:
            head -= 1
        surname = " ".join(parts[head:])
        forms.update({" ".join(parts), surname, f"{parts[0]} {surname}", f"{parts[0]} {parts[-1]}"})
        for part in parts:
            if part.lower() in _PARTICLES:
                continue
            forms.add(part)
            # Either half of a hyphenated name is used alone ("Anne" for "Anne-Marie").
            forms.update(half for half in part.split("-") if len(half) > 1)
    # The same names without accents, as people type them ("Jose" for "José").
    forms |= {_unaccented(form) for form in forms}
    alternatives = []
    for form in sorted(forms, key=len, reverse=True):
        words = r"\s+".join(re.escape(word) for word in form.split())
        if form.lower() in COMMON_WORD_NAMES:
            alternatives.append(
                f"(?-i:{re.escape(form[0].upper())}{re.escape(form[1:])}|{re.escape(form.upper())})"
            )
        else:
            alternatives.append(words)
    if not alternatives:
        return None
    # Not glued to another word or to a hyphen; a possessive "'s" after the name stays in the text.
    return re.compile(rf"(?<![\w'\u2019-])(?:{'|'.join(alternatives)})(?![\w-])", re.IGNORECASE)


def names_find(*, text: str, pattern: re.Pattern | None) -> list[Finding]:
    """Every place the known person's names stand in `text`; all share the key "person"."""
    if pattern is None:
        return []
    return [Finding(kind=NAME, start=m.start(), end=m.end(), key="person") for m in pattern.finditer(text)]


def _unaccented(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def findings_resolve(*, text: str, findings: Iterable[Finding]) -> list[Finding]:
    """`findings` without overlaps, in text order: of two that overlap, the longer (then EMAIL > IBAN >
    CARD > PHONE > NAME) stays. Names only spaces apart ("Juan Bautista" of "Juan Bautista Ramirez")
    become one finding."""
    chosen: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (-(f.end - f.start), _PRIORITY[f.kind], f.start)):
        if all(finding.end <= other.start or finding.start >= other.end for other in chosen):
            chosen.append(finding)
    merged: list[Finding] = []
    for finding in sorted(chosen, key=lambda f: f.start):
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and previous.kind == finding.kind == NAME
            and not text[previous.end : finding.start].strip(" \t")
        ):
            merged[-1] = Finding(kind=NAME, start=previous.start, end=finding.end, key=previous.key)
        else:
            merged.append(finding)
    return merged
