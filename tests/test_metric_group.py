"""The "group" (EditReward-Bench strict group accuracy) and "spearman" (ImagenHub) configs of editreward_accuracy."""

import itertools
import math
import os

import numpy as np
import pytest

from editreward.evaluate_metrics import load_metric_script


script = load_metric_script()


def make_metric(config, tmp_path):
    return script.EditrewardAccuracy(config, keep_in_memory=True, cache_dir=os.fspath(tmp_path / "metrics"))


@pytest.fixture
def group_metric(tmp_path):
    return make_metric("group", tmp_path)


@pytest.fixture
def spearman_metric(tmp_path):
    return make_metric("spearman", tmp_path)


# ------------------------------------------------------------------ group accuracy


def test_hand_made_groups_of_two_three_and_four(group_metric):
    results = group_metric.compute(
        predictions=[[0.9, 0.1], [0.2, 0.8, 0.1], [1.0, 1.0], [0.4, 0.3, 0.2, 0.1]],
        references=["A>B", "B>C>A", "A=B", "A>B>C>D"],
    )
    # Group 2 has C above A in the ranking but 0.1 < 0.2 in the scores; every other comparison is right at eps* = 0.
    assert results["epsilon"] == 0.0
    assert (results["accuracy_k2"], results["accuracy_k3"], results["accuracy_k4"]) == (1.0, 0.0, 1.0)
    assert (results["num_groups_k2"], results["correct_groups_k2"]) == (2, 2)
    assert (results["num_groups"], results["correct_groups"], results["accuracy"]) == (4, 3, 0.75)
    assert (results["num_comparisons"], results["correct_comparisons"]) == (1 + 3 + 1 + 6, 10)
    assert results["pairwise_accuracy"] == pytest.approx(10 / 11)


def test_good_and_bad_tie_suffixes_read_as_plain_ties(group_metric):
    predictions = [[1.0, 1.0], [0.5, 0.5], [2.0, 1.0]]
    plain = group_metric.compute(predictions=predictions, references=["A=B", "A=B", "A>B"])
    suffixed = group_metric.compute(predictions=predictions, references=["A=B=Good", "A=B=Bad", "A>B"])
    assert plain == suffixed and plain["accuracy"] == 1.0


def test_one_wrong_comparison_fails_the_whole_group(group_metric):
    results = group_metric.compute(predictions=[[3.0, 2.0, 1.0, 1.5]], references=["A>B>C>D"], tie_threshold=-1.0)
    assert results["accuracy_k4"] == 0.0
    assert results["pairwise_accuracy"] == pytest.approx(5 / 6)


def test_ties_inside_a_ranking_need_a_margin_within_threshold(group_metric):
    predictions, references = [[2.0, 1.0, 1.05]], ["A>B=C"]
    assert group_metric.compute(predictions=predictions, references=references, tie_threshold=0.1)["accuracy"] == 1.0
    assert group_metric.compute(predictions=predictions, references=references, tie_threshold=0.01)["accuracy"] == 0.0


def test_human_tie_in_a_pair_counts_only_within_threshold(group_metric):
    predictions, references = [[0.75, 0.625], [0.5, 0.25]], ["A=B", "A>B"]  # margins 0.125 and 0.25, exact in binary
    accuracy = {
        eps: group_metric.compute(predictions=predictions, references=references, tie_threshold=eps)["accuracy"]
        for eps in (0.1, 0.125, 0.25)
    }
    assert accuracy == {0.1: 0.5, 0.125: 1.0, 0.25: 1.0}  # a strict preference needs only the right sign
    calibrated = group_metric.compute(predictions=predictions, references=references)
    assert (calibrated["accuracy"], calibrated["epsilon"]) == (1.0, 0.125)


def test_epsilon_is_calibrated_on_the_pairs_only(group_metric):
    predictions = [[0.5, 0.25], [1.0, 0.0], [0.5, 0.375, 0.25]]
    references = ["A=B", "A>B", "A>B>C"]
    results = group_metric.compute(predictions=predictions, references=references)
    # Pooled with the K=3 margins (0.125, 0.25, 0.125) the sweep would predict no ties and fail the A=B pair.
    assert results["epsilon"] == script.tie_calibrated_sweep(np.array([0.25, 1.0]), np.array([0, 1]))[1] == 0.25
    assert (results["accuracy"], results["pairwise_accuracy"]) == (1.0, 1.0)


def test_ordered_groups_count_even_with_margins_below_epsilon(group_metric):
    # The reviewer's case: eps* = 0.2 from the K=2 ties; the K=3 group is ordered right with margins of 0.2.
    results = group_metric.compute(
        predictions=[[0.5, 0.3], [0.1, -0.1], [2.0, 1.0], [1.0, 0.8, 0.6]], references=["A=B", "A=B", "A>B", "A>B>C"]
    )
    assert results["epsilon"] == pytest.approx(0.2)
    assert (results["accuracy_k2"], results["accuracy_k3"], results["accuracy"]) == (1.0, 1.0, 1.0)


def test_a_zero_margin_on_a_strict_preference_is_wrong(group_metric):
    results = group_metric.compute(predictions=[[1.0, 0.5], [0.5, 0.5, 0.0]], references=["A=B", "A>B>C"])
    assert results["epsilon"] == 0.5
    assert (results["accuracy_k3"], results["correct_comparisons"]) == (0.0, 3)


def official_strict_order_is_right(scores, ranking):
    """The official script's rule for a strict ranking: argsort of the scores, reversed, is the human order."""
    return "".join("ABCD"[i] for i in np.argsort(scores)[::-1]) == ranking.replace(">", "")


@pytest.mark.parametrize(
    "scores, official_right, official_wrong",
    [([1.0, 1.0], "B>A", "A>B"), ([1.0, 1.0, 1.0], "C>B>A", "A>B>C"), ([2.0, 1.0, 1.0, 0.0], "A>C>B>D", "A>B>C>D")],
)  # fmt: skip
def test_equal_scores_on_a_strict_preference_are_wrong_whichever_letter_the_official_argsort_favours(
    group_metric, scores, official_right, official_wrong
):
    # The official tie-break ranks equal scores later letter first; here both directions are wrong at every K.
    assert official_strict_order_is_right(scores, official_right) and not official_strict_order_is_right(
        scores, official_wrong
    )
    for ranking in (official_right, official_wrong):
        results = group_metric.compute(predictions=[scores], references=[ranking], tie_threshold=-1.0)
        assert results["accuracy"] == 0.0, ranking


def test_without_pairs_no_tie_is_predicted(group_metric):
    predictions, references = [[1.0, 1.0, 0.5]], ["A=B>C"]
    results = group_metric.compute(predictions=predictions, references=references)
    assert (results["epsilon"], results["accuracy"]) == (-1.0, 0.0)
    assert group_metric.compute(predictions=predictions, references=references, tie_threshold=0.0)["accuracy"] == 1.0


def brute_force_group_accuracy(groups, rankings, eps):
    """Strict group accuracy by loops over C(K,2) comparisons, ranks read from the ranking string."""
    correct_groups = 0
    for scores, ranking in zip(groups, rankings):
        tier = {letter: t for t, block in enumerate(ranking.split(">")) for letter in block.split("=")}
        all_right = True
        for i, j in itertools.combinations(range(len(scores)), 2):
            margin, human = scores[i] - scores[j], tier[chr(65 + j)] - tier[chr(65 + i)]
            if human == 0:
                all_right &= abs(margin) <= eps
            else:
                all_right &= margin != 0 and (margin > 0) == (human > 0)
        correct_groups += all_right
    return correct_groups / len(groups)


def brute_force_pair_epsilon(groups, rankings):
    """The smallest eps with the best tie-calibrated accuracy over the K=2 groups (-1 when there are none)."""
    pairs = [(s[0] - s[1], 0 if "=" in r else (1 if r.startswith("A") else -1)) for s, r in zip(groups, rankings)
             if len(s) == 2]  # fmt: skip
    best, best_eps = -1, -1.0
    for eps in [-1.0] + sorted({abs(m) for m, _ in pairs}):
        right = sum((abs(m) <= eps) if h == 0 else (abs(m) > eps and m * h > 0) for m, h in pairs)
        if right > best:
            best, best_eps = right, eps
    return best_eps


def random_groups(seed, num_groups=60):
    rng = np.random.default_rng(seed)
    groups, rankings = [], []
    for _ in range(num_groups):
        k = int(rng.integers(2, 5))
        scores = (rng.integers(0, 5, size=k) / 2.0).tolist()
        quality = np.array(scores) + rng.normal(scale=0.7, size=k)
        tiers = np.round(quality).astype(int)
        letters = sorted(range(k), key=lambda c: -tiers[c])
        ranking = chr(65 + letters[0])
        for prev, cur in zip(letters, letters[1:]):
            ranking += ("=" if tiers[prev] == tiers[cur] else ">") + chr(65 + cur)
        groups.append(scores)
        rankings.append(ranking)
    return groups, rankings


@pytest.mark.parametrize("seed", range(3))
def test_group_accuracy_matches_brute_force(group_metric, seed):
    groups, rankings = random_groups(seed)
    results = group_metric.compute(predictions=groups, references=rankings)
    assert results["epsilon"] == brute_force_pair_epsilon(groups, rankings)
    assert results["accuracy"] == pytest.approx(brute_force_group_accuracy(groups, rankings, results["epsilon"]))


@pytest.mark.parametrize(
    "predictions, references, message",
    [
        ([[1.0, 0.0, 0.5]], ["A>B"], r"references\[0\] = 'A>B' ranks 2 candidates but predictions\[0\] has 3"),
        ([[1.0, 0.0]], ["A>C"], r"references\[0\] = 'A>C' contains 'C'.*candidates A, B"),
        ([[1.0, 0.0]], ["A>A"], r"names 'A' twice"),
        ([[1.0, 0.0, 2.0]], ["A>>B>C"], r"'A>>B>C' has an empty place between two signs"),
        ([[1.0, 0.0]], ["A=B="], r"'A=B=' has an empty place"),
        ([[1.0]], ["A"], r"predictions\[0\] has 1 scores; a group needs 2"),
        ([[1.0, 0.0], [0.3, float("nan")]], ["A>B", "B>A"], r"predictions\[1\]\[1\].*not finite"),
        ([[1.0, 0.0]], ["A>B", "B>A"], r"1 predictions but 2 references"),
        ([0.9, 0.1], ["A>B", "B>A"], r"predictions\[0\] = 0.9 is not a list of scores"),
    ],
)
def test_bad_groups_name_the_problem(predictions, references, message):
    with pytest.raises(ValueError, match=message):
        script.group_accuracy(predictions, references)


# ------------------------------------------------------------------ Spearman per editing model


def test_spearman_with_tied_values_matches_hand_computation(spearman_metric):
    # x ranks [1, 2.5, 2.5, 4], y ranks [1, 3, 2, 4]: sum(dx*dy) = 4.5, sum(dx^2) = 4.5, sum(dy^2) = 5.
    results = spearman_metric.compute(predictions=[1.0, 2.0, 2.0, 3.0], references=[1, 3, 2, 4], groups=["m"] * 4)
    assert results["spearman"] == pytest.approx(4.5 / math.sqrt(4.5 * 5))


def test_spearman_is_averaged_over_editing_models(spearman_metric):
    predictions = [0.1, 0.4, 0.3, 2.0, 1.0, 3.0, 5.0, 5.0]
    references = [1, 3, 2, 1, 2, 3, 1, 2]
    groups = ["a"] * 3 + ["b"] * 3 + ["constant"] * 2
    mean = spearman_metric.compute(predictions=predictions, references=references, groups=groups)
    assert mean["spearman_per_group"]["a"] == 1.0 and mean["spearman_per_group"]["b"] == 0.5
    assert math.isnan(mean["spearman_per_group"]["constant"])  # undefined, left out of the average
    assert (mean["spearman"], mean["num_groups"]) == (0.75, 3)
    fisher = spearman_metric.compute(predictions=predictions, references=references, groups=groups, average="fisher")
    assert fisher["spearman"] == pytest.approx(math.tanh((math.atanh(0.999999) + math.atanh(0.5)) / 2))


def test_spearman_agrees_with_scipy_when_available():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 6, size=50).astype(float), rng.integers(0, 4, size=50).astype(float)
    assert script.spearman_correlation(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)


def test_spearman_bad_average_and_scores_are_rejected(spearman_metric):
    with pytest.raises(ValueError, match=r"average='median'; pass 'mean' or 'fisher'"):
        spearman_metric.compute(predictions=[1.0, 2.0], references=[1, 2], groups=["a", "a"], average="median")
    with pytest.raises(ValueError, match=r"predictions\[1\].*not finite"):
        script.spearman_by_group([1.0, float("inf")], [1.0, 2.0], groups=["a", "a"])


@pytest.mark.parametrize(
    "groups, message",
    [("abab", r"groups = 'abab' is not a list of names"), (None, r"groups = None is not a list"),
     ([["a", "b"], ["a", "b"]], r"is not a list of names"), (["a", "a"], r"groups has 2 names for 4 rows")],
)  # fmt: skip
def test_spearman_groups_must_name_each_row(groups, message):
    with pytest.raises(ValueError, match=message):
        script.spearman_by_group([1.0, 2.0, 3.0, 4.0], [1, 2, 3, 4], groups=groups)
