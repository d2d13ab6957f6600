"""The quickstart's evaluation: score the held-out pairs, `editreward_accuracy` overall, per edit family and per kind
of rejected edit, and each dimension's estimated score per kind of edit beside the human score."""

EVAL_BATCH_PAIRS = 16
GROUP_KEYS = ("accuracy_without_ties", "num_pairs", "num_human_ties")  # group metrics kept besides accuracy


def score_pairs(model, processor, split, batch_pairs: int = EVAL_BATCH_PAIRS):
    """Scores of every pair's chosen and rejected edit, as `editreward.EditScores` in the order chosen, rejected,
    chosen, rejected, ...; both edits of a pair share one batch (and source)."""
    from ..modeling_editreward import EditRewardScorer

    scorer = EditRewardScorer(model, processor, batch_size=2 * batch_pairs, dtype="float32")
    rows = split.select_columns(["source", "instruction", "chosen", "rejected"])
    sources, instructions, edits = [], [], []
    for row in rows:
        sources += [row["source"]] * 2
        instructions += [row["instruction"]] * 2
        edits += [row["chosen"], row["rejected"]]
    return scorer(sources, instructions, edits)


def human_scale_center(recipe: dict) -> float | None:
    """What to add to mu for each dimension's 1-4 human score: the midpoint under the pointwise loss, which regresses
    on it; None under a pairwise loss, whose scores have no fixed scale."""
    from ..trainer.losses import DIMENSION_SCORE_MIDPOINT

    return DIMENSION_SCORE_MIDPOINT if recipe["loss"] == "pointwise" else None


def scores_by_kind(split, scores, center: float | None) -> dict:
    """Each dimension's estimated score (mu + ``center``) per kind of edited image (right, degraded, wrong_edit, ...),
    beside the human score: {kind: {dimension: {"mean", "std", "human", "edits"}}}, the kinds with the best human
    scores first. ``scores`` as `score_pairs` returns them; every pair counts both its edits. ``center`` None (a
    pairwise loss, see `human_scale_center`) leaves mu as it is."""
    import numpy as np

    kinds = np.array([kind for row in zip(split["chosen_kind"], split["rejection"]) for kind in row])
    human = np.array([s for row in zip(split["chosen_scores"], split["rejected_scores"]) for s in row], dtype=float)
    estimate = np.asarray(scores.mu, dtype=float) + (center or 0.0)
    result = {}
    for kind in sorted(set(kinds.tolist()), key=lambda kind: (-human[kinds == kind].sum(1).mean(), kind)):
        edits = kinds == kind
        result[kind] = {
            dimension: {"mean": float(estimate[edits, j].mean()), "std": float(estimate[edits, j].std()),
                        "human": float(human[edits, j].mean()), "edits": int(edits.sum())}
            for j, dimension in enumerate(scores.dimensions)
        }  # fmt: skip
    return result


def evaluate_pairs(split, chosen, rejected) -> dict:
    """`editreward_accuracy` (pairwise) overall, per edit family and per kind of rejected edit.

    Each pair is given as [score of chosen, score of rejected] with reference "A>B", or "A=B" for an overall tie.
    The tie threshold is calibrated once, on the whole split; each group is scored at that threshold (its `accuracy`
    is the metric's `accuracy_at_threshold`), so the groups' correct pairs add up to the overall row's. Groups keep
    only the metrics that do not depend on a threshold of their own (`GROUP_KEYS`).
    """
    from ..evaluate_metrics import load_metric

    metric = load_metric("pairwise")
    references = ["A=B" if tie else "A>B" for tie in split["tie"]]
    predictions = [[float(a), float(b)] for a, b in zip(chosen, rejected)]

    def compute(indices, **options):
        result = metric.compute(predictions=[predictions[i] for i in indices],
                                references=[references[i] for i in indices], **options)
        return {key: (float(v) if isinstance(v, float) else v) for key, v in result.items()}

    overall = compute(range(len(references)), bootstrap_samples=1000)

    def groups(column):
        values = split[column]
        results = {}
        for name in sorted(set(values)):
            group = compute([i for i, v in enumerate(values) if v == name], bootstrap_samples=0,
                            tie_threshold=overall["epsilon"])  # fmt: skip
            results[name] = {"accuracy": group["accuracy_at_threshold"], "epsilon": overall["epsilon"],
                             **{key: group[key] for key in GROUP_KEYS}}  # fmt: skip
        return results

    return {"overall": overall, "by_family": groups("family"), "by_rejection": groups("rejection")}
