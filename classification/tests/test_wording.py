"""Meaningful words: what is left of a message once greetings, pleasantries and signatures are set aside."""

import pytest

from classification.wording import meaningful_word_count, meaningful_words_min


@pytest.mark.parametrize(
    "text",
    [
        "Hi",
        "HEY HO!",
        "hello?",
        "thanks",
        "Thank you so much!!",
        "Hellooo",
        "Hi, is anyone there?",
        "Good evening team",
        "Hi there, hope you're well",
        "Dear Sir or Madam,",
        "Thanks, have a nice day",
        "how are you today?",
        "ok thanks 👍",
        "hi\n\nSent from my iPhone",
        "Many thanks,\nJoanna Kowalska\nHead of Procurement",
        "....",
    ],
)
def test_greetings_pleasantries_and_signatures_say_nothing(text):
    assert meaningful_word_count(text) == 0


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("Where is my order?", 4),
        ("Cancel my order", 3),
        ("where's my order", 3),
        # An order number is one word, whatever its prefix; a bare number is none.
        ("Order status BS-100311", 3),
        ("any update on #10001", 4),
        ("What's 17 times 23?", 2),
        ("refund please", 1),
        # The signature after a sign-off line is not part of the request; the greeting neither.
        ("Hi,\n\nWhere is my order?\n\nThanks,\nGreg Smith", 4),
        ("Hola, hice el pedido hace dos semanas", 6),
    ],
)
def test_request_words_count(text, count):
    assert meaningful_word_count(text) == count


def test_a_sign_off_in_the_middle_of_a_long_message_keeps_what_follows():
    text = "Thanks.\nI returned the boots two weeks ago and the refund has not arrived on my card"
    assert meaningful_word_count(text) == 16


@pytest.mark.django_db
def test_the_minimum_separates_a_greeting_from_a_request():
    assert (
        meaningful_word_count("hey there!! thx")
        < meaningful_words_min()
        <= meaningful_word_count("my parcel never came")
    )
