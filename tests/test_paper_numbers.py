"""Every published number's source tag is explained in the table captions."""

from emibench.report.paper_numbers import PAPER_NUMBERS, PAPER_TAGS


def test_every_tag_has_a_caption():
    assert {number.short for number in PAPER_NUMBERS.values()} <= set(PAPER_TAGS)
