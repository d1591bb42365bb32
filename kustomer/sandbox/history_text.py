"""The words of the history seed: customers' and agents' messages from history_templates.json, with typos."""

import random
import re
from typing import Any

# Words with digits, @ or / are order numbers, emails and links: a typo there would change what they name.
PROTECTED = re.compile(r"[\d@/{}]")


class Writer:
    """Fills templates for one conversation's context; every choice comes from the seeded `rng`."""

    def __init__(self, templates: dict[str, Any], rng: random.Random) -> None:
        self.t = templates
        self.rng = rng

    def fill(self, template: str, context: dict[str, str]) -> str:
        return template.format_map(context)

    def pick(self, options: list[str], context: dict[str, str]) -> str:
        return self.fill(self.rng.choice(options), context)

    def opener(self, key: str | None, context: dict[str, str], channel: str, lang: str) -> str:
        """The customer's first message: an email may come wrapped in a greeting, context and a sign-off."""
        if lang != "en":
            return self.pick(self.t["languages"][lang][key]["openers"], context)
        options = self.t["intents"][key]["openers"] if key else self.t["vague"]["openers"]
        text = self.pick(options, context)
        if channel == "email" and self.rng.random() < 0.4:
            extra = self.rng.sample(self.t["email_context"], k=self.rng.choice((1, 1, 2, 3)))
            sentence_end = "" if text.rstrip()[-1] in ".?!" else "."
            body = " ".join([text + sentence_end, *(self.fill(sentence, context) for sentence in extra)])
            greeting = self.rng.choice(self.t["email_greetings"])
            text = f"{greeting}\n\n{body}\n\n{self.pick(self.t['email_signoffs'], context)}"
        return self.styled(text, channel)

    def reply(self, key: str | None, context: dict[str, str], lang: str) -> str:
        if lang != "en":
            return self.pick(self.t["languages"][lang][key]["replies"], context)
        entry = self.t["intents"][key] if key else self.t["vague"]
        return self.pick(entry["replies"], context)

    def follow_up(
        self, key: str | None, context: dict[str, str], channel: str, last: bool, asked: set[str]
    ) -> tuple[str, str | None]:
        """A later customer message and the agent's answer to it (None: thanks, which ends the exchange).

        The last message is thanks; before it, the intent's own follow-up questions, or small ones.
        """
        if last:
            return self.styled(self.pick(self.t["thanks"], context), channel), None
        own = [
            pair
            for pair in (self.t["intents"][key].get("follow_ups", []) if key else [])
            if pair[0] not in asked
        ]
        small = [pair for pair in self.t["customer_extra"] if pair[0] not in asked]
        question, answer = self.rng.choice(own if own and self.rng.random() < 0.6 else small or own)
        asked.add(question)
        return self.styled(self.fill(question, context), channel), self.fill(answer, context)

    def closer(self, context: dict[str, str]) -> str:
        return self.pick(self.t["agent_closers"], context)

    def styled(self, text: str, channel: str) -> str:
        """Chat and text messages are often typed fast: lower case, no full stop, a typo or two."""
        if channel in ("chat", "sms") and self.rng.random() < 0.3:
            text = text.lower().rstrip(".")
        if self.rng.random() < (0.2 if channel in ("chat", "sms") else 0.07):
            text = self.typos(text)
        return text

    def typos(self, text: str) -> str:
        words = text.split(" ")
        candidates = [i for i, word in enumerate(words) if len(word) >= 4 and not PROTECTED.search(word)]
        for i in self.rng.sample(candidates, k=min(len(candidates), self.rng.choice((1, 1, 2)))):
            word, at = words[i], self.rng.randrange(1, len(words[i]) - 2)
            kind = self.rng.randrange(3)
            if kind == 0:
                words[i] = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
            elif kind == 1:
                words[i] = word[:at] + word[at + 1 :]
            else:
                words[i] = word[:at] + word[at] + word[at:]
        return " ".join(words)
