"""A deterministic past for the sandbox: support conversations over 90 days with customers, orders, labels."""

import json
import math
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from . import resources
from .history_text import Writer
from .resources import iso

TEMPLATES_PATH = Path(__file__).with_name("history_templates.json")
# The team's own contact reason, which agents set on most conversations.
CONTACT_REASON = "contactReasonStr"
DAYS = 90
CHANNELS = {"email": 50, "chat": 35, "sms": 15}
STATUSES = {"done": 85, "open": 11, "snoozed": 4}
MESSAGE_COUNTS = {2: 30, 3: 22, 4: 20, 5: 10, 6: 8, 7: 5, 8: 5}
VAGUE, GREETING_FIRST, FOREIGN = 0.05, 0.03, 0.04
REPEAT_CUSTOMER = 0.25
# Agents set the team's contact reason on most resolved conversations, on fewer open ones; some are wrong.
REASON_SET = {"done": 0.76, "open": 0.45, "snoozed": 0.45}
REASON_NOISE = 0.08
TRANSFERRED = 0.1
# Median minutes before an agent answers and before the customer writes again, per channel.
REPLY_MINUTES = {"email": 300, "chat": 3, "sms": 20}
FOLLOW_UP_MINUTES = {"email": 480, "chat": 2, "sms": 15}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ORDER_STATUSES = {
    "shipping_issue/status": ("in_transit", "shipped", "delayed"),
    "order_issue/manage_cancel": ("processing",),
}


def hex_id(prefix: str, index: int) -> str:
    """A 24-hex-character id like Kustomer's, stable for the same index."""
    return f"{prefix}{index:08x}"


def weighted(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def minutes(rng: random.Random, median: float) -> float:
    return max(0.5, rng.lognormvariate(math.log(median), 0.8))


@dataclass
class History:
    """Seed-shaped customers, orders and conversations, and each conversation's intended label."""

    customers: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    conversations: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)


class Generator:
    """`teams` maps a team name to its id and members as (user id, first name)."""

    def __init__(self, seed: int, now: datetime, teams: dict[str, tuple[str, list[tuple[str, str]]]]) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.teams = teams
        self.t = json.loads(TEMPLATES_PATH.read_text(encoding="utf-8"))
        self.writer = Writer(self.t, self.rng)
        self.history = History()
        self.intents = {key: entry["weight"] for key, entry in self.t["intents"].items()}
        self.reasons = {key: self.reason_for(key) for key in self.intents}

    def run(self, count: int) -> History:
        for index in range(count):
            self.conversation(index)
        return self.history

    # --- the cast ------------------------------------------------------------------------------------

    def customer(self, before: datetime) -> dict[str, Any]:
        known = self.history.customers
        if known and self.rng.random() < REPEAT_CUSTOMER:
            return self.rng.choice(known)
        first, last = self.rng.choice(self.t["names"]["first"]), self.rng.choice(self.t["names"]["last"])
        plain = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode()
        number = len(known)
        local = plain.lower().replace("'", "") + str(number % 7 or "")
        email = f"{local}@{self.rng.choice(self.t['email_domains'])}"
        phone = f"+1{self.rng.choice(self.t['area_codes'])}5550{self.rng.randrange(100, 200)}"
        created = before - timedelta(days=self.rng.uniform(1, 400))
        customer = {
            "id": hex_id("6a11c1a2b3d4e5f6", number),
            "name": f"{first} {last}",
            "email": email,
            "phone": phone if self.rng.random() < 0.9 else None,
            "externalId": f"shop-cust-{30000 + number}",
            "createdAt": iso(created),
        }
        known.append(customer)
        return customer

    def order(self, key: str, customer: dict[str, Any], start: datetime) -> dict[str, Any]:
        number = len(self.history.orders)
        name, price = self.rng.choice(self.t["items"])
        carrier = self.rng.choice(sorted(self.t["carriers"]))
        placed = start - timedelta(days=self.rng.uniform(1, 20))
        order = {
            "id": hex_id("6a11c4d5e6f70809", number),
            "customer": customer["id"],
            "externalId": f"BS-{200000 + number}",
            "title": f"Order BS-{200000 + number}",
            "createdAt": iso(placed),
            "custom": {
                "statusStr": self.rng.choice(ORDER_STATUSES.get(key, ("delivered",))),
                "carrierStr": carrier,
                "trackingUrl": self.t["carriers"][carrier].format(n=f"{self.rng.randrange(10**9):09d}"),
                "estimatedDeliveryAt": iso(start + timedelta(days=self.rng.uniform(1, 4))),
                "emailStr": customer["email"],
                "itemsTxt": name,
                "totalNum": price,
            },
        }
        self.history.orders.append(order)
        return order

    def context(
        self, customer: dict[str, Any], order: dict[str, Any] | None, start: datetime
    ) -> dict[str, str]:
        """What templates may name: the customer, the order (its number as the customer writes it), etc."""
        rng = self.rng
        first = customer["name"].split(" ")[0]
        item = (
            (order["custom"]["itemsTxt"], order["custom"]["totalNum"])
            if order
            else rng.choice(self.t["items"])
        )
        name, price = item
        number = order["externalId"] if order else f"BS-{rng.randrange(100000, 199999)}"
        written = rng.choices(
            [number, f"#{number}", number.replace("-", ""), number.lower()], weights=[80, 8, 7, 5]
        )[0]
        size = rng.randrange(len(self.t["sizes"]) - 1)
        eta = (
            resources.parse_iso(order["custom"]["estimatedDeliveryAt"])
            if order
            else start + timedelta(days=2)
        )
        return {
            "first": first,
            "full": customer["name"],
            "email": customer["email"],
            "order": written,
            "order_id": number,
            "item": name,
            "amount": f"${price:.2f}",
            "fee": f"${rng.choice((4.95, 7.95, 9.99, 12.5)):.2f}",
            "carrier": order["custom"]["carrierStr"] if order else rng.choice(sorted(self.t["carriers"])),
            "tracking": order["custom"]["trackingUrl"] if order else "",
            "eta": f"{WEEKDAYS[eta.weekday()]}, {eta:%B} {eta.day}",
            "eta_date": f"{eta.day:02d}/{eta.month:02d}",
            "days": str(rng.randrange(3, 15)),
            "promo": rng.choice(self.t["promo_codes"]),
            "size": self.t["sizes"][size],
            "other_size": self.t["sizes"][size + 1],
            "color": rng.choice(self.t["colors"]),
            "weekday": WEEKDAYS[(start - timedelta(days=rng.randrange(1, 5))).weekday()],
            "weekday_es": self.t["weekdays_es"][rng.randrange(7)],
            "street": rng.choice(self.t["streets"]),
            "city": rng.choice(self.t["cities"]),
        }

    def reason_for(self, key: str) -> str:
        """The contact reason an agent picks for `key`: named for it, else the one mapping to its intent."""
        if key in self.t["reason_for"]:
            return self.t["reason_for"][key]
        intent, sub_intent = key.split("/")
        reasons = self.t["contact_reasons"]
        exact = [
            name
            for name, label in reasons.items()
            if (label["intent"], label["sub_intent"]) == (intent, sub_intent)
        ]
        broad = [
            name
            for name, label in reasons.items()
            if (label["intent"], label["sub_intent"]) == (intent, None)
        ]
        return (exact or broad)[0]

    def reason(self, key: str | None, status: str) -> str | None:
        if self.rng.random() >= REASON_SET[status]:
            return None
        if self.rng.random() < REASON_NOISE:
            return self.rng.choice(sorted(self.t["contact_reasons"]))
        return self.reasons[key] if key else "Other"

    # --- one conversation ----------------------------------------------------------------------------

    def start_time(self, duration: timedelta) -> datetime:
        """When a conversation began: over the last DAYS days, mostly weekdays and waking hours."""
        latest = self.now - duration - timedelta(minutes=15)
        earliest = self.now - timedelta(days=DAYS)
        while True:
            start = earliest + (latest - earliest) * self.rng.random()
            awake = 8 <= start.hour < 22 or self.rng.random() < 0.15
            if awake and (start.weekday() < 5 or self.rng.random() < 0.6):
                return start

    def offsets(self, directions: list[str], channel: str) -> list[int]:
        """Seconds from the first message to each: agents answer after a while, customers come back later."""
        seconds, elapsed = [0], 0.0
        for direction in directions[1:]:
            median = REPLY_MINUTES[channel] if direction == "out" else FOLLOW_UP_MINUTES[channel]
            elapsed += 60 * minutes(self.rng, median)
            seconds.append(int(elapsed))
        return seconds

    def conversation(self, index: int) -> None:
        rng, writer = self.rng, self.writer
        vague = rng.random() < VAGUE
        lang = rng.choice(sorted(self.t["languages"])) if not vague and rng.random() < FOREIGN else "en"
        if lang != "en":
            key: str | None = rng.choice(sorted(self.t["languages"][lang]))
        else:
            key = None if vague else weighted(rng, self.intents)
        greeting = key is not None and lang == "en" and rng.random() < GREETING_FIRST
        channel = weighted(rng, CHANNELS) if lang == "en" else rng.choice(("email", "chat"))
        status = weighted(rng, STATUSES)
        count = max(weighted(rng, MESSAGE_COUNTS), 4 if greeting else 2)
        if lang != "en" or key is None:
            # Other languages get one answer and thanks; a vague message, an answer and maybe a word back.
            count = min(count, 3)
        if status != "done" and count % 2 == 0:
            # An open conversation mostly waits on the agent: the customer wrote last.
            count = count + 1 if count < 8 else 7
        directions = ["in" if i % 2 == 0 else "out" for i in range(count)]
        seconds = self.offsets(directions, channel)
        start = self.start_time(timedelta(seconds=seconds[-1]))

        group = key.split("/")[0] if key else "vague"
        team_name = self.t["teams"][group]
        team_id, members = self.teams.get(team_name) or next(iter(self.teams.values()))
        agents = [rng.choice(members)]
        team_ids = [team_id]
        general = self.teams.get("General Support")
        if general and team_name != "General Support" and rng.random() < TRANSFERRED:
            agents.insert(0, rng.choice(general[1]))
            team_ids.insert(0, general[0])

        customer = self.customer(start)
        needs_order = key is not None and self.t["intents"][key]["order"]
        order = self.order(key, customer, start) if needs_order else None
        context = {**self.context(customer, order, start), "agent": agents[-1][1]}

        texts: list[tuple[str, str]] = []
        if greeting:
            texts.append(("", rng.choice(self.t["greetings_only"])))
            texts.append((agents[0][0], writer.pick(self.t["agent_asks"], context)))
        texts.append(("", writer.opener(key, context, channel, lang)))
        replied, answer, asked = False, None, set()
        while len(texts) < count:
            if directions[len(texts)] == "out":
                text = (answer or writer.closer(context)) if replied else writer.reply(key, context, lang)
                replied, answer = True, None
                texts.append((agents[-1][0], text))
            elif lang != "en":
                texts.append(("", writer.pick(self.t["language_thanks"][lang], context)))
            else:
                text, answer = writer.follow_up(key, context, channel, len(texts) == count - 1, asked)
                texts.append(("", text))

        conversation_id = hex_id("6a11c2b3c4d5e6f7", index)
        subjects = (self.t["intents"][key].get("subjects") if key else None) or self.t["subjects"][group]
        reason = self.reason(key, status)
        self.history.conversations.append(
            {
                "id": conversation_id,
                "customer": customer["id"],
                "channel": channel,
                "status": status,
                "priority": self.t["intents"][key]["priority"] if key else 3,
                "createdAt": iso(start),
                "subject": writer.pick(subjects, context) if channel == "email" and lang == "en" else None,
                "lang": lang,
                "messages": [
                    {
                        "id": hex_id("6a11e5f6a7b8c9d0", index * 8 + i),
                        "direction": directions[i],
                        "text": text,
                        "after": seconds[i],
                        "by": author if directions[i] == "out" else None,
                    }
                    for i, (author, text) in enumerate(texts)
                ],
                "assignedUsers": [user_id for user_id, _ in agents],
                "assignedTeams": team_ids,
                "custom": {CONTACT_REASON: reason} if reason else {},
                "rev": count + (2 if status == "done" else 1) + rng.randrange(4),
            }
        )
        intent, _, sub_intent = (key or "").partition("/")
        self.history.labels[conversation_id] = {
            "intent": intent or None,
            "sub_intent": sub_intent or None,
            "contact_reason": reason,
            "language": lang,
            "channel": channel,
            "status": status,
        }


def generate(
    count: int, *, seed: int, now: datetime, teams: dict[str, tuple[str, list[tuple[str, str]]]]
) -> History:
    return Generator(seed, now, teams).run(count)


def contact_reasons() -> dict[str, dict[str, str | None]]:
    """The team's contact reasons and the intent (and sub-intent, where one fits) each stands for."""
    return json.loads(TEMPLATES_PATH.read_text(encoding="utf-8"))["contact_reasons"]
