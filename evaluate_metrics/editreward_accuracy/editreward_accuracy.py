# Copyright 2025 The editreward authors. Licensed under the Apache License, Version 2.0.
"""Agreement of image-edit reward scores with human judgements: tie-calibrated pairwise accuracy, strict group
accuracy (EditReward-Bench) and per-model Spearman correlation (ImagenHub).

This file is an `evaluate` module script: evaluate copies it alone, so it imports only numpy, datasets and evaluate.
"""

import datasets
import evaluate
import numpy as np

_CITATION = """\
@article{wu2025editreward,
  title   = {EditReward: A Human-Aligned Reward Model for Instruction-Guided Image Editing},
  author  = {Wu, Keming and others},
  journal = {arXiv preprint arXiv:2509.26346},
  year    = {2025}
}
@inproceedings{deutsch2023ties,
  title     = {Ties Matter: Meta-Evaluating Modern Metrics with Pairwise Accuracy and Tie Calibration},
  author    = {Deutsch, Daniel and Foster, George and Freitag, Markus},
  booktitle = {Proceedings of EMNLP 2023},
  year      = {2023},
  note      = {arXiv:2305.14324}
}
"""

_DESCRIPTION = """\
How well a reward model's scores agree with human judgements of instruction-guided image edits. Three configs:

- "pairwise" (default; GenAI-Bench, AURORA-Bench): tie-calibrated pairwise accuracy (Deutsch et al., 2023). With
  m = score_A - score_B the model predicts a tie when |m| <= eps, and
  acc(eps) = (C + T_hm) / (C + D + T_h + T_m + T_hm): concordant pairs plus pairs tied by both, over all pairs.
  `accuracy` is the maximum over every distinct threshold, including "no predicted ties" (reported as epsilon = -1.0);
  pairs with equal |m| switch to "tie" together. Also reports the plain accuracy over human non-tie pairs, the counts,
  the accuracy at a fixed `tie_threshold` (fit eps on a dev split, apply it to test) and a bootstrap 95% interval.
- "group" (EditReward-Bench): each example is a group of K candidates and a human ranking such as "A>C>B" or "A>B=C".
  A group is correct only if all its C(K,2) comparisons are right, as in the official evaluation: a human-tied
  comparison is right when |m| <= eps*, a strict one when the sign of m agrees (no eps check; m = 0 is wrong, where
  the official code ranks equal scores later letter first, so it counts a K=2 "B>A" pair with m = 0 right, and
  likewise at K=3 and K=4).
  eps* is calibrated by the pairwise sweep on the comparisons of the K=2 groups only (or given as `tie_threshold`).
- "spearman" (ImagenHub): Spearman correlation between scores and human ratings within each editing model (`groups`),
  averaged over the models (plain mean or Fisher-z mean).
"""

_KWARGS_DESCRIPTION = """
Args (config "pairwise", the default):
    predictions (`list` of `[float, float]`): [score_A, score_B] for each pair.
    references (`list` of `str` or `int`): the human verdict per pair. Accepted, case included: "A>B", 1, "1",
        "leftvote" (A wins); "B>A", -1, "-1", "rightvote" (B wins); "A=B", 0, "0", "tievote", "bothbad_vote" (tie:
        both tie kinds are one class). Numbers are read as floats and must be exactly 1, -1 or 0. Use one kind
        (strings or numbers) per call.
    tie_threshold (`float`, optional): also report `accuracy_at_threshold` at this fixed eps. A negative value means
        "never predict a tie".
    bootstrap_samples (`int`, defaults to 1000): resamples for the percentile 95% interval; 0 disables it. Each
        resample re-optimises eps, so the interval covers the calibration too. Cost: about 15 ms per resample per
        million pairs (milliseconds in all for benchmark-sized inputs).
    seed (`int`, defaults to 0): seed of the bootstrap resampling.
Returns:
    accuracy (`float`): tie-calibrated accuracy, maximised over eps.
    epsilon (`float`): the smallest eps reaching it; -1.0 means "no predicted ties" is best.
    accuracy_without_ties (`float`): accuracy over human non-tie pairs; the model must order them strictly right
        (nan when every pair is a human tie).
    num_pairs, num_human_ties (`int`).
    concordant, discordant, ties_human_only, ties_model_only, ties_both (`int`): C, D, T_h, T_m, T_hm at `epsilon`.
    accuracy_ci_low, accuracy_ci_high (`float`): bootstrap interval of `accuracy` (when bootstrap_samples > 0).
    tie_threshold, accuracy_at_threshold (`float`): when tie_threshold is given; with bootstrap_samples > 0 also
        accuracy_at_threshold_ci_low, accuracy_at_threshold_ci_high.

Args (config "group"):
    predictions (`list` of `list` of `float`): the K candidate scores of each group (K >= 2; candidates A, B, C, ...).
    references (`list` of `str`): the human ranking of each group over the capital letters A.. (K letters, each
        once), best first, with ">" between tiers and "=" inside a tier: "A>B", "B>A", "A=B", "C>A>B", "A>B=C"
        ("A=B=Good" and "A=B=Bad" read as "A=B").
    tie_threshold (`float`, optional): eps* to use instead of calibrating it on the K=2 groups.
Returns:
    accuracy (`float`): correct groups / groups. accuracy_k<K> (`float`) for every K present (e.g. accuracy_k2).
    pairwise_accuracy (`float`): correct comparisons / comparisons, under the group rule.
    epsilon (`float`): eps* (-1.0 means no predicted ties, also what is reported when there is no K=2 group).
    num_groups, correct_groups, num_comparisons, correct_comparisons, num_groups_k<K>, correct_groups_k<K> (`int`).

Args (config "spearman"):
    predictions (`list` of `float`): model scores.
    references (`list` of `float`): human ratings.
    groups (`list` of `str`): editing model of each row; pass one name for all rows for a single correlation.
    average (`str`, defaults to "mean"): "mean" of the per-group correlations or "fisher" (tanh of the mean of
        arctanh(r), with r clipped to +-0.999999).
Returns:
    spearman (`float`): the averaged correlation in [-1, 1] (papers report it x100).
    spearman_per_group (`dict`): group -> correlation (nan when undefined: fewer than 2 rows or constant values;
        such groups are left out of the average).
    num_groups (`int`).

Examples:
    Four pairs, no human ties, all ordered right:

    >>> import evaluate
    >>> metric = evaluate.load("editreward_accuracy")
    >>> results = metric.compute(predictions=[[2.0, 1.0], [0.5, 1.5], [0.3, -0.2], [-1.0, 0.0]],
    ...                          references=["A>B", "B>A", "A>B", "B>A"], bootstrap_samples=0)
    >>> print(results["accuracy"], results["epsilon"], results["accuracy_without_ties"])
    1.0 -1.0 1.0

    GenAI-Bench vote types, a calibrated threshold, and a fixed one:

    >>> results = metric.compute(predictions=[[2.0, 1.0], [1.0, 1.1], [0.0, 1.0], [1.0, 0.5]],
    ...                          references=["leftvote", "tievote", "rightvote", "bothbad_vote"],
    ...                          tie_threshold=0.2, bootstrap_samples=0)
    >>> print(results["accuracy"], results["epsilon"], results["accuracy_at_threshold"])
    1.0 0.5 0.75

    EditReward-Bench groups of 2 and 3 candidates. eps* = 0.25 comes from the K=2 groups; the first K=3 group is
    ordered right, so it counts although its B-C margin (0.1) is below eps*; the second puts C below A:

    >>> group_metric = evaluate.load("editreward_accuracy", "group")
    >>> results = group_metric.compute(predictions=[[0.9, 0.1], [1.0, 0.75], [0.8, 0.2, 0.1], [0.2, 0.8, 0.1]],
    ...                                references=["A>B", "A=B", "A>B>C", "B>C>A"])
    >>> print(results["accuracy"], results["accuracy_k2"], results["accuracy_k3"], results["epsilon"])
    0.75 1.0 0.5 0.25

    ImagenHub-style Spearman per editing model:

    >>> spearman_metric = evaluate.load("editreward_accuracy", "spearman")
    >>> results = spearman_metric.compute(predictions=[0.1, 0.4, 0.3, 2.0, 1.0, 3.0],
    ...                                   references=[1, 3, 2, 1, 2, 3], groups=["edit-a"] * 3 + ["edit-b"] * 3)
    >>> print(results["spearman"], results["spearman_per_group"])
    0.75 {'edit-a': 1.0, 'edit-b': 0.5}
"""

NO_TIES = -1.0  # reported epsilon when the best rule predicts no ties; any negative eps means the same

# The vocabulary of human verdicts, its one home (the package's benchmark adapters derive theirs from it). Words are
# matched exactly as the benchmarks publish them: capital letters, lower-case GenAI-Bench votes, "=Good" / "=Bad".
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
PAIR_VERDICTS = {1: "A>B", -1: "B>A", 0: "A=B"}  # sign of the human preference -> its pairwise label
GENAI_VOTES = {"leftvote": 1, "rightvote": -1, "tievote": 0, "bothbad_vote": 0}  # both tie kinds are one class
PAIRWISE_LABELS = {
    **{label: sign for sign, label in PAIR_VERDICTS.items()}, **{str(sign): sign for sign in PAIR_VERDICTS},
    **GENAI_VOTES,
}  # fmt: skip
TIE_SUFFIXES = ("=Good", "=Bad")  # "A=B=Good", "A=B=Bad": GenAI-Bench's two tie kinds, read as "A=B"
CONFIG_KWARGS = {
    "pairwise": ("tie_threshold", "bootstrap_samples", "seed"),
    "group": ("tie_threshold",),
    "spearman": ("groups", "average"),
}


# ---------------------------------------------------------------------------------------------------------------
# Input checks and conversions
# ---------------------------------------------------------------------------------------------------------------


def check_finite(scores, name):
    """Scores as float64; raise on non-numbers or on the first NaN/inf, naming its index."""
    try:
        scores = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} holds something that is not a number ({error}); pass float scores.") from None
    bad_rows = np.flatnonzero(~np.isfinite(scores.reshape(len(scores), -1)).all(axis=1))
    if bad_rows.size:
        index = int(bad_rows[0])
        raise ValueError(
            f"{name}[{index}] = {scores[index].tolist()} is not finite ({bad_rows.size} non-finite in total); "
            "scores must be finite numbers: drop or re-score them."
        )
    return scores


def describe_bad_pair(predictions):
    """The error for the first row of predictions that is not a pair of numbers."""
    for index, row in enumerate(predictions):
        if np.ndim(row) != 1 or len(row) != 2:
            found = f"has {len(row)} scores" if np.ndim(row) == 1 else f"is {row!r}"
            return ValueError(
                f"predictions[{index}] {found}; the 'pairwise' config takes [score_A, score_B] per pair "
                "(use the 'group' config for groups of K candidates)."
            )
        try:
            np.asarray(row, dtype=np.float64)
        except (TypeError, ValueError):
            return ValueError(f"predictions[{index}] = {row!r} holds non-numbers; pass two float scores per pair.")
    return ValueError("predictions must be a list of [score_A, score_B] pairs of floats.")


def pair_scores_to_margins(predictions):
    """[[score_A, score_B], ...] -> m = score_A - score_B, with a clear error for any row that is not a pair."""
    try:
        scores = np.asarray(predictions, dtype=np.float64)
    except (TypeError, ValueError):  # ragged or non-numeric rows
        raise describe_bad_pair(predictions) from None
    if scores.ndim != 2 or scores.shape[1] != 2:
        raise describe_bad_pair(predictions)
    scores = check_finite(scores, "predictions")
    return scores[:, 0] - scores[:, 1]


def is_bad_reference(value):
    """A boolean, None or NaN (Python or numpy): not a pairwise verdict."""
    return (value is None or isinstance(value, (bool, np.bool_))
            or (isinstance(value, (float, np.floating)) and np.isnan(value)))  # fmt: skip


def bad_reference_indices(references, values):
    """Indices of boolean, None and NaN verdicts. The element types (the dtype of an array, the set of types of a
    list, gathered at C speed) and np.isnan on floats rule them out first; only when a bool or None may be there,
    or a float among strings, is each element looked at in Python."""
    if isinstance(references, np.ndarray) and values.dtype != object:
        types = {values.dtype.type}
    else:
        types = set(map(type, references))
    if not any(issubclass(kind, (bool, np.bool_, type(None))) for kind in types):
        if not any(issubclass(kind, (float, np.floating)) for kind in types):
            return []
        if values.dtype.kind == "f":  # numbers only, so NaN is the one bad value left
            return np.flatnonzero(np.isnan(values))
    return [index for index, value in enumerate(references) if is_bad_reference(value)]


def check_references(references, values):
    """Refuse boolean and missing (None, NaN) verdicts, naming the first one."""
    bad = bad_reference_indices(references, values)
    if len(bad):
        index = int(bad[0])
        value = references[index]
        accepted = f"1 / -1 / 0 or one of {sorted(PAIRWISE_LABELS)}"
        if isinstance(value, (bool, np.bool_)):
            problem = f"is a boolean, which cannot say which edit won or whether it is a tie; pass {accepted}"
        else:
            problem = f"is missing ({len(bad)} in total); drop those pairs, or give each a verdict: {accepted}"
        raise ValueError(f"references[{index}] = {value!r} {problem}.")


def human_preferences(references):
    """Human verdicts (strings or numbers) -> int8 array of +1 (A wins), -1 (B wins), 0 (tie)."""
    values = np.asarray(references)
    check_references(references, values)
    if values.dtype.kind in "iuf":
        keys = np.where(values == 0, 0.0, values.astype(np.float64))  # -0.0 reads as 0
        lookup = {1.0: 1, -1.0: -1, 0.0: 0}
    else:
        keys = np.char.strip(values.astype(str))
        lookup = PAIRWISE_LABELS
    uniques, inverse = np.unique(keys, return_inverse=True)
    for unique in uniques.tolist():
        if unique not in lookup:
            index = int(np.flatnonzero(keys == unique)[0])
            raise ValueError(
                f"references[{index}] = {references[index]!r} is not a known pairwise label; accepted: "
                f"{sorted(PAIRWISE_LABELS)} or the numbers 1, -1, 0."
            )
    return np.array([lookup[u] for u in uniques.tolist()], dtype=np.int8)[inverse.reshape(-1)]


def check_threshold(tie_threshold):
    """A fixed eps must be a finite number (negative means no predicted ties)."""
    if isinstance(tie_threshold, bool) or not np.isfinite(np.float64(tie_threshold)):
        raise ValueError(f"tie_threshold={tie_threshold!r}; pass a finite float (a negative value means no ties).")
    return float(tie_threshold)


def check_same_length(predictions, references):
    if len(predictions) != len(references):
        raise ValueError(
            f"{len(predictions)} predictions but {len(references)} references; pass one reference per prediction."
        )
    if len(predictions) == 0:
        raise ValueError("predictions is empty; pass at least one example.")


# ---------------------------------------------------------------------------------------------------------------
# Pairwise: tie-calibrated accuracy
# ---------------------------------------------------------------------------------------------------------------


def correct_at_threshold(margins, human, eps):
    """Per pair: right under the rule "tie when |m| <= eps, else the sign of m" (m == 0 outside a tie is wrong)."""
    model_tie = np.abs(margins) <= eps
    return np.where(model_tie, human == 0, (human != 0) & (np.sign(margins) == human))


def confusion_counts(margins, human, eps):
    """C, D, T_h, T_m, T_hm of Deutsch et al. (2023) at threshold eps."""
    model_tie, human_tie = np.abs(margins) <= eps, human == 0
    concordant = int(np.count_nonzero(~model_tie & (np.sign(margins) == human) & ~human_tie))
    return {
        "concordant": concordant,
        "discordant": int(np.count_nonzero(~model_tie & ~human_tie)) - concordant,
        "ties_human_only": int(np.count_nonzero(human_tie & ~model_tie)),
        "ties_model_only": int(np.count_nonzero(model_tie & ~human_tie)),
        "ties_both": int(np.count_nonzero(model_tie & human_tie)),
    }


def sweep_terms(margins, human):
    """Sort pairs by |m| once; what each pair adds to the correct count when it turns into a predicted tie.

    Returns (order, untied_correct, tie_gain, thresholds, group_ends). order sorts the pairs by |m| (stable); in that
    order untied_correct[i] is 1 for a concordant pair and tie_gain[i] is +1 for a human tie (T_h -> T_hm), -1 for a
    concordant pair (C -> T_m), 0 for a discordant one; group_ends indexes the last pair of each distinct |m| and
    thresholds holds those |m| values, ascending.
    """
    abs_margins = np.abs(margins)
    order = np.argsort(abs_margins, kind="stable")
    sorted_abs, sorted_human = abs_margins[order], human[order]
    untied_correct = ((sorted_human != 0) & (np.sign(margins[order]) == sorted_human)).astype(np.int64)
    tie_gain = (sorted_human == 0).astype(np.int64) - untied_correct
    group_ends = np.flatnonzero(np.append(sorted_abs[1:] != sorted_abs[:-1], True))
    return order, untied_correct, tie_gain, sorted_abs[group_ends], group_ends


def correct_per_candidate(untied_correct, tie_gain, group_ends):
    """Correct pairs for each candidate eps: [no ties, then each distinct |m| ascending]. O(n)."""
    no_ties = untied_correct.sum()
    return np.concatenate([[no_ties], no_ties + np.cumsum(tie_gain)[group_ends]])


def tie_calibrated_sweep(margins, human):
    """Best tie-calibrated accuracy over all thresholds and the smallest eps reaching it. O(n log n)."""
    _, untied_correct, tie_gain, thresholds, group_ends = sweep_terms(margins, human)
    correct = correct_per_candidate(untied_correct, tie_gain, group_ends)
    best = int(np.argmax(correct))  # first maximum: the fewest predicted ties
    epsilon = NO_TIES if best == 0 else float(thresholds[best - 1])
    return float(correct[best]) / len(margins), epsilon


def bootstrap_resample_weights(rng, num_rows, num_items):
    """Multinomial resample counts, one row per resample: how often each item is drawn (n draws per row)."""
    draws = rng.integers(0, num_items, size=(num_rows, num_items))
    draws += (np.arange(num_rows) * num_items)[:, None]
    return np.bincount(draws.ravel(), minlength=num_rows * num_items).reshape(num_rows, num_items)


def resampled_best_correct(weights, untied_correct, tie_gain, group_ends):
    """Best correct count of each resample over all thresholds; weights[r, i] counts pair i (in |m| order) in r."""
    no_ties = weights @ untied_correct
    with_ties = no_ties[:, None] + np.cumsum(weights * tie_gain, axis=1)[:, group_ends]
    return np.maximum(no_ties, with_ties.max(axis=1))


def bootstrap_accuracies(margins, human, bootstrap_samples, seed, tie_threshold=None):
    """Resampled tie-calibrated accuracies (eps re-optimised per resample) and, if given, fixed-eps accuracies.

    Pairs are sorted by |m| once and a resample is a vector of draw counts over them, so its sweep is a weighted
    cumulative sum: O(n) per resample (about 15 ms per million pairs), in chunks of about 4M numbers.
    """
    order, untied_correct, tie_gain, _, group_ends = sweep_terms(margins, human)
    fixed_correct = None
    if tie_threshold is not None:
        fixed_correct = correct_at_threshold(margins, human, tie_threshold)[order].astype(np.int64)
    rng, n = np.random.default_rng(seed), len(margins)
    calibrated, fixed = [], []
    chunk = max(1, 4_000_000 // n)
    for start in range(0, bootstrap_samples, chunk):
        weights = bootstrap_resample_weights(rng, min(chunk, bootstrap_samples - start), n)
        calibrated.append(resampled_best_correct(weights, untied_correct, tie_gain, group_ends) / n)
        if fixed_correct is not None:
            fixed.append(weights @ fixed_correct / n)
    return np.concatenate(calibrated), (np.concatenate(fixed) if fixed else None)


def percentile_interval(values, prefix):
    low, high = np.percentile(values, [2.5, 97.5])
    return {f"{prefix}_ci_low": float(low), f"{prefix}_ci_high": float(high)}


def pairwise_accuracy(predictions, references, tie_threshold=None, bootstrap_samples=1000, seed=0):
    """The "pairwise" config on plain Python/numpy inputs (see the module docstring for the keys)."""
    check_same_length(predictions, references)
    if isinstance(bootstrap_samples, bool) or int(bootstrap_samples) != bootstrap_samples or bootstrap_samples < 0:
        raise ValueError(f"bootstrap_samples={bootstrap_samples!r}; pass an integer >= 0 (0 disables the interval).")
    margins, human = pair_scores_to_margins(predictions), human_preferences(references)
    accuracy, epsilon = tie_calibrated_sweep(margins, human)
    non_ties = human != 0
    results = {
        "accuracy": accuracy,
        "epsilon": epsilon,
        "accuracy_without_ties": (
            float(np.mean(np.sign(margins[non_ties]) == human[non_ties])) if non_ties.any() else float("nan")
        ),
        "num_pairs": len(margins),
        "num_human_ties": int(np.count_nonzero(~non_ties)),
        **confusion_counts(margins, human, epsilon),
    }
    if tie_threshold is not None:
        tie_threshold = check_threshold(tie_threshold)
        results["tie_threshold"] = tie_threshold
        results["accuracy_at_threshold"] = float(np.mean(correct_at_threshold(margins, human, tie_threshold)))
    if bootstrap_samples > 0:
        calibrated, fixed = bootstrap_accuracies(margins, human, int(bootstrap_samples), seed, tie_threshold)
        results.update(percentile_interval(calibrated, "accuracy"))
        if fixed is not None:
            results.update(percentile_interval(fixed, "accuracy_at_threshold"))
    return results


# ---------------------------------------------------------------------------------------------------------------
# Group: strict accuracy over all comparisons of a group
# ---------------------------------------------------------------------------------------------------------------


def parse_ranking(ranking, where="ranking", letters=LETTERS):
    """'C>A=B' -> {letter: tier} ({'C': 0, 'A': 1, 'B': 1}, 0 = best): ">" between tiers, "=" inside one, spaces
    ignored, a final "=Good" / "=Bad" read as a plain tie. The grammar of every ranking, complete (the "group"
    config) or partial (one benchmark row); raises naming `where` on a letter outside `letters` or named twice."""
    allowed = "capital letters A-Z" if "".join(letters) == LETTERS else f"candidates {', '.join(letters)}"
    fix = f"write {allowed}, each once, best first, with '>' between tiers and '=' inside one, e.g. 'B>A=C'"
    text = str(ranking).replace(" ", "")
    for suffix in TIE_SUFFIXES:
        text = text.removesuffix(suffix)
    tiers = {}
    for tier, block in enumerate(text.split(">")):
        for letter in block.split("="):
            if not letter:
                raise ValueError(f"{where} = {ranking!r} has an empty place between two signs; {fix}.")
            if letter not in letters:
                raise ValueError(f"{where} = {ranking!r} contains {letter!r}; {fix}.")
            if letter in tiers:
                raise ValueError(f"{where} = {ranking!r} names {letter!r} twice; {fix}.")
            tiers[letter] = tier
    return tiers


def ranking_tiers(ranking, num_candidates, index):
    """'A>B=C' -> tier of each candidate [0, 1, 1] (0 = best); the letters must be A.. once each."""
    expected = list(LETTERS[:num_candidates])
    tiers = parse_ranking(ranking, f"references[{index}]", expected)
    if len(tiers) != num_candidates:
        raise ValueError(
            f"references[{index}] = {ranking!r} ranks {len(tiers)} candidates but predictions[{index}] has "
            f"{num_candidates} scores; rank each of {', '.join(expected)} once, e.g. {'>'.join(expected)}."
        )
    return np.array([tiers[letter] for letter in expected])


def group_comparisons(predictions, references):
    """Every within-group comparison (i < j): margins s_i - s_j, human +1/-1/0, group index; and the group sizes."""
    margins, human, group_index, sizes = [], [], [], []
    for index, (scores, ranking) in enumerate(zip(predictions, references)):
        if np.ndim(scores) != 1:
            raise ValueError(
                f"predictions[{index}] = {scores!r} is not a list of scores; the 'group' config takes the K scores "
                "of each group, e.g. [[0.9, 0.1], [0.2, 0.8, 0.1]]."
            )
        if not 2 <= len(scores) <= len(LETTERS):
            raise ValueError(
                f"predictions[{index}] has {len(scores)} scores; a group needs 2 to {len(LETTERS)} candidates "
                "(one score per candidate A, B, ...)."
            )
        scores = check_finite(scores, f"predictions[{index}]")
        tiers = ranking_tiers(ranking, len(scores), index)
        first, second = np.triu_indices(len(scores), k=1)
        margins.append(scores[first] - scores[second])
        human.append(np.sign(tiers[second] - tiers[first]))
        group_index.append(np.full(len(first), index))
        sizes.append(len(scores))
    return np.concatenate(margins), np.concatenate(human), np.concatenate(group_index), np.array(sizes)


def group_accuracy(predictions, references, tie_threshold=None):
    """The "group" config on plain Python/numpy inputs (see the module docstring for the keys).

    The official EditReward-Bench rule: eps* is calibrated on the K=2 groups' comparisons (-1.0, no predicted
    ties, when there are none); a human tie is right when |m| <= eps*, a strict preference when sign(m) agrees.
    Two differences from the official script: it counts human ties inside K>=3 rankings always wrong (here they
    follow the same rule), and it breaks equal scores by argsort order, later letter first (argsort([x, x])[::-1] is
    (1, 0)), so it counts a strict K=2 "B>A" pair with m = 0 right, and at K=3 and K=4 a strict comparison of equal
    scores when the later letter is preferred. Here m = 0 on a strict comparison is wrong at every K.
    """
    check_same_length(predictions, references)
    margins, human, group_index, sizes = group_comparisons(predictions, references)
    if tie_threshold is not None:
        epsilon = check_threshold(tie_threshold)
    else:
        in_pairs = sizes[group_index] == 2
        epsilon = tie_calibrated_sweep(margins[in_pairs], human[in_pairs])[1] if in_pairs.any() else NO_TIES
    correct = np.where(human == 0, np.abs(margins) <= epsilon, np.sign(margins) == human)
    group_correct = np.bincount(group_index, weights=(~correct).astype(np.float64), minlength=len(sizes)) == 0
    results = {
        "accuracy": float(np.mean(group_correct)),
        "pairwise_accuracy": float(np.mean(correct)),
        "epsilon": epsilon,
        "num_groups": len(sizes),
        "correct_groups": int(np.count_nonzero(group_correct)),
        "num_comparisons": len(margins),
        "correct_comparisons": int(np.count_nonzero(correct)),
    }
    for k in np.unique(sizes).tolist():
        of_size_k = sizes == k
        results[f"accuracy_k{k}"] = float(np.mean(group_correct[of_size_k]))
        results[f"num_groups_k{k}"] = int(np.count_nonzero(of_size_k))
        results[f"correct_groups_k{k}"] = int(np.count_nonzero(group_correct[of_size_k]))
    return results


# ---------------------------------------------------------------------------------------------------------------
# Spearman per group
# ---------------------------------------------------------------------------------------------------------------


def average_ranks(values):
    """1-based ranks; tied values share the mean of their ranks."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    last_rank = np.cumsum(counts)
    return (last_rank - (counts - 1) / 2.0)[inverse.reshape(-1)]


def spearman_correlation(x, y):
    """Pearson correlation of the average ranks; nan when undefined (fewer than 2 rows or a constant side)."""
    if len(x) < 2:
        return float("nan")
    rank_x, rank_y = average_ranks(x), average_ranks(y)
    rank_x, rank_y = rank_x - rank_x.mean(), rank_y - rank_y.mean()
    denominator = np.sqrt(np.sum(rank_x**2) * np.sum(rank_y**2))
    return float(np.sum(rank_x * rank_y) / denominator) if denominator > 0 else float("nan")


def spearman_by_group(predictions, references, groups, average="mean"):
    """The "spearman" config on plain Python/numpy inputs (see the module docstring for the keys)."""
    check_same_length(predictions, references)
    if isinstance(groups, (str, bytes)) or np.ndim(groups) != 1:
        raise ValueError(
            f"groups = {groups!r:.60} is not a list of names; pass the editing model of every row, e.g. "
            "['model-a', 'model-a', 'model-b']."
        )
    if len(groups) != len(predictions):
        raise ValueError(f"groups has {len(groups)} names for {len(predictions)} rows; name the model of every row.")
    if average not in ("mean", "fisher"):
        raise ValueError(f"average={average!r}; pass 'mean' or 'fisher'.")
    scores, ratings = check_finite(predictions, "predictions"), check_finite(references, "references")
    names = np.asarray(groups, dtype=str)
    per_group = {}
    for name in dict.fromkeys(names.tolist()):  # first-appearance order
        rows = names == name
        per_group[name] = spearman_correlation(scores[rows], ratings[rows])
    defined = np.array([r for r in per_group.values() if not np.isnan(r)])
    if defined.size == 0:
        spearman = float("nan")
    elif average == "fisher":
        spearman = float(np.tanh(np.mean(np.arctanh(np.clip(defined, -0.999999, 0.999999)))))
    else:
        spearman = float(np.mean(defined))
    return {"spearman": spearman, "spearman_per_group": per_group, "num_groups": len(per_group)}


# ---------------------------------------------------------------------------------------------------------------
# The evaluate module
# ---------------------------------------------------------------------------------------------------------------


def config_features(config):
    """Typed inputs per config; pairwise takes string or numeric verdicts (two alternative schemas)."""
    pair_scores = datasets.Sequence(datasets.Value("float64"))
    if config == "pairwise":
        return [
            datasets.Features({"predictions": pair_scores, "references": datasets.Value("string")}),
            datasets.Features({"predictions": pair_scores, "references": datasets.Value("float64")}),
        ]
    if config == "group":
        return datasets.Features({"predictions": pair_scores, "references": datasets.Value("string")})
    return datasets.Features(
        {
            "predictions": datasets.Value("float64"),
            "references": datasets.Value("float64"),
            "groups": datasets.Value("string"),
        }
    )


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EditrewardAccuracy(evaluate.Metric):
    """Tie-calibrated pairwise, strict group and per-model Spearman agreement with human judgements."""

    def _config(self):
        config = "pairwise" if self.config_name == "default" else self.config_name
        if config not in CONFIG_KWARGS:
            raise ValueError(f"Unknown config {self.config_name!r}; choose one of {list(CONFIG_KWARGS)}.")
        return config

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=config_features(self._config()),
            reference_urls=["https://arxiv.org/abs/2509.26346", "https://arxiv.org/abs/2305.14324"],
        )

    def add_batch(self, *, predictions=None, references=None, **kwargs):
        """Add a batch; pairwise verdicts are checked first, because evaluate would cast booleans to floats. An empty
        batch is refused here (evaluate itself fails on it with an IndexError)."""
        if predictions is not None and len(predictions) == 0:
            raise ValueError("predictions is empty; pass at least one example.")
        if self._config() == "pairwise" and references is not None:
            check_references(references, np.asarray(references))
        return super().add_batch(predictions=predictions, references=references, **kwargs)

    def add(self, *, prediction=None, reference=None, **kwargs):
        """Add one example; a pairwise verdict is checked first, as in `add_batch`."""
        if self._config() == "pairwise" and reference is not None:
            check_references([reference], np.asarray([reference]))
        return super().add(prediction=prediction, reference=reference, **kwargs)

    def _compute(self, predictions, references, **kwargs):
        config = self._config()
        unexpected = sorted(set(kwargs) - set(CONFIG_KWARGS[config]))
        if unexpected:
            raise ValueError(
                f"The {config!r} config does not take {unexpected}; it accepts {list(CONFIG_KWARGS[config])}."
            )
        compute = {"pairwise": pairwise_accuracy, "group": group_accuracy, "spearman": spearman_by_group}[config]
        return compute(predictions, references, **kwargs)
