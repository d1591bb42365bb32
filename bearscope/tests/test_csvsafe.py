"""CSV cells a spreadsheet could read as a formula are neutralised; other values pass unchanged."""

import csv
import io

import pytest

from bearscope.csvsafe import cell_safe, csv_lines


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://evil.example")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
        "   =1+1",
        "\u00a0@SUM(A1)",
        "\uff1d1+1",  # full-width =
        "\uff0b1",  # full-width +
        "\uff0d1",  # full-width -
        "\uff20SUM(A1)",  # full-width @
    ],
)
def test_formula_starts_get_a_leading_quote(value):
    assert cell_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["Order 4711 late", "a=b", "plain@example.com", "", "  hello"])
def test_plain_text_is_unchanged(value):
    assert cell_safe(value) == value


def test_numbers_stay_numbers_and_none_is_empty():
    assert cell_safe(-3) == -3
    assert cell_safe(0.5) == 0.5
    assert cell_safe(None) == ""
    assert cell_safe(True) == "True"


def test_csv_lines_write_every_cell_through_the_neutraliser():
    text = "".join(csv_lines(["Name", "=Header"], [["=1+1", 4], ["fine", -1]]))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["Name", "'=Header"], ["'=1+1", "4"], ["fine", "-1"]]
