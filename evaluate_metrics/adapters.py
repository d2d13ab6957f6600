"""Benchmark adapters: published rows -> the edits to score and the references of the `editreward_accuracy` metric.

One adapter per schema, and nothing else knows a schema:

- `from_genai_bench`: GenAI-Bench `image_edition` (one row per human vote on two edits of one source).
- `from_editreward_bench`: EditReward-Bench (one row per comparison; a group's K candidates and its ranking over the
  letters A.. are rebuilt from its rows).
- `from_aurora_bench`: AURORA-Bench human ratings (one row per rated edit; pairs with ties and Spearman inputs are
  derived from the ratings).
- `from_official_json`: the official code's local JSON (`prompt`, `path_src`, `path1`, `path2`, per-model scores).

An adapter reads only text and number columns; images are named by (row, column) and fetched when scored. Every
edit carries a key that is stable across runs (it names the row or the benchmark's own id), so cached scores can be
found again. `limit` keeps the first N units of the benchmark: pairs, groups, or rated source images.
"""

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

__all__ = [
    "BENCHMARKS",
    "BenchmarkSpec",
    "BenchmarkTask",
    "Edit",
    "Group",
    "Pair",
    "Rating",
    "from_aurora_bench",
    "from_editreward_bench",
    "from_genai_bench",
    "from_official_json",
    "ranking_from_comparisons",
]

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
GENAI_VOTES = ("leftvote", "rightvote", "tievote", "bothbad_vote")  # the metric reads both tie kinds as one class


@dataclass(frozen=True)
class Edit:
    """One (source, instruction, edited) triplet to score; images are (row, column) cells of the data."""

    key: str
    instruction: str
    source: tuple[int, str]
    edited: tuple[int, str]


@dataclass(frozen=True)
class Pair:
    """A human verdict on two edits: label in a form the metric's "pairwise" config accepts ("A>B", "tievote", ...)."""

    first: str
    second: str
    label: str


@dataclass(frozen=True)
class Group:
    """K candidate edits (A, B, ... in order) and the human ranking over their letters, e.g. "B>A=C"."""

    id: str
    keys: tuple[str, ...]
    ranking: str


@dataclass(frozen=True)
class Rating:
    """A pointwise human rating of one edit, and the editing model that produced it (the Spearman group)."""

    key: str
    rating: float
    editor: str


@dataclass
class BenchmarkTask:
    """What a benchmark asks: the edits to score, then the pairs, groups and/or ratings the metric compares."""

    edits: list[Edit]
    pairs: list[Pair] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    ratings: list[Rating] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------------
# Column access
# ---------------------------------------------------------------------------------------------------------------


def require_columns(dataset, columns, benchmark, fix):
    """Raise naming every missing column, the columns present, and how to fix it."""
    missing = [name for name in columns if name not in dataset.column_names]
    if missing:
        raise ValueError(
            f"{benchmark} data lacks column(s) {missing}; it has {dataset.column_names}. {fix}"
        )


def text_column(dataset, name):
    """A non-image column as a plain list (never touches image columns, so nothing is decoded)."""
    return list(dataset[name])


def apply_limit(units, limit):
    if limit is not None and limit < 1:
        raise ValueError(f"limit={limit}; pass a positive number of pairs/groups/items, or no limit.")
    return units if limit is None else units[:limit]


# ---------------------------------------------------------------------------------------------------------------
# GenAI-Bench, image_edition
# ---------------------------------------------------------------------------------------------------------------


def from_genai_bench(dataset, limit=None) -> BenchmarkTask:
    """GenAI-Bench `image_edition`: each row is a pair (left = A, right = B) with its vote as the reference.

    Edits are keyed `row<i>:A` / `row<i>:B`; the instruction is `instruct_prompt`. Votes stay as written
    (leftvote, rightvote, tievote, bothbad_vote): the metric maps them, both tie kinds to one tie class.
    """
    columns = ["instruct_prompt", "source_image", "left_output_image", "right_output_image", "vote_type"]
    require_columns(dataset, columns, "genai-bench", "Load config 'image_edition' of TIGER-Lab/GenAI-Bench.")
    instructions, votes = text_column(dataset, "instruct_prompt"), text_column(dataset, "vote_type")
    task = BenchmarkTask(edits=[])
    for row in apply_limit(range(len(votes)), limit):
        vote = str(votes[row]).strip()
        if vote not in GENAI_VOTES:
            raise ValueError(f"genai-bench row {row}: vote_type={votes[row]!r}; expected one of {list(GENAI_VOTES)}.")
        first, second = f"row{row}:A", f"row{row}:B"
        task.edits += [
            Edit(first, instructions[row], (row, "source_image"), (row, "left_output_image")),
            Edit(second, instructions[row], (row, "source_image"), (row, "right_output_image")),
        ]
        task.pairs.append(Pair(first, second, vote))
    return task


# ---------------------------------------------------------------------------------------------------------------
# EditReward-Bench
# ---------------------------------------------------------------------------------------------------------------


def comparison_letters(comparison_type, where):
    """'AvsC' -> ('A', 'C'): the group letters of candidate_1 and candidate_2."""
    match = re.fullmatch(r"\s*([A-Z])[\s_-]*vs\.?[\s_-]*([A-Z])\s*", str(comparison_type), flags=re.IGNORECASE)
    if not match or match[1].upper() == match[2].upper():
        raise ValueError(f"{where}: comparison_type={comparison_type!r}; expected two different letters as 'AvsC'.")
    return match[1].upper(), match[2].upper()


def verdict(ranking, first, second, where):
    """+1 if `first` ranks above `second` in `ranking` ("A>C", or a full ranking "C>A=B"), -1 below, 0 tied."""
    text = re.sub(r"=(Good|Bad)$", "", str(ranking).replace(" ", ""), flags=re.IGNORECASE)
    tiers = {}
    for tier, block in enumerate(text.split(">")):
        for letter in block.split("="):
            tiers.setdefault(letter.upper(), tier)
    if first not in tiers or second not in tiers:
        raise ValueError(
            f"{where}: ranking={ranking!r} does not rank {first} against {second} (the row's candidates); "
            f"expected e.g. '{first}>{second}', '{second}>{first}' or '{first}={second}'."
        )
    difference = tiers[second] - tiers[first]
    return (difference > 0) - (difference < 0)


def ranking_from_comparisons(letters, comparisons):
    """Rebuild a ranking string over `letters` from pairwise verdicts {(x, y): +1/-1/0} covering every pair.

    Letters are ordered by wins minus losses; neighbours join with "=" when tied. Returns None when no ranking
    reproduces every verdict (a cycle such as A>B, B>C, C>A).
    """

    def relation(x, y):
        return comparisons[(x, y)] if (x, y) in comparisons else -comparisons[(y, x)]

    net = {x: sum(relation(x, y) for y in letters if y != x) for x in letters}
    order = sorted(letters, key=lambda x: (-net[x], letters.index(x)))
    tiers, ranking = {order[0]: 0}, order[0]
    for previous, letter in zip(order, order[1:]):
        tied = relation(previous, letter) == 0
        tiers[letter] = tiers[previous] + (0 if tied else 1)
        ranking += ("=" if tied else ">") + letter
    consistent = all(
        relation(x, y) == (tiers[x] < tiers[y]) - (tiers[x] > tiers[y]) for x in letters for y in letters if x < y
    )
    return ranking if consistent else None


@dataclass
class _GroupRows:
    """What the rows of one EditReward-Bench group say so far."""

    instruction: str
    kind: str | None
    images: dict = field(default_factory=dict)  # letter -> (row, column)
    verdicts: dict = field(default_factory=dict)  # (x, y) with x < y -> (+1/-1/0, id, ranking, row)
    conflicts: list = field(default_factory=list)


def collect_groups(dataset):
    """Group the rows by the id part before `_`; record each candidate's image cell and each pair's verdict."""
    ids, rankings = text_column(dataset, "id"), text_column(dataset, "ranking")
    instructions = text_column(dataset, "instruction")
    types = text_column(dataset, "comparison_type") if "comparison_type" in dataset.column_names else None
    kinds = text_column(dataset, "dataset") if "dataset" in dataset.column_names else None
    groups = {}
    for row, (row_id, ranking) in enumerate(zip(ids, rankings)):
        where = f"editreward-bench row {row} (id {row_id!r})"
        group_id = str(row_id).split("_", 1)[0]
        group = groups.setdefault(group_id, _GroupRows(instructions[row], kinds[row] if kinds else None))
        if types is None and group.verdicts:
            raise ValueError(
                f"{where}: group {group_id!r} has several rows but the data has no comparison_type column naming "
                "each row's candidates ('AvsC'); load the full EditReward-Bench schema."
            )
        first, second = comparison_letters(types[row], where) if types else ("A", "B")
        group.images.setdefault(first, (row, "candidate_1"))
        group.images.setdefault(second, (row, "candidate_2"))
        value = verdict(ranking, first, second, where)
        pair, value = ((first, second), value) if first < second else ((second, first), -value)
        seen = group.verdicts.get(pair)
        if seen is None:
            group.verdicts[pair] = (value, row_id, ranking, row)
        elif seen[0] != value:
            group.conflicts.append(
                f"id {row_id!r} compares {pair[0]} and {pair[1]} twice with opposite labels "
                f"({seen[2]!r} in row {seen[3]}, {ranking!r} in row {row})"
            )
        else:
            logger.warning("editreward-bench: id %r repeats the %s-%s comparison of row %d; counted once.",
                           row_id, pair[0], pair[1], seen[3])
    return groups


def group_problem(group_id, group):
    """Why a group cannot be scored (conflicts, missing comparisons, wrong K, a cycle), or None."""
    if group.conflicts:
        return "; ".join(group.conflicts)
    letters = sorted(group.images)
    if letters != list(LETTERS[: len(letters)]):
        return f"group {group_id!r} names candidates {letters}; expected A, B, ... without gaps"
    missing = [f"{x}vs{y}" for i, x in enumerate(letters) for y in letters[i + 1 :] if (x, y) not in group.verdicts]
    if missing:
        return f"group {group_id!r} lacks the comparison(s) {missing} of its {len(letters)} candidates"
    if group.kind and re.fullmatch(r"\d+pair", str(group.kind)) and int(group.kind[:-4]) != len(letters):
        return f"group {group_id!r} is labelled {group.kind!r} but has {len(letters)} candidates"
    return None


def from_editreward_bench(dataset, limit=None, on_conflict="error") -> BenchmarkTask:
    """EditReward-Bench: rebuild each group's K candidates and its ranking from its pairwise rows.

    Rows sharing the id part before `_` form a group; `comparison_type` ("AvsC") names the letters of candidate_1
    and candidate_2, and `ranking` ("A>C", "C>A", "A=C", or a full ranking) the verdict between them. Edits are
    keyed `<group>:<letter>`. A repeated comparison with the same verdict counts once (with a warning); opposite
    verdicts (the first Hub release has such duplicate ids), missing comparisons or cyclic verdicts make the group
    unusable: on_conflict="error" raises naming the ids, "skip" drops those groups with a warning.
    """
    if on_conflict not in ("error", "skip"):
        raise ValueError(f"on_conflict={on_conflict!r}; pass 'error' or 'skip'.")
    columns = ["id", "instruction", "source_image", "candidate_1", "candidate_2", "ranking"]
    require_columns(dataset, columns, "editreward-bench", "Load TIGER-Lab/EditReward-Bench (all of 2pair/3pair/4pair).")
    task, problems = BenchmarkTask(edits=[]), []
    for group_id, group in collect_groups(dataset).items():
        problem = group_problem(group_id, group)
        letters = sorted(group.images)
        ranking = None if problem else ranking_from_comparisons(letters, {p: v[0] for p, v in group.verdicts.items()})
        if ranking is None:
            problems.append(problem or f"group {group_id!r} has cyclic verdicts {_verdict_list(group)}")
            continue
        source = (group.images["A"][0], "source_image")
        keys = tuple(f"{group_id}:{letter}" for letter in letters)
        task.edits += [Edit(k, group.instruction, source, group.images[x]) for k, x in zip(keys, letters)]
        task.groups.append(Group(group_id, keys, ranking))
    if problems and on_conflict == "error":
        shown = "\n  ".join(problems[:10]) + (f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise ValueError(
            f"editreward-bench: {len(problems)} group(s) cannot be ranked:\n  {shown}\nThe first Hub release has "
            "duplicate ids with contradictory labels: pin a fixed revision (--revision), or pass "
            "on_conflict='skip' (--on-conflict skip) to leave these groups out."
        )
    for problem in problems:
        logger.warning("editreward-bench: skipped: %s", problem)
    return _limit_groups(task, limit)


def _verdict_list(group):
    signs = {1: ">", -1: "<", 0: "="}
    return [f"{x}{signs[v[0]]}{y}" for (x, y), v in sorted(group.verdicts.items())]


def _limit_groups(task, limit):
    groups = apply_limit(task.groups, limit)
    kept = {key for group in groups for key in group.keys}
    return BenchmarkTask(edits=[e for e in task.edits if e.key in kept], groups=groups)


# ---------------------------------------------------------------------------------------------------------------
# AURORA-Bench human ratings
# ---------------------------------------------------------------------------------------------------------------

AURORA_COLUMNS = ["id", "instruction", "input", "output", "model", "human_score"]


def from_aurora_bench(dataset, limit=None) -> BenchmarkTask:
    """AURORA-Bench human ratings: one row per rated edit -> pairs with ties, and Spearman inputs.

    ASSUMED SCHEMA (the ratings are not on the Hub: `McGill-NLP/aurora-bench` holds only `input`, `instruction`,
    `source`; the ratings and the paper's pair file are unpublished), named after AURORA's own JSON keys:
    `id` (the AURORA-Bench example; rows of one id share source and instruction), `instruction`, `input` (source
    image), `output` (an editor's edit), `model` (the editor), `human_score` (its rating; higher is better).

    Derived, per id, over its editors in first-appearance order:
    - one edit per (id, model), keyed `<id>:<model>`; repeated rows of one (id, model) are averaged into one rating;
    - every pair of editors (C(n, 2) pairs): "A>B" / "B>A" by the ratings, "A=B" when they are exactly equal;
    - one Spearman point per edit, grouped by editor (the paper's pointwise variant: per-editor correlation,
      averaged).
    The paper's own pair set may differ (e.g. which pairs it kept), so its 63.62 is not directly comparable.
    `limit` keeps the first N ids.
    """
    require_columns(dataset, AURORA_COLUMNS, "aurora-bench",
                    "Provide one row per rated edit with these columns (see from_aurora_bench's docstring).")
    ids, models = text_column(dataset, "id"), text_column(dataset, "model")
    instructions, scores = text_column(dataset, "instruction"), text_column(dataset, "human_score")
    rows_of = defaultdict(dict)  # id -> model -> rows
    for row, (item, model) in enumerate(zip(ids, models)):
        rows_of[str(item)].setdefault(str(model), []).append(row)
    task = BenchmarkTask(edits=[])
    for item in apply_limit(list(rows_of), limit):
        editors = rows_of[item]
        ratings = {model: _mean_rating(scores, rows, item, model) for model, rows in editors.items()}
        keys = {model: f"{item}:{model}" for model in editors}
        for model, rows in editors.items():
            task.edits.append(Edit(keys[model], instructions[rows[0]], (rows[0], "input"), (rows[0], "output")))
            task.ratings.append(Rating(keys[model], ratings[model], model))
        names = list(editors)
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                difference = ratings[first] - ratings[second]
                label = "A>B" if difference > 0 else "B>A" if difference < 0 else "A=B"
                task.pairs.append(Pair(keys[first], keys[second], label))
    return task


def _mean_rating(scores, rows, item, model):
    values = []
    for row in rows:
        try:
            values.append(float(scores[row]))
        except (TypeError, ValueError):
            raise ValueError(
                f"aurora-bench row {row} (id {item!r}, model {model!r}): human_score={scores[row]!r} is not a number."
            ) from None
    return sum(values) / len(values)


# ---------------------------------------------------------------------------------------------------------------
# The official local JSON
# ---------------------------------------------------------------------------------------------------------------

OFFICIAL_JSON_COLUMNS = ["prompt", "path_src", "path1", "path2", "model1_dim1_score", "model2_dim1_score"]


def from_official_json(dataset, limit=None) -> BenchmarkTask:
    """The official code's JSON rows (`prompt`, `path_src`, `path1`, `path2`, `model{1,2}_dim{1,2}_score`, ...).

    As the official evaluation does, the human verdict compares the dimension-1 scores: "A>B" when
    model1_dim1_score > model2_dim1_score, "B>A" when lower, "A=B" when equal (path1 = A, path2 = B). Edits are
    keyed `row<i>:A` / `row<i>:B`; relative image paths are resolved against the JSON file's folder (or
    --image-root).
    """
    require_columns(dataset, OFFICIAL_JSON_COLUMNS, "local-json",
                    "Pass the official JSON format: a list of rows with these keys.")
    prompts = text_column(dataset, "prompt")
    first_scores, second_scores = text_column(dataset, "model1_dim1_score"), text_column(dataset, "model2_dim1_score")
    task = BenchmarkTask(edits=[])
    for row in apply_limit(range(len(prompts)), limit):
        try:
            difference = float(first_scores[row]) - float(second_scores[row])
        except (TypeError, ValueError):
            raise ValueError(
                f"local-json row {row}: model1_dim1_score={first_scores[row]!r}, model2_dim1_score="
                f"{second_scores[row]!r}; both must be numbers."
            ) from None
        first, second = f"row{row}:A", f"row{row}:B"
        task.edits += [Edit(first, prompts[row], (row, "path_src"), (row, "path1")),
                       Edit(second, prompts[row], (row, "path_src"), (row, "path2"))]
        task.pairs.append(Pair(first, second, "A>B" if difference > 0 else "B>A" if difference < 0 else "A=B"))
    return task


# ---------------------------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchmarkSpec:
    """A benchmark's display name (the results.json key), adapter and default Hub source."""

    name: str
    adapter: object
    hub_id: str | None = None
    config: str | None = None
    split: str | None = None


BENCHMARKS = {
    "genai-bench": BenchmarkSpec("GenAI-Bench", from_genai_bench, "TIGER-Lab/GenAI-Bench", "image_edition", "test_v1"),
    "editreward-bench": BenchmarkSpec("EditReward-Bench", from_editreward_bench, "TIGER-Lab/EditReward-Bench",
                                      None, "train"),
    "aurora-bench": BenchmarkSpec("AURORA-Bench", from_aurora_bench),
    "local-json": BenchmarkSpec("local-json", from_official_json),
}
