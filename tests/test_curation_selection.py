"""The exact selection rules of `editreward.curation.selection`, on hand-made score tables."""

import numpy as np
import pytest

from editreward.curation import SelectionRule, select

DIMENSIONS = ["instruction_following", "visual_quality"]


def table(score, sigma=None, **columns):
    n = len(score)
    scores = {"score": np.array(score, float), "score_sigma": np.array(sigma if sigma is not None else [1.0] * n)}
    for d in DIMENSIONS:
        scores[f"{d}_mu"] = np.array(columns.get(f"{d}_mu", score), float)
        scores[f"{d}_sigma"] = np.array(columns.get(f"{d}_sigma", [1.0] * n), float)
    return scores


def test_top_k_breaks_ties_by_the_lower_row_index():
    result = select(table([1.0, 3.0, 2.0, 3.0, 2.0]), SelectionRule(top_k=3))
    assert result.rows.tolist() == [1, 2, 3] and result.cut == 2.0


def test_top_fraction_rounds_down_and_threshold_keeps_equal_values():
    scores = table([0.5, 0.1, 0.9, 0.7, 0.3])
    assert select(scores, SelectionRule(top_fraction=0.5)).rows.tolist() == [2, 3]
    assert select(scores, SelectionRule(min_score=0.5)).rows.tolist() == [0, 2, 3]


def test_top_fraction_counts_the_fraction_as_written_not_its_binary_product():
    """0.29 of 100 rows is 29 rows, though 0.29 * 100 is 28.999999999999996 in floating point."""
    for fraction, rows, kept in ((0.29, 100, 29), (0.57, 100, 57), (0.58, 50, 29), (0.5, 7, 3), (1 / 3, 9, 3)):
        assert select(table(np.arange(float(rows))), SelectionRule(top_fraction=fraction)).counts["selected"] == kept


def test_unscored_rows_are_never_kept_and_are_counted():
    result = select(table([np.nan, 2.0, np.nan, 1.0]), SelectionRule(top_k=4))
    assert result.rows.tolist() == [1, 3]
    assert result.counts == {"rows": 4, "scored": 2, "not_scored": 2, "after_minimums": 2, "candidates": 2,
                             "selected": 2}  # fmt: skip


def test_by_a_dimension_and_with_its_minimum():
    scores = table([5.0, 4.0, 3.0, 2.0], visual_quality_mu=[0.0, 3.0, 2.0, 1.0], instruction_following_mu=[9, 9, 0, 9])
    assert select(scores, SelectionRule(top_k=2, by="visual_quality")).rows.tolist() == [1, 2]
    rule = SelectionRule(top_k=2, by="visual_quality", minimums={"instruction_following": 1.0})
    assert select(scores, rule).rows.tolist() == [1, 3]


def test_the_lower_bound_prefers_the_certain_edit():
    scores = table([2.0, 1.8], sigma=[1.0, 0.1])
    assert select(scores, SelectionRule(top_k=1)).rows.tolist() == [0]
    result = select(scores, SelectionRule(top_k=1, lower_bound=1.0))
    assert result.rows.tolist() == [1] and result.cut == pytest.approx(1.7)


def test_best_of_n_keeps_the_best_rows_of_each_group_then_cuts():
    scores = table([1.0, 5.0, 3.0, 4.0, 4.0, 0.5])
    groups = np.array([0, 0, 0, 1, 1, 2])
    rule = SelectionRule(top_fraction=1.0, group_by=["source"], best_of_n=1)
    assert select(scores, rule, groups).rows.tolist() == [1, 3, 5]  # row 3 beats its equal row 4 by index
    two = select(scores, SelectionRule(top_k=3, group_by=["source"], best_of_n=2), groups)
    assert two.rows.tolist() == [1, 3, 4] and two.counts["candidates"] == 5 and two.counts["groups"] == 3


@pytest.mark.parametrize("rule, message", [
    (SelectionRule(), "exactly one of --top-k, --top-fraction and --min-score"),
    (SelectionRule(top_k=1, min_score=0.0), "exactly one"),
    (SelectionRule(top_fraction=1.5), "between 0 and 1"),
    (SelectionRule(top_k=1, by="sharpness"), "'sharpness' is not a score of this model"),
    (SelectionRule(top_k=1, minimums={"color": 1.0}), "'color' is not a score"),
    (SelectionRule(top_k=1, best_of_n=0), "--best-of-n must be at least 1"),
])  # fmt: skip
def test_a_malformed_rule_is_named(rule, message):
    with pytest.raises(ValueError, match=message):
        rule.check(DIMENSIONS)


def test_the_rule_describes_itself():
    rule = SelectionRule(top_k=20000, lower_bound=1.0, minimums={"visual_quality": 0.5}, group_by=["source"])
    assert rule.describe() == ("top 20000 by score mu - 1 sigma; visual_quality mu >= 0.5; "
                               "best 1 of each group of equal source")  # fmt: skip
