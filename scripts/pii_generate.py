"""Writes the redaction evaluation set: support messages with personal data, look-alikes and their spans."""

import argparse
import json
import random
import string
import sys
import tomllib
import unicodedata
from datetime import date, timedelta
from pathlib import Path

import phonenumbers
from faker import Faker
from stdnum import iban as stdnum_iban
from stdnum import luhn

DATA = Path(__file__).resolve().parents[1] / "bearscope" / "pii" / "data"
SEED = 1729
COUNT = 700
# Dates in the messages are drawn around this day, not today, so the set is the same on any day.
GENERATED_ON = date(2026, 12, 5)
YEAR = 365.24  # Faker's year, in days
STORE_REGION = "US"
INTENT_WEIGHTS = {"payment": 2, "refund_bank": 2}


class Message:
    """One message being written: its customer, and each slot's value drawn once."""

    def __init__(
        self, *, rng: random.Random, fakers: dict[str, Faker], pieces: dict, locale: str, region: str
    ) -> None:
        self.rng, self.fakers, self.pieces, self.region = rng, fakers, pieces, region
        fake = fakers[locale]
        self.fake = fake
        self.first, self.last = fake.first_name(), fake.last_name()
        self.record_name = f"{self.first} {self.last}"
        if rng.random() < 0.1:
            self.record_name = f"{self.first} {fake.first_name()} {self.last}"
        self.home_phone, self.home_raw = _phone(fake, region)
        self.record_email = _email(rng, fake, self.first, self.last)
        self.values: dict[str, str] = {}

    def known(self) -> dict:
        emails = [self.record_email]
        if self.rng.random() < 0.3:
            emails.append(_email(self.rng, self.fake, self.first, self.last))
        phones = []
        if self.rng.random() < 0.7:
            phones.append(phonenumbers.format_number(self.home_phone, phonenumbers.PhoneNumberFormat.E164))
        return {"names": [self.record_name], "emails": emails, "phones": phones}

    def value(self, slot: str) -> str:
        if slot not in self.values:
            self.values[slot] = self._draw(slot)
        return self.values[slot]

    def _draw(self, slot: str) -> str:
        rng, fake, words = self.rng, self.fake, self.pieces["products"]

        def digits(count: int) -> str:
            return "".join(rng.choice(string.digits) for _ in range(count))

        match slot:
            case "name":
                return f"{self.first} {self.last}"
            case "first":
                return self.first
            case "last":
                return self.last
            case "first_lc":
                return self.first.lower()
            case "email":
                return self.record_email if rng.random() < 0.8 else _email(rng, fake, self.first, self.last)
            case "email2":
                return _email(rng, fake, self.first, self.last, other_than=self.value("email"))
            case "phone":
                return _phone_text(rng, self.home_phone, self.home_raw)
            case "phone2":
                region = self.region if rng.random() < 0.5 else STORE_REGION
                locale = next(loc for loc, reg, _ in self.pieces["locales"] if reg == region)
                return _phone_text(rng, *_phone(self.fakers[locale], region))
            case "card":
                return _card(rng, fake)
            case "iban":
                number = self.fakers[rng.choice(self.pieces["iban_locales"])].iban()
                return stdnum_iban.format(number) if rng.random() < 0.7 else number
            case "invoice":
                return f"20{digits(8)}"
            case "ean":
                return _ean13(rng.choice(["400", "500", "590", "690", "30", "87"]), digits)
            case "batch":
                return fake.date_between(
                    start_date=GENERATED_ON + timedelta(days=-2 * YEAR),
                    end_date=GENERATED_ON + timedelta(days=-30),
                ).strftime("%Y%m%d")
            case "order" | "order2" | "other_order":
                return rng.choices(
                    [
                        f"BS-{digits(6)}",
                        f"#{rng.randint(10001, 99999)}",
                        f"1{digits(6)}",
                        f"20{digits(8)}",
                        f"ORD-{rng.randint(2021, 2025)}-{digits(6)}",
                    ],
                    weights=[45, 15, 15, 10, 10],
                )[0]
            case "serial":
                return rng.choice([f"SN{digits(10)}", digits(10), f"{digits(4)}-{digits(4)}-{digits(2)}"])
            case "tracking":
                return _tracking(rng, digits)
            case "price" | "price2":
                whole = rng.choice([rng.randint(5, 99), rng.randint(100, 999), rng.randint(1000, 2499)])
                cents = rng.choice(["00", "99", "95", "49", digits(2)])
                return rng.choice(
                    [
                        f"${whole}.{cents}",
                        f"${whole:,}.{cents}",
                        f"USD {whole}",
                        f"€{whole},{cents}",
                        f"£{whole}.{cents}",
                        f"{whole}.{cents} dollars",
                        f"${whole}",
                    ]
                )
            case "date" | "date2":
                day = fake.date_between(
                    start_date=GENERATED_ON + timedelta(days=-YEAR),
                    end_date=GENERATED_ON + timedelta(days=30),
                )
                return day.strftime(
                    rng.choice(["%m/%d/%Y", "%Y-%m-%d", "%d.%m.%Y", "%B %d", "%b %d, %Y", "%d/%m/%Y"])
                )
            case "zip":
                return rng.choice([digits(5), f"{digits(5)}-{digits(4)}"])
            case "qty":
                return str(rng.choice([1, 2, 2, 3, 4, 6, 12]))
            case "days":
                return str(rng.choice([3, 5, 10, 14, 21, 30, 45]))
            case "sku":
                return rng.choice(
                    [
                        f"TS-{digits(4)}-BLK",
                        f"{digits(4)}-{digits(3)}",
                        f"A{digits(4)}",
                        f"SKU-{digits(6)}",
                        f"{rng.choice('BCDHKMR')}{digits(2)}-{digits(5)}",
                    ]
                )
            case "size":
                return rng.choice(words["sizes"])
            case "giftcard":
                return _luhn_invalid(rng, digits)
            case "last4":
                return digits(4)
            case "time":
                return rng.choice(
                    [
                        f"{rng.randint(1, 12)}pm",
                        f"{rng.randint(7, 11)}:{rng.choice(['00', '15', '30', '45'])}am",
                        f"{rng.randint(13, 23)}:{digits(1)}0",
                    ]
                )
            case "rma":
                return rng.choice([f"RMA-{digits(6)}", f"R{digits(7)}"])
            case "exp":
                return f"{rng.randint(1, 12):02d}/{rng.choice(['26', '27', '28', '2029'])}"
            case "other":
                return _other_name(fake, self.record_name)
            case "address":
                return fake.address().replace("\n", ", ")
            case "product" | "carrier" | "store" | "bank":
                key = {"product": "names", "carrier": "carriers", "store": "stores", "bank": "banks"}[slot]
                return rng.choice(words[key])
        raise KeyError(f"unknown slot {{{slot}}}")


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())


def _email(rng: random.Random, fake: Faker, first: str, last: str, other_than: str = "") -> str:
    for _ in range(20):
        f, la = _ascii(first), _ascii(last)
        local = rng.choice(
            [
                f"{f}.{la}",
                f"{f[0]}{la}{rng.randint(1, 99)}",
                f"{f}{la}",
                f"{la}.{f}",
                f"{f}_{la[:1]}",
                f"{f}{rng.randint(70, 99)}",
                fake.user_name(),
            ]
        )
        domain = rng.choice([fake.free_email_domain(), fake.free_email_domain(), fake.domain_name()])
        address = f"{local}@{domain}"
        if rng.random() < 0.05:
            address = address.title()
        if address.lower() != other_than.lower():
            return address
    return f"{fake.user_name()}@{fake.domain_name()}"


def _phone(fake: Faker, region: str) -> tuple[phonenumbers.PhoneNumber, str]:
    """A phone number libphonenumber calls valid for `region` (nobody's real phone is outside every
    allocated range), and Faker's way of writing it."""
    for _ in range(200):
        raw = fake.phone_number()
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number) and not number.extension:
            return number, raw
    raise RuntimeError(f"Faker gave no valid {region} phone number")


def _phone_text(rng: random.Random, number: phonenumbers.PhoneNumber, raw: str) -> str:
    if "x" not in raw.lower() and not raw.startswith("00") and rng.random() < 0.25:
        return raw
    nsn = phonenumbers.national_significant_number(number)
    if number.country_code == 1:
        a, b, c = nsn[:3], nsn[3:6], nsn[6:]
        return rng.choice(
            [
                f"({a}) {b}-{c}",
                f"{a}-{b}-{c}",
                f"{a}.{b}.{c}",
                f"{a} {b} {c}",
                nsn,
                f"+1 {a} {b} {c}",
                f"+1-{a}-{b}-{c}",
                f"1-{a}-{b}-{c}",
                f"+1{nsn}",
                f"({a}){b}-{c}",
                f"1 ({a}) {b}-{c}",
            ]
        )
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    styles = [
        international,
        international,
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        "00" + international[1:],
        national,
    ]
    if national.startswith("0"):
        styles.append(f"+{number.country_code} (0){national[1:]}")
    return rng.choice(styles)


def _card(rng: random.Random, fake: Faker) -> str:
    kind = rng.choices(
        ["visa16", "mastercard", "amex", "discover", "jcb16", "diners"], weights=[40, 30, 12, 8, 5, 5]
    )[0]
    number = fake.credit_card_number(card_type=kind)
    sep = rng.choice([" ", " ", "-", ""])
    if len(number) == 16:
        groups = [number[i : i + 4] for i in range(0, 16, 4)]
    else:  # Amex and Diners print 4-6-5 and 4-6-4
        groups = [number[:4], number[4:10], number[10:]]
    return sep.join(groups)


def _luhn_invalid(rng: random.Random, digits) -> str:
    body = rng.choice("23456") + digits(14)
    good = luhn.calc_check_digit(body)
    check = rng.choice([d for d in string.digits if d != good])
    number = body + check
    return " ".join(number[i : i + 4] for i in range(0, 16, 4))


def _ean13(prefix: str, digits) -> str:
    body = prefix + digits(12 - len(prefix))
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10) % 10
    return body + str(check)


def _tracking(rng: random.Random, digits) -> str:
    usps = rng.choice(["9400", "9205", "9361"]) + digits(18)
    return rng.choice(
        [
            "1Z" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(6)) + digits(10),
            usps,
            " ".join(usps[i : i + 4] for i in range(0, 22, 4)),
            digits(12),
            f"{digits(4)} {digits(4)} {digits(4)}",
            digits(10),
            f"{rng.choice(['AB', 'RR', 'LX'])}{digits(9)}GB",
            f"JD{digits(18)}",
        ]
    )


def _other_name(fake: Faker, customer: str) -> str:
    taken = {_ascii(part) for part in customer.split()}
    for _ in range(50):
        name = f"{fake.first_name()} {fake.last_name()}"
        if not {_ascii(part) for part in name.split()} & taken:
            return name
    raise RuntimeError("no other name found")


def message_write(*, rng: random.Random, fakers: dict[str, Faker], pieces: dict, number: int) -> dict:
    """One message: text, the customer record, and the spans of what is personal and what must be kept."""
    locales = pieces["locales"]
    locale, region = rng.choices([(loc, reg) for loc, reg, _ in locales], weights=[w for *_, w in locales])[0]
    message = Message(rng=rng, fakers=fakers, pieces=pieces, locale=locale, region=region)
    # Payment and bank refunds twice as often, so cards and IBANs are not rare in the set.
    intents = sorted(pieces["intents"])
    intent_name = rng.choices(intents, weights=[INTENT_WEIGHTS.get(i, 1) for i in intents])[0]
    intent = pieces["intents"][intent_name]
    details = rng.sample(intent["details"], k=min(len(intent["details"]), rng.choice([1, 2, 2, 3])))
    body = [rng.choice(intent["openers"]), *details]
    if rng.random() < 0.55:
        body.insert(rng.randint(1, len(body)), rng.choice(pieces["contact"]))
    if rng.random() < 0.6:
        channel = "email"
        email = pieces["email"]
        if rng.random() < 0.4:
            body.insert(0, rng.choice(email["introductions"]))
        template = (
            f"{rng.choice(email['greetings'])}\n\n{' '.join(body)}\n\n"
            f"{rng.choice(email['closings'])}\n{rng.choice(email['signatures'])}"
        )
    else:
        channel = "chat"
        lines = [rng.choice(pieces["chat"]["openers"]), *body, rng.choice(pieces["chat"]["closers"])]
        template = "\n".join(line for line in lines if line)
    text, spans = _render(template, message)
    return {
        "id": f"m{number:04d}",
        "intent": intent_name,
        "channel": channel,
        "region": STORE_REGION,
        "known": message.known(),
        "text": text,
        **spans,
    }


def _render(template: str, message: Message) -> tuple[str, dict[str, list[dict]]]:
    slots = message.pieces["slots"]
    text, spans = "", {group: [] for group in slots}
    for literal, field, _, _ in string.Formatter().parse(template):
        text += literal
        if field is None:
            continue
        value = message.value(field)
        for group, kinds in slots.items():
            if field in kinds:
                span = {
                    "kind": kinds[field],
                    "start": len(text),
                    "end": len(text) + len(value),
                    "text": value,
                }
                spans[group].append(span)
        text += value
    return text, spans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=COUNT, help=f"messages to write (default {COUNT})")
    parser.add_argument("--seed", type=int, default=SEED, help=f"seed (default {SEED})")
    parser.add_argument("--out", type=Path, default=DATA / "generated_messages.jsonl")
    args = parser.parse_args()
    pieces = tomllib.loads((DATA / "message_templates.toml").read_text())
    fakers = {}
    for index, locale in enumerate(
        sorted({loc for loc, *_ in pieces["locales"]} | set(pieces["iban_locales"]))
    ):
        fakers[locale] = Faker(locale)
        fakers[locale].seed_instance(args.seed + index)
    rng = random.Random(args.seed)
    with args.out.open("w", encoding="utf-8") as out:
        for number in range(1, args.count + 1):
            record = message_write(rng=rng, fakers=fakers, pieces=pieces, number=number)
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.write(f"{args.count} messages written to {args.out}\n")


if __name__ == "__main__":
    main()
