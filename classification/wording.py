"""How much a message says: its words once greetings, pleasantries, fillers and signatures are set aside."""

import re

from .models import ClassifierSettings

# The admin's setting (ClassifierSettings.min_meaningful_words) is the one home; this is its default,
# read from the field, for training and for code that has no database at hand.
MEANINGFUL_WORDS_DEFAULT: int = ClassifierSettings._meta.get_field("min_meaningful_words").default

# Whole phrases that carry no request, matched on lower-cased text with plain apostrophes.
_PHRASES = [
    r"(?:hi|hello|hey|hiya) (?:there|all|everyone|guys|team|folks)",
    r"good (?:morning|afternoon|evening|day|night)",
    r"how (?:are|r) (?:you|u|ya)(?: doing)?(?: today)?",
    r"how(?:'s| is) it going",
    r"how(?:'s| is) your day(?: going)?",
    r"(?:i )?hope (?:you(?:'re| are)|you all are|all is|this (?:email|message) finds you) (?:doing )?well",
    r"hope you(?:'re| are) (?:having )?a (?:good|great|nice|lovely) (?:day|week|weekend)",
    r"have a (?:nice|good|great|lovely|wonderful) (?:day|one|weekend|evening)",
    r"thank(?:s| you)(?: (?:so|very))?(?: much| a lot| a million| in advance| again| for your help)?",
    r"many thanks|much appreciated|(?:kind|best|warm) (?:regards|wishes)|yours (?:sincerely|truly)",
    r"to whom it may concern",
    r"dear (?:sir or madam|sir/madam|sir|madam|all|team|support(?: team)?)",
    r"dear customer (?:service|support)(?: team)?",
    r"(?:is )?(?:any ?one|some ?one|any ?body) (?:there|here|around)",
    r"are you (?:there|around)",
    r"sent from my \w+(?: \w+)?",
]
PHRASE = re.compile(r"\b(?:" + "|".join(_PHRASES) + r")\b")
# Single words that greet, thank, fill or sign off; nothing a customer asks for.
_FILLERS = (
    "hi hello hey heya hiya hallo howdy yo ho hoi greetings morning afternoon evening dear sir madam "
    "team please pls plz thanks thank thx ty tx cheers regards sincerely best bye goodbye cya ok "
    "okay k kk alright fine great cool nice awesome perfect lovely super lol lmao haha hahaha hehe "
    "xd um uh umm hmm erm oh ah ahh wow yay oops yes yeah yep yup ya no nope nah sure test testing "
    "hola bonjour salut ciao gracias merci danke grazie obrigado obrigada"
)
FILLERS = frozenset(_FILLERS.split())
# A line that only signs off: it and the short lines after it (a name, a title) are a signature.
SIGN_OFF = re.compile(
    r"^(?:thanks?|thank you|many thanks|thx|cheers|regards|kind regards|best regards|best wishes|best|"
    r"warm regards|all the best|sincerely|yours sincerely|yours truly|take care)[\s,.!]*$"
)
SIGNATURE_MAX_LINES = 4
WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# An order number says which order: one meaningful word, not a prefix and a number.
ORDER_NUMBER = re.compile(r"\b[a-z]{1,5}-?\d{4,}\b|#\d{3,}\b")
# "Hellooo", "heyyy", "thanksss": a letter held for emphasis.
HELD = re.compile(r"([a-z])\1{2,}")


def _without_signature(lines: list[str]) -> list[str]:
    for n, line in enumerate(lines):
        rest = [x for x in lines[n + 1 :] if x]
        if (
            SIGN_OFF.match(line)
            and len(rest) <= SIGNATURE_MAX_LINES
            and all(len(x.split()) <= 5 for x in rest)
        ):
            return lines[:n]
    return lines


def meaningful_word_count(text: str) -> int:
    """Words that can say what a customer wants: greetings, pleasantries, fillers, a signature and
    numbers alone do not count ("HEY HO!" 0, "Thanks, have a nice day" 0, "Where is my order?" 4)."""
    text = HELD.sub(r"\1", text.lower().replace("\u2019", "'"))
    lines = _without_signature([line.strip() for line in text.splitlines()])
    text = ORDER_NUMBER.sub(" ordernumber ", "\n".join(lines))
    words = WORD.findall(PHRASE.sub(" ", text))
    return sum(1 for w in words if w not in FILLERS and not w.isdigit())


def meaningful_words_min() -> int:
    """Below this many meaningful words a text says too little to act on without a person ("Hi",
    "HEY HO!", "thanks", "order?"): the local tier lowers its confidence, and the customer's next
    message classifies the conversation again. One home: the admin's classifier settings."""
    return ClassifierSettings.load().min_meaningful_words
