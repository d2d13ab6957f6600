"""EditReward-Bench: one row per comparison; each group's K candidates and its ranking over the letters A.. are
rebuilt from its rows."""

import logging
import re
from dataclasses import dataclass, field

from .. import load_metric_script
from .task import BenchmarkSpec, BenchmarkTask, Edit, Group, apply_limit, require_columns, text_column

logger = logging.getLogger(__name__)

__all__ = ["EDITREWARD_BENCH", "from_editreward_bench", "ranking_from_comparisons"]

COLUMNS = ["id", "instruction", "source_image", "candidate_1", "candidate_2", "ranking"]


def comparison_letters(comparison_type, where):
    """'AvsC' -> ('A', 'C'): the group letters of candidate_1 and candidate_2 (the column's spellings vary)."""
    match = re.fullmatch(r"\s*([A-Z])[\s_-]*vs\.?[\s_-]*([A-Z])\s*", str(comparison_type), flags=re.IGNORECASE)
    if not match or match[1].upper() == match[2].upper():
        raise ValueError(f"{where}: comparison_type={comparison_type!r}; expected two different letters as 'AvsC'.")
    return match[1].upper(), match[2].upper()


def verdict(ranking, first, second, where):
    """+1 if `first` ranks above `second` in `ranking` ("A>C", or a full ranking "C>A=B"), -1 below, 0 tied; the
    ranking is read by the metric's own grammar."""
    tiers = load_metric_script().parse_ranking(ranking, f"{where}: ranking")
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
                           row_id, pair[0], pair[1], seen[3])  # fmt: skip
    return groups


def group_problem(group_id, group):
    """Why a group cannot be scored (conflicts, missing comparisons, wrong K), or None."""
    if group.conflicts:
        return "; ".join(group.conflicts)
    letters = sorted(group.images)
    if letters != list(load_metric_script().LETTERS[: len(letters)]):
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
    require_columns(dataset, COLUMNS, "editreward-bench", "Load TIGER-Lab/EditReward-Bench (all of 2pair/3pair/4pair).")
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


# Rows of one group may contradict each other (the first Hub release does): the adapter takes on_conflict.
EDITREWARD_BENCH = BenchmarkSpec("editreward-bench", "EditReward-Bench", from_editreward_bench,
                                 "TIGER-Lab/EditReward-Bench", None, "train", resolves_conflicts=True)  # fmt: skip
