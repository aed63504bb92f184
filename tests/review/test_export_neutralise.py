"""A citizen's answer can never become a formula in the spreadsheet staff open."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from review.export import neutralise

FORMULA = st.sampled_from(["=", "+", "-", "@", "＝", "＋", "－", "＠"])
HIDING = st.text(alphabet=" \t\n\r\u00a0\u200b\u2028\u3000\ufeff", max_size=4)


@given(hiding=HIDING, start=FORMULA, rest=st.text(max_size=30))
def test_a_formula_behind_spaces_or_in_full_width_is_neutralised(
    hiding: str, start: str, rest: str
) -> None:
    cell = neutralise(hiding + start + rest)
    assert cell == "'" + hiding + start + rest


@given(st.text(max_size=40))
def test_any_other_text_is_kept_as_the_citizen_wrote_it(text: str) -> None:
    cell = neutralise(text)
    assert cell in (text, "'" + text)


def test_plain_answers_and_numbers_are_untouched() -> None:
    assert neutralise("Chodnik na Długiej") == "Chodnik na Długiej"
    assert neutralise(" spacja na początku") == " spacja na początku"
    assert neutralise(42) == 42
    assert neutralise('\u200b=HYPERLINK("http://x")') == '\'\u200b=HYPERLINK("http://x")'
