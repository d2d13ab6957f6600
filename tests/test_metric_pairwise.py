"""The "pairwise" config of editreward_accuracy: tie-calibrated accuracy (Deutsch et al., 2023) and its bootstrap."""

import os
import time

import numpy as np
import pytest

from editreward.evaluate_metrics import load_metric_script


script = load_metric_script()


@pytest.fixture
def metric(tmp_path):
    return script.EditrewardAccuracy(keep_in_memory=True, cache_dir=os.fspath(tmp_path / "metrics"))


def brute_force_sweep(margins, human):
    """Ties Matter by the definition: try eps below every |m| and at every distinct |m|; keep the smallest best."""
    best_accuracy, best_eps = -1.0, None
    for eps in [-1.0] + sorted({abs(m) for m in margins}):
        c = d = t_h = t_m = t_hm = 0
        for m, h in zip(margins, human):
            model_tie = abs(m) <= eps
            if h == 0:
                t_hm, t_h = t_hm + model_tie, t_h + (not model_tie)
            elif model_tie:
                t_m += 1
            elif (m > 0 and h > 0) or (m < 0 and h < 0):
                c += 1
            else:
                d += 1
        accuracy = (c + t_hm) / (c + d + t_h + t_m + t_hm)
        if accuracy > best_accuracy:
            best_accuracy, best_eps = accuracy, eps
    return best_accuracy, best_eps


def random_pairs(seed, n, grid, tie_band=0.4):
    """Scores on a grid (exact ties and duplicate |m|) or continuous; human verdicts loosely follow the margin."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 7, size=(n, 2)) / 2.0 if grid else rng.normal(size=(n, 2))
    noisy = scores[:, 0] - scores[:, 1] + rng.normal(scale=1.0, size=n)
    human = np.where(np.abs(noisy) < tie_band, 0, np.sign(noisy)).astype(int)
    return scores, human


@pytest.mark.parametrize("tie_band", [0.4, 0.05], ids=["many-human-ties", "few-human-ties"])
@pytest.mark.parametrize("grid", [True, False], ids=["grid-scores", "continuous-scores"])
@pytest.mark.parametrize("seed", range(3))
def test_sweep_matches_brute_force(seed, grid, tie_band):
    scores, human = random_pairs(seed, n=300, grid=grid, tie_band=tie_band)
    margins = scores[:, 0] - scores[:, 1]
    assert script.tie_calibrated_sweep(margins, human) == brute_force_sweep(margins.tolist(), human.tolist())


def test_all_pairs_ordered_right_without_human_ties_is_perfect(metric):
    results = metric.compute(
        predictions=[[2.0, 1.0], [0.5, 1.5], [0.3, -0.2], [-1.0, 0.0]],
        references=["A>B", "B>A", "A>B", "B>A"],
        bootstrap_samples=0,
    )
    assert results["accuracy"] == 1.0
    assert results["accuracy_without_ties"] == 1.0
    assert results["epsilon"] == script.NO_TIES
    assert (results["concordant"], results["discordant"], results["num_human_ties"]) == (4, 0, 0)


def test_no_predicted_ties_is_a_candidate_even_with_zero_margins(metric):
    # eps = 0 would turn the zero-margin pair into a tie; it is wrong either way, so "no ties" (-1.0) is chosen.
    results = metric.compute(
        predictions=[[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], references=["A>B", "B>A", "A>B"], bootstrap_samples=0
    )
    assert results["accuracy"] == pytest.approx(2 / 3)
    assert results["epsilon"] == -1.0
    assert (results["concordant"], results["discordant"], results["ties_model_only"]) == (2, 1, 0)


def test_equal_margins_turn_into_ties_together(metric):
    # Tying only the human tie at |m| = 0.5 would score 3/3, but no threshold separates it from the other two pairs.
    results = metric.compute(
        predictions=[[1.0, 0.5], [1.0, 0.5], [0.0, 0.5]], references=["A=B", "A>B", "B>A"], bootstrap_samples=0
    )
    assert results["accuracy"] == pytest.approx(2 / 3)
    assert results["epsilon"] == -1.0


def test_calibrated_threshold_and_counts(metric):
    results = metric.compute(
        predictions=[[2.0, 1.0], [1.0, 1.1], [0.0, 1.0], [1.0, 0.5]],
        references=["leftvote", "tievote", "rightvote", "bothbad_vote"],
        bootstrap_samples=0,
    )
    assert (results["accuracy"], results["epsilon"]) == (1.0, 0.5)
    counts = [results[k] for k in ("concordant", "discordant", "ties_human_only", "ties_model_only", "ties_both")]
    assert counts == [2, 0, 0, 0, 2]
    assert (results["num_pairs"], results["num_human_ties"]) == (4, 2)


def test_accuracy_without_ties_ignores_human_ties_and_counts_zero_margins_wrong(metric):
    results = metric.compute(
        predictions=[[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [3.0, 0.0]],
        references=["A>B", "A>B", "A>B", "A=B"],
        bootstrap_samples=0,
    )
    assert results["accuracy_without_ties"] == pytest.approx(1 / 3)


def test_label_forms_give_the_same_result(metric):
    predictions = [[0.2, 0.1], [0.1, 0.9], [0.4, 0.4], [0.3, 0.2], [0.0, 0.5]]
    forms = [
        ["A>B", "B>A", "A=B", "A=B", "B>A"],
        [1, -1, 0, 0, -1],
        ["1", "-1", "0", "0", "-1"],
        ["leftvote", "rightvote", "tievote", "bothbad_vote", "rightvote"],
    ]
    results = [metric.compute(predictions=predictions, references=refs, bootstrap_samples=0) for refs in forms]
    assert all(r == results[0] for r in results)


def test_fixed_tie_threshold_is_applied_as_given(metric):
    predictions = [[2.0, 1.0], [1.0, 1.1], [0.0, 1.0], [1.0, 0.5]]
    references = ["A>B", "A=B", "B>A", "A=B"]
    at_0_2 = metric.compute(predictions=predictions, references=references, tie_threshold=0.2, bootstrap_samples=0)
    assert (at_0_2["tie_threshold"], at_0_2["accuracy_at_threshold"]) == (0.2, 0.75)
    assert at_0_2["accuracy"] == 1.0  # the oracle sweep is still reported beside it
    never = metric.compute(predictions=predictions, references=references, tie_threshold=-1.0, bootstrap_samples=0)
    assert never["accuracy_at_threshold"] == 0.5


def test_threshold_fitted_on_dev_reproduces_the_sweep_there():
    scores, human = random_pairs(seed=11, n=400, grid=True)
    margins = scores[:, 0] - scores[:, 1]
    accuracy, epsilon = script.tie_calibrated_sweep(margins, human)
    assert np.mean(script.correct_at_threshold(margins, human, epsilon)) == accuracy


def test_resampled_sweep_matches_brute_force_on_each_resample():
    scores, human = random_pairs(seed=5, n=60, grid=True)
    margins = scores[:, 0] - scores[:, 1]
    order, untied_correct, tie_gain, _, group_ends = script.sweep_terms(margins, human)
    weights = np.random.default_rng(0).multinomial(60, np.full(60, 1 / 60), size=20)
    best = script.resampled_best_correct(weights, untied_correct, tie_gain, group_ends)
    for row, best_correct in zip(weights, best):
        resample = np.repeat(order, row)
        expected, _ = brute_force_sweep(margins[resample].tolist(), human[resample].tolist())
        assert best_correct / row.sum() == pytest.approx(expected)


def test_bootstrap_interval_contains_estimate_and_is_reproducible(metric):
    scores, human = random_pairs(seed=3, n=500, grid=False)
    kwargs = dict(predictions=scores.tolist(), references=human.tolist(), tie_threshold=0.3, bootstrap_samples=300)
    first, again = metric.compute(**kwargs, seed=7), metric.compute(**kwargs, seed=7)
    assert first == again
    assert first["accuracy_ci_low"] <= first["accuracy"] <= first["accuracy_ci_high"]
    assert first["accuracy_at_threshold_ci_low"] <= first["accuracy_at_threshold"]
    assert first["accuracy_at_threshold"] <= first["accuracy_at_threshold_ci_high"]
    other_seed = metric.compute(**kwargs, seed=8)
    interval = ("accuracy_ci_low", "accuracy_ci_high")
    assert [other_seed[key] for key in interval] != [first[key] for key in interval]


def test_million_pairs_sweep_takes_well_under_ten_seconds():
    scores, human = random_pairs(seed=0, n=1_000_000, grid=False)
    start = time.perf_counter()
    accuracy, epsilon = script.tie_calibrated_sweep(scores[:, 0] - scores[:, 1], human)
    assert time.perf_counter() - start < 10.0  # about 0.15 s; a per-threshold sweep would take minutes
    assert 0.0 < accuracy < 1.0 and epsilon >= -1.0


@pytest.mark.parametrize(
    "predictions, references, kwargs, message",
    [
        ([[1.0, float("nan")], [0.0, 1.0]], ["A>B", "B>A"], {}, r"predictions\[0\].*not finite"),
        ([[1.0, 0.0], [float("inf"), 1.0]], ["A>B", "B>A"], {}, r"predictions\[1\].*not finite"),
        ([[1.0, 0.0], [0.1, 0.2, 0.3]], ["A>B", "B>A"], {}, r"predictions\[1\] has 3 scores.*'group' config"),
        ([0.3, -0.2], ["A>B", "B>A"], {}, r"predictions\[0\] is 0.3; .* \[score_A, score_B\] per pair"),
        ([[1.0, 0.0]], ["A>B", "B>A"], {}, r"1 predictions but 2 references"),
        ([], [], {}, r"empty"),
        ([[1.0, 0.0], [0.0, 1.0]], ["A>B", "A<B"], {}, r"references\[1\] = 'A<B'.*accepted.*'A=B'"),
        ([[1.0, 0.0], [0.0, 1.0]], [1, 2], {}, r"references\[1\] = 2 .*1, -1, 0"),
        ([[1.0, 0.0]], [0.5], {}, r"references\[0\] = 0.5"),
        ([[1.0, 0.0]], ["A>B"], {"tie_threshold": float("nan")}, r"tie_threshold=nan"),
        ([[1.0, 0.0]], ["A>B"], {"bootstrap_samples": -1}, r"bootstrap_samples=-1"),
    ],
)
def test_bad_inputs_name_the_problem(predictions, references, kwargs, message):
    with pytest.raises(ValueError, match=message):
        script.pairwise_accuracy(predictions, references, **kwargs)


@pytest.mark.parametrize(
    "references, message",
    [
        ([True, False], r"references\[0\] = True is a boolean.*pass 1 / -1 / 0 or one of \[.*'A=B'"),
        ([1, True], r"references\[1\] = True is a boolean"),
        (np.array([True, False]), r"references\[0\] = (np\.)?True_? is a boolean"),
        ([1, float("nan")], r"references\[1\] = nan is missing \(1 in total\)"),
        (np.array([1.0, np.nan]), r"references\[1\] = .*nan\)? is missing"),
        ([1, None], r"references\[1\] = None is missing"),
        (["A>B", None], r"references\[1\] = None is missing"),
        ([1.0, np.float32("nan")], r"references\[1\] = (np\.float32\()?nan\)? is missing"),
        (["A>B", np.float32("nan")], r"references\[1\] = (np\.float32\()?nan\)? is missing"),
        ([1, np.bool_(True)], r"references\[1\] = (np\.)?True_? is a boolean"),
        (["A>B", np.bool_(False)], r"references\[1\] = (np\.)?False_? is a boolean"),
    ],
)
def test_boolean_and_missing_labels_are_refused_naming_the_first(references, message):
    with pytest.raises(ValueError, match=message):
        script.pairwise_accuracy([[1.0, 0.0], [0.0, 1.0]], references, bootstrap_samples=0)


@pytest.mark.parametrize("references", [["A>B", "B>A"], [1, -1], [1.0, -1.0], np.array([1.0, -1.0])])
def test_valid_labels_are_checked_without_looking_at_each_one(monkeypatch, references):
    def walked(value):
        raise AssertionError("the element-by-element walk ran on labels that cannot hold a bool, None or NaN")

    monkeypatch.setattr(script, "is_bad_reference", walked)
    assert script.pairwise_accuracy([[1.0, 0.0], [0.0, 1.0]], references, bootstrap_samples=0)["accuracy"] == 1.0


@pytest.mark.parametrize(
    "references, message",
    [([True, False], r"references\[0\] = True is a boolean"), ([1, None], r"references\[1\] = None is missing")],
)
def test_boolean_and_missing_labels_are_refused_through_evaluate(metric, references, message):
    with pytest.raises(ValueError, match=message):  # evaluate would cast True/False to 1.0/0.0 (a tie)
        metric.compute(predictions=[[1.0, 0.0], [0.0, 1.0]], references=references, bootstrap_samples=0)
    with pytest.raises(ValueError, match=r"references\[0\] = False is a boolean"):
        metric.add(prediction=[1.0, 0.0], reference=False)


def test_options_of_another_config_are_rejected(metric):
    with pytest.raises(ValueError, match=r"'pairwise' config does not take \['average'\]"):
        metric.compute(predictions=[[1.0, 0.0]], references=["A>B"], average="fisher")


def test_unknown_config_lists_the_choices(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown config 'pairs'.*'pairwise', 'group', 'spearman'"):
        script.EditrewardAccuracy("pairs", keep_in_memory=True, cache_dir=os.fspath(tmp_path))


@pytest.mark.parametrize("config", ["default", "group", "spearman"])
def test_empty_inputs_through_evaluate_name_the_problem(tmp_path, config):
    """evaluate's own feature inference fails on an empty batch with an IndexError; the metric says what is wrong."""
    metric = script.EditrewardAccuracy(config_name=config, keep_in_memory=True, cache_dir=os.fspath(tmp_path))
    groups = {"groups": []} if config == "spearman" else {}
    with pytest.raises(ValueError, match="predictions is empty; pass at least one example"):
        metric.compute(predictions=[], references=[], **groups)


@pytest.mark.parametrize("ranking", ["A>>B", "A=B=", ">A", "A>B>"])
def test_a_ranking_with_an_empty_place_is_refused_by_the_adapters_parser(ranking):
    with pytest.raises(ValueError, match="has an empty place between two signs"):
        script.parse_ranking(ranking)
