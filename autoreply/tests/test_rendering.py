"""Reply templates: declared variables only, one-pass substitution, missing values block."""

import pytest

from autoreply.rendering import MissingVariable, TemplateError, template_check, template_render

DECLARED = ["order_number", "carrier"]


def test_renders_declared_variables():
    text = "Order {order_number} ships with {carrier}."
    assert template_render(text, declared=DECLARED, values={"order_number": "BS-1", "carrier": "UPS"}) == (
        "Order BS-1 ships with UPS."
    )


def test_a_value_that_looks_like_a_placeholder_is_not_rendered_again():
    rendered = template_render(
        "Order {order_number} with {carrier}",
        declared=DECLARED,
        values={"order_number": "{carrier}", "carrier": "UPS"},
    )
    assert rendered == "Order {carrier} with UPS"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_missing_value_blocks(value):
    with pytest.raises(MissingVariable, match=r"No value for \{carrier\}"):
        template_render("{carrier}", declared=DECLARED, values={"carrier": value})


@pytest.mark.parametrize(
    ("text", "declared", "message"),
    [
        ("Hi {customer_note}", ["customer_note"], "Unknown variable customer_note"),
        ("Status {order_status}", DECLARED, r"Undeclared variable \{order_status\}"),
        ("Refund {{ refund }}", DECLARED, "A brace that is not part of a"),
        ("Order {Order_Number}", DECLARED, "A brace that is not part of a"),
    ],
)
def test_bad_templates_are_refused(text, declared, message):
    with pytest.raises(TemplateError, match=message):
        template_check(text, declared=declared)

