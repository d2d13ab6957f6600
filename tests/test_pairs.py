"""Preference pairs: the EditReward-Data converter, the tie rule, validation. Real photos, tiny sizes."""

import io
import logging

import datasets
import numpy as np
import pytest
from datasets import Dataset, Features, List, Value, concatenate_datasets
from conftest import photo
from PIL import Image

from editreward.trainer import (
    EDITREWARD_VOTES,
    PAIR_FEATURES,
    disentangle_ties,
    editreward_data,
    from_editreward_data,
    pair_features,
    tie_rule,
    ties,
    validate_pairs,
)
from editreward.trainer import image_checks
from editreward.trainer import pairs as pair_schema

PHOTOS = {name: photo(name, size=(24, 16)) for name in ("astronaut", "coffee", "chelsea", "rocket")}
CONVERTER_LOGGER, TIES_LOGGER, VALIDATION_LOGGER = (m.logger.name for m in (editreward_data, ties, pair_schema))


def photo_names(dataset, column):
    """Which photo each decoded image of `column` is (PNG storage is lossless, so pixels match exactly)."""
    names = []
    for image in dataset[column]:
        pixels = np.asarray(image.convert("RGB"))
        names.append(next(name for name, photo in PHOTOS.items() if np.array_equal(pixels, np.asarray(photo))))
    return names


def training_rows(dataset):
    """(instruction, chosen photo, rejected photo, overall_target, dimension_targets, tie) per row."""
    return list(
        zip(
            dataset["instruction"],
            photo_names(dataset, "chosen"),
            photo_names(dataset, "rejected"),
            dataset["overall_target"],
            dataset["dimension_targets"],
            dataset["tie"],
        )
    )


def warnings_from(caplog, logger):
    records = [record for record in caplog.records if record.name == logger and record.levelno == logging.WARNING]
    return [record.getMessage() for record in records]


# --------------------------------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------------------------------


def test_pair_features_accept_pil_images_paths_and_unknown_scores(tmp_path):
    path = tmp_path / "coffee.png"
    PHOTOS["coffee"].save(path)
    pairs = Dataset.from_dict(
        {
            "source": [PHOTOS["astronaut"]],
            "instruction": ["Make it a cup of coffee."],
            "chosen": [str(path)],
            "rejected": [PHOTOS["chelsea"]],
            "chosen_scores": [None],
            "rejected_scores": [[3.0, 2.0]],
            "tie": [False],
        },
        features=PAIR_FEATURES,
    )
    row = pairs[0]
    assert isinstance(row["chosen"], Image.Image) and photo_names(pairs, "chosen") == ["coffee"]
    assert row["chosen_scores"] is None and row["rejected_scores"] == [3.0, 2.0]


def test_pair_features_size_score_lists_by_dimensions_and_add_targets():
    features = pair_features(("instruction_following", "visual_quality", "realism"), targets=True)
    assert features["chosen_scores"] == List(Value("float32"), length=3)
    assert features["dimension_targets"] == List(Value("int8"), length=3)
    assert features["overall_target"] == Value("float32")
    assert "overall_target" not in PAIR_FEATURES


# --------------------------------------------------------------------------------------------------------------------
# EditReward-Data converter
# --------------------------------------------------------------------------------------------------------------------


def editreward_rows(votes, instruction_column="instruction"):
    """EditReward-Data-shaped rows; each vote gets a fixed (left, right, scores) case."""
    cases = {
        # vote: (left, right, (left IF, left VQ), (right IF, right VQ))
        "leftvote": ("coffee", "chelsea", (4.0, 2.0), (3.0, 2.0)),
        "rightvote": ("coffee", "chelsea", (2.0, 2.0), (4.0, 3.0)),
        "tie": ("rocket", "chelsea", (4.0, 2.0), (3.0, 3.0)),
        "tievote": ("chelsea", "coffee", (3.0, 3.0), (3.0, 3.0)),
        "bothbad_vote": ("rocket", "coffee", (1.0, 1.0), (1.0, 1.0)),
    }
    columns = {
        name: []
        for name in (
            "key", "source_img", instruction_column, "left_model", "right_model", "left_output_image",
            "right_output_image", "vote_type", "left_overall_score", "right_overall_score",
            "left_instruction_following_score", "right_instruction_following_score",
            "left_quality_aesthetic_score", "right_quality_aesthetic_score",
        )
    }  # fmt: skip
    for row, vote in enumerate(votes):
        left, right, left_scores, right_scores = cases.get(vote, cases["leftvote"])
        values = {
            "key": f"pair-{row}", "source_img": PHOTOS["astronaut"], instruction_column: f"edit {row}",
            "left_model": "FLUX.1-Kontext-dev", "right_model": "Step1X-Edit", "left_output_image": PHOTOS[left],
            "right_output_image": PHOTOS[right], "vote_type": vote,
            "left_overall_score": sum(left_scores), "right_overall_score": sum(right_scores),
            "left_instruction_following_score": left_scores[0], "right_instruction_following_score": right_scores[0],
            "left_quality_aesthetic_score": left_scores[1], "right_quality_aesthetic_score": right_scores[1],
        }  # fmt: skip
        for name, value in values.items():
            columns[name].append(value)
    return columns


def test_from_editreward_data_makes_the_voted_side_chosen_for_every_vote_type():
    raw = Dataset.from_dict(editreward_rows(["leftvote", "rightvote", "tie", "tievote", "bothbad_vote"]))
    pairs = from_editreward_data(raw)

    assert pairs.features == PAIR_FEATURES
    assert pairs["instruction"] == ["edit 0", "edit 1", "edit 2", "edit 3", "edit 4"]
    assert photo_names(pairs, "source") == ["astronaut"] * 5
    assert photo_names(pairs, "chosen") == ["coffee", "chelsea", "rocket", "chelsea", "rocket"]
    assert photo_names(pairs, "rejected") == ["chelsea", "coffee", "chelsea", "coffee", "coffee"]
    assert pairs["tie"] == [False, False, True, True, True]
    # (instruction following, visual quality) of the chosen side, then of the rejected side
    assert pairs["chosen_scores"] == [[4, 2], [4, 3], [4, 2], [3, 3], [1, 1]]
    assert pairs["rejected_scores"] == [[3, 2], [2, 2], [3, 3], [3, 3], [1, 1]]


def test_from_editreward_data_rejects_an_unknown_vote_type_naming_row_and_value():
    raw = Dataset.from_dict(editreward_rows(["leftvote", "rightvote", "both_good"]))
    with pytest.raises(ValueError, match=r"row 2, column 'vote_type': unknown vote 'both_good'.*leftvote"):
        from_editreward_data(raw)


def test_from_editreward_data_finds_an_alternative_instruction_column():
    raw = Dataset.from_dict(editreward_rows(["leftvote"], instruction_column="instruct_prompt"))
    assert from_editreward_data(raw)["instruction"] == ["edit 0"]


def test_from_editreward_data_takes_an_explicit_instruction_column():
    raw = Dataset.from_dict(editreward_rows(["leftvote"], instruction_column="edit_text"))
    assert from_editreward_data(raw, instruction_column="edit_text")["instruction"] == ["edit 0"]


def test_from_editreward_data_without_instruction_column_says_where_it_looked():
    raw = Dataset.from_dict(editreward_rows(["leftvote"], instruction_column="edit_text"))
    with pytest.raises(ValueError, match=r"no instruction column.*'instruct_prompt'.*Fix: pass instruction_column"):
        from_editreward_data(raw)


def test_from_editreward_data_names_missing_columns():
    raw = Dataset.from_dict(editreward_rows(["leftvote"])).remove_columns("right_quality_aesthetic_score")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['right_quality_aesthetic_score'\]"):
        from_editreward_data(raw)


def test_from_editreward_data_trusts_the_vote_and_counts_score_disagreements(caplog):
    columns = editreward_rows(["leftvote", "leftvote", "rightvote"])
    columns["left_overall_score"][1] = 3.0  # the left edit won the vote but scored lower overall
    with caplog.at_level(logging.WARNING, logger=CONVERTER_LOGGER):
        pairs = from_editreward_data(Dataset.from_dict(columns))
    assert photo_names(pairs, "chosen") == ["coffee", "coffee", "chelsea"]
    assert warnings_from(caplog, CONVERTER_LOGGER) == [
        "from_editreward_data: 1 of 3 rows have a vote_type that disagrees with their overall scores; "
        "the vote decides (rows 1)"
    ]


def test_from_editreward_data_reads_a_nan_score_as_unknown_scores_for_that_side():
    columns = editreward_rows(["leftvote"])
    columns["right_quality_aesthetic_score"][0] = float("nan")
    pairs = from_editreward_data(Dataset.from_dict(columns))
    assert pairs["chosen_scores"] == [[4, 2]] and pairs["rejected_scores"] == [None]


# --------------------------------------------------------------------------------------------------------------------
# Tie-disentanglement
# --------------------------------------------------------------------------------------------------------------------


@pytest.fixture
def pairs():
    rows = [
        # instruction, chosen, rejected, chosen_scores, rejected_scores, tie
        ("clear win", "coffee", "chelsea", [4.0, 3.0], [2.0, 3.0], False),
        ("unscored win", "rocket", "chelsea", None, None, False),
        ("trade-off tie", "coffee", "rocket", [4.0, 2.0], [3.0, 3.0], True),
        ("equal tie", "chelsea", "coffee", [3.0, 3.0], [3.0, 3.0], True),
    ]
    instruction, chosen, rejected, chosen_scores, rejected_scores, tie = zip(*rows)
    return Dataset.from_dict(
        {
            "source": [PHOTOS["astronaut"]] * len(rows),
            "instruction": list(instruction),
            "chosen": [PHOTOS[name] for name in chosen],
            "rejected": [PHOTOS[name] for name in rejected],
            "chosen_scores": list(chosen_scores),
            "rejected_scores": list(rejected_scores),
            "tie": list(tie),
        },
        features=PAIR_FEATURES,
    )


def test_drop_removes_tie_rows_and_logs_the_count(pairs, caplog):
    with caplog.at_level(logging.INFO, logger=TIES_LOGGER):
        rows = disentangle_ties(pairs, "drop")
    assert training_rows(rows) == [
        ("clear win", "coffee", "chelsea", 1.0, [1, 0], False),
        ("unscored win", "rocket", "chelsea", 1.0, [0, 0], False),
    ]
    assert "disentangle_ties(mode='drop'): 2 of 4 pairs are overall ties -> 2 training rows" in caplog.messages


def test_both_orders_turns_each_tie_into_a_and_b_preferred_rows(pairs):
    rows = disentangle_ties(pairs, "both_orders")
    assert rows.features == pair_features(targets=True)
    assert training_rows(rows) == [
        ("clear win", "coffee", "chelsea", 1.0, [1, 0], False),
        ("unscored win", "rocket", "chelsea", 1.0, [0, 0], False),
        ("trade-off tie", "coffee", "rocket", 1.0, [1, -1], True),
        ("trade-off tie", "rocket", "coffee", 1.0, [-1, 1], True),
        ("equal tie", "chelsea", "coffee", 1.0, [0, 0], True),
        ("equal tie", "coffee", "chelsea", 1.0, [0, 0], True),
    ]
    # the scores travel with their image
    assert rows["chosen_scores"][3] == [3.0, 3.0] and rows["rejected_scores"][3] == [4.0, 2.0]


def test_by_dimension_supervises_heads_only_and_keeps_both_orders_for_an_all_equal_tie(pairs):
    rows = disentangle_ties(pairs, "by_dimension")
    assert training_rows(rows) == [
        ("clear win", "coffee", "chelsea", 1.0, [1, 0], False),
        ("unscored win", "rocket", "chelsea", 1.0, [0, 0], False),
        ("trade-off tie", "coffee", "rocket", 0.0, [1, -1], True),
        ("equal tie", "chelsea", "coffee", 1.0, [0, 0], True),
        ("equal tie", "coffee", "chelsea", 1.0, [0, 0], True),
    ]


@pytest.mark.parametrize(
    "tie, signs, mode, expected",
    [
        (False, [1, -1], "drop", [(False, 1.0)]),
        (True, [1, -1], "drop", []),
        (True, [0, 0], "both_orders", [(False, 1.0), (True, 1.0)]),
        (True, [0, -1], "by_dimension", [(False, 0.0)]),
        (True, [0, 0], "by_dimension", [(False, 1.0), (True, 1.0)]),
    ],
)
def test_tie_rule(tie, signs, mode, expected):
    assert tie_rule(tie, signs, mode) == expected


def test_disentangle_swaps_every_chosen_rejected_column_pair_and_keeps_other_columns(pairs):
    pairs = pairs.add_column("chosen_model", ["BAGEL", "OmniGen2", "BAGEL", "Ovis-U1"])
    pairs = pairs.add_column("rejected_model", ["OmniGen2", "BAGEL", "Ovis-U1", "BAGEL"])
    pairs = pairs.add_column("key", ["a", "b", "c", "d"])
    rows = disentangle_ties(pairs, "both_orders")
    assert rows["key"] == ["a", "b", "c", "c", "d", "d"]
    assert rows["chosen_model"] == ["BAGEL", "OmniGen2", "BAGEL", "Ovis-U1", "Ovis-U1", "BAGEL"]


def test_disentangle_rejects_an_unknown_mode(pairs):
    with pytest.raises(ValueError, match=r"tie mode 'split' is unknown.*'both_orders'"):
        disentangle_ties(pairs, "split")


def test_disentangle_refuses_to_run_twice(pairs):
    rows = disentangle_ties(pairs, "both_orders")
    with pytest.raises(ValueError, match="already has .*'overall_target'.*apply it once"):
        disentangle_ties(rows, "both_orders")


def test_disentangle_names_the_row_with_the_wrong_number_of_scores(pairs):
    scores = list(pairs["rejected_scores"])
    scores[2] = [3.0, 3.0, 1.0]
    loose = pairs.remove_columns("rejected_scores").add_column(
        "rejected_scores", scores, feature=List(Value("float32"))
    )
    with pytest.raises(ValueError, match=r"row 2, column 'rejected_scores': 3 scores for 2 dimensions"):
        disentangle_ties(loose, "by_dimension")


def folder_bytes(folder):
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def test_disentangle_on_a_shuffled_saved_dataset_writes_no_image_again(pairs, tmp_path, monkeypatch):
    monkeypatch.setattr(ties, "FLATTEN_BUDGET", 0)  # these few photos stand for a table of large images
    pairs.save_to_disk(tmp_path / "pairs")
    shuffled = datasets.load_from_disk(tmp_path / "pairs").select([3, 0, 2, 1])  # an indices mapping over the table
    before = folder_bytes(tmp_path / "pairs")
    rows = disentangle_ties(shuffled, "by_dimension")
    assert folder_bytes(tmp_path / "pairs") - before < 1000  # at most an indices file, 8 bytes a row
    assert training_rows(rows) == training_rows(disentangle_ties(shuffled.flatten_indices(), "by_dimension"))


def test_disentangle_on_a_small_selection_copies_only_its_rows(pairs, monkeypatch):
    """Selected rows within FLATTEN_BUDGET (these few photos are) are copied: targets for them, not the table."""
    lengths, add_column = [], Dataset.add_column
    monkeypatch.setattr(Dataset, "add_column", lambda self, name, column, **k: lengths.append(len(column))
                        or add_column(self, name, column, **k))
    rows = disentangle_ties(concatenate_datasets([pairs] * 5).select([6, 0]), "by_dimension")  # 2 of 20 rows
    assert lengths == [2, 2, 2, 2]  # targets for the 2 selected rows, not for every row of the table
    assert training_rows(rows) == [
        ("trade-off tie", "coffee", "rocket", 0.0, [1, -1], True),
        ("clear win", "coffee", "chelsea", 1.0, [1, 0], False),
    ]


def test_disentangle_on_a_selection_gives_the_selected_pairs_their_targets(pairs):
    rows = disentangle_ties(pairs.select([2, 0]), "by_dimension")
    assert training_rows(rows) == [
        ("trade-off tie", "coffee", "rocket", 0.0, [1, -1], True),
        ("clear win", "coffee", "chelsea", 1.0, [1, 0], False),
    ]


def test_converter_validation_and_tie_rule_never_decode_an_image(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("an image was decoded")

    raw = Dataset.from_dict(editreward_rows(["leftvote", "rightvote", "tie", "tievote"]))
    monkeypatch.setattr(datasets.Image, "decode_example", refuse)
    pairs = validate_pairs(from_editreward_data(raw))
    rows = disentangle_ties(pairs, "by_dimension")
    monkeypatch.undo()
    assert len(rows) == 5
    assert photo_names(rows, "chosen") == ["coffee", "chelsea", "rocket", "chelsea", "coffee"]


# --------------------------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------------------------


def pair_columns(n_rows):
    """Valid pair columns: n_rows distinct-enough pairs of real photos."""
    names = list(PHOTOS)
    return {
        "source": [PHOTOS["astronaut"]] * n_rows,
        "instruction": [f"edit {row}" for row in range(n_rows)],
        "chosen": [PHOTOS[names[1 + row % 3]] for row in range(n_rows)],
        "rejected": [PHOTOS[names[1 + (row + 1) % 3]] for row in range(n_rows)],
        "chosen_scores": [[4.0, 3.0]] * n_rows,
        "rejected_scores": [[2.0, 3.0]] * n_rows,
        "tie": [False] * n_rows,
    }


LOOSE_FEATURES = Features({**PAIR_FEATURES, "chosen_scores": List(Value("float32"))})


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("source", None, r"row 2, column 'source': image is missing\. Fix: give a PIL image"),
        ("rejected", None, r"row 2, column 'rejected': image is missing"),
        ("instruction", "  ", r"row 2, column 'instruction': instruction is missing or empty\. Fix: give the edit"),
        ("instruction", None, r"row 2, column 'instruction': instruction is missing or empty"),
        ("rejected", "same-as-chosen", r"row 2, column 'rejected': same image as chosen but tie is False\. Fix: set"),
        ("chosen_scores", [4.0, float("nan")], r"row 2, column 'chosen_scores': the 'visual_quality' score is nan"),
        ("chosen_scores", [float("inf"), 4.0], r"row 2, column 'chosen_scores': the 'instruction_following' score "
                                               r"is inf\. Fix: give a finite number on the data's score scale"),
        ("rejected_scores", [3.0, float("-inf")], r"row 2, column 'rejected_scores': the 'visual_quality' score is "
                                                  r"-inf\. Fix: give a finite number"),
        ("chosen_scores", [4.0, 3.0, 2.0], r"row 2, column 'chosen_scores': 3 scores for 2 dimensions\. Fix: give"),
        ("tie", None, r"row 2, column 'tie': tie is missing"),
    ],
)
def test_validate_pairs_names_row_column_and_fix(column, value, message):
    columns = pair_columns(5)
    columns[column][2] = columns["chosen"][2] if value == "same-as-chosen" else value
    pairs = Dataset.from_dict(columns, features=LOOSE_FEATURES)
    with pytest.raises(ValueError, match=message):
        validate_pairs(pairs)


@pytest.mark.parametrize("tie, feature", [(0, Value("int64")), ("False", Value("string")), (0.0, Value("float64"))])
def test_validate_pairs_refuses_a_tie_that_is_not_a_boolean(tie, feature):
    columns = pair_columns(3)
    columns["tie"] = [tie] * 3
    pairs = Dataset.from_dict(columns, features=Features({**PAIR_FEATURES, "tie": feature}))
    with pytest.raises(ValueError, match=rf"row 0, column 'tie': tie is {tie!r} \({type(tie).__name__}\), not a "
                                         r"boolean\. Fix: give True or False; cast a 0/1 column first"):
        validate_pairs(pairs)


def test_disentangle_refuses_a_tie_that_is_not_a_boolean():
    columns = pair_columns(2)
    columns["tie"] = ["False", "False"]  # a string reads as truthy: it would have become a tie
    pairs = Dataset.from_dict(columns, features=Features({**PAIR_FEATURES, "tie": Value("string")}))
    with pytest.raises(ValueError, match=r"row 0, column 'tie': tie is 'False' \(str\), not a boolean"):
        disentangle_ties(pairs, "both_orders")


def test_validate_pairs_warns_once_about_scores_far_outside_the_observed_range(caplog):
    columns = pair_columns(30)  # instruction following 2 or 4, visual quality always 3
    columns["chosen_scores"][5] = [40.0, 3.0]
    columns["rejected_scores"][9] = [-7.0, 3.0]
    columns["chosen_scores"][12] = [6.0, 3.0]  # within the observed range's width beyond it: plausible
    pairs = Dataset.from_dict(columns, features=PAIR_FEATURES)
    with caplog.at_level(logging.WARNING, logger=VALIDATION_LOGGER):
        assert validate_pairs(pairs) is pairs  # warned about, kept
    assert warnings_from(caplog, VALIDATION_LOGGER) == [
        "validate_pairs: 2 of 30 rows have scores far outside the observed range of their dimension "
        "(instruction_following: 2 to 4, the 5th to 95th percentile, exceeded by more than its width); check for "
        "typos or rows on another scale (rows 5, 9)"
    ]


def test_validate_pairs_warns_about_scores_outside_a_declared_range_even_in_a_small_dataset(caplog):
    columns = pair_columns(3)  # too few scores for an observed range
    columns["rejected_scores"][1] = [2.0, 4.5]
    pairs = Dataset.from_dict(columns, features=PAIR_FEATURES)
    with caplog.at_level(logging.WARNING, logger=VALIDATION_LOGGER):
        validate_pairs(pairs)
        assert warnings_from(caplog, VALIDATION_LOGGER) == []
        validate_pairs(pairs, score_range=(1, 4))
    assert warnings_from(caplog, VALIDATION_LOGGER) == [
        "validate_pairs: 1 of 3 rows have scores outside the declared score_range (1, 4); check for typos or rows on "
        "another scale (rows 1)"
    ]
    with pytest.raises(ValueError, match=r"score_range=\(4, 1\): give \(lowest, highest\)"):
        validate_pairs(pairs, score_range=(4, 1))


def test_validate_pairs_warns_once_about_rows_whose_scores_favour_the_rejected_edit(caplog):
    columns = pair_columns(5)
    columns["chosen_scores"][1], columns["rejected_scores"][1] = [2.0, 3.0], [4.0, 3.0]  # rejected wins, none lost
    columns["chosen_scores"][2], columns["rejected_scores"][2] = [2.0, 1.0], [4.0, 3.0]
    columns["chosen_scores"][3], columns["rejected_scores"][3] = [4.0, 1.0], [3.0, 3.0]  # a trade-off: plausible
    columns["chosen_scores"][4], columns["rejected_scores"][4] = [2.0, 3.0], [4.0, 3.0]
    columns["tie"][4] = True  # a tie takes no side
    pairs = Dataset.from_dict(columns, features=PAIR_FEATURES)
    with caplog.at_level(logging.WARNING, logger=VALIDATION_LOGGER):
        assert validate_pairs(pairs) is pairs
    assert warnings_from(caplog, VALIDATION_LOGGER) == [
        "validate_pairs: 2 of 5 rows are not ties but the rejected edit scores at least as well in every dimension "
        "and better in one; chosen decides the training target, so check that chosen and rejected are not swapped "
        "(rows 1, 2)"
    ]


def encoded(image, image_format="PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def test_validate_images_names_a_truncated_png_by_row_and_column():
    columns = pair_columns(4)
    png = encoded(PHOTOS["coffee"])
    columns["chosen"][1] = {"bytes": png[: len(png) // 2], "path": None}
    pairs = Dataset.from_dict(columns, features=PAIR_FEATURES)
    with pytest.raises(OSError, match="truncated"):
        pairs[1]  # what training would hit mid-run
    assert validate_pairs(pairs) is pairs  # the images are not opened unless asked
    with pytest.raises(ValueError, match=r"row 1, column 'chosen': the image data is truncated or corrupt: decoding "
                                         r"fails \(image file is truncated.*\)\. Fix: re-export or re-download the "
                                         r"image file, or drop the row"):
        validate_pairs(pairs, validate_images=True)


def test_validate_images_finds_a_truncated_jpeg_outside_the_decoded_sample(monkeypatch):
    columns = pair_columns(5)
    jpeg = encoded(PHOTOS["rocket"], "JPEG", quality=90)
    columns["rejected"][2] = {"bytes": jpeg[:-40], "path": None}
    columns["source"][3] = {"bytes": jpeg + b"trailer data after the end of image marker", "path": None}
    pairs = Dataset.from_dict(columns, features=PAIR_FEATURES)
    monkeypatch.setattr(image_checks, "DECODE_SAMPLE_ROWS", 2)
    assert image_checks.rows_to_decode(5) == {0, 4}
    with pytest.raises(ValueError, match=r"row 2, column 'rejected': the image data is truncated"):
        validate_pairs(pairs, validate_images=True)
    columns["rejected"][2] = PHOTOS["coffee"]  # only the JPEG with a trailer is left: it decodes, so it passes
    assert len(validate_pairs(Dataset.from_dict(columns, features=PAIR_FEATURES), validate_images=True)) == 5


def test_validate_images_skips_unreadable_images_with_the_other_invalid_rows(tmp_path, caplog):
    (tmp_path / "notes.png").write_text("not an image")
    columns = pair_columns(4)
    columns["source"][0] = str(tmp_path / "notes.png")
    columns["chosen"][3] = {"bytes": encoded(PHOTOS["chelsea"])[:200], "path": None}
    columns["instruction"][2] = ""
    pairs = Dataset.from_dict(columns, features=PAIR_FEATURES)
    with caplog.at_level(logging.WARNING, logger=VALIDATION_LOGGER):
        kept = validate_pairs(pairs, on_error="skip", validate_images=True)
    assert kept["instruction"] == ["edit 1"]
    assert warnings_from(caplog, VALIDATION_LOGGER) == [
        "validate_pairs: skipped 3 of 4 rows: 1 x source: not an image file PIL can read (no known image format), "
        "1 x instruction: instruction is missing or empty, 1 x chosen: the image data is truncated or corrupt: "
        "decoding fails (image file is truncated) (rows 0, 2, 3)"
    ]


def test_validate_pairs_accepts_identical_images_in_a_tie_and_unknown_scores(caplog):
    columns = pair_columns(3)
    columns["rejected"][1], columns["tie"][1] = columns["chosen"][1], True
    columns["chosen_scores"][2] = []
    pairs = Dataset.from_dict(columns, features=LOOSE_FEATURES)
    with caplog.at_level(logging.WARNING, logger=VALIDATION_LOGGER):
        assert validate_pairs(pairs) is pairs
    assert warnings_from(caplog, VALIDATION_LOGGER) == []


def test_validate_pairs_compares_paths_when_images_are_files(tmp_path):
    for name, image in PHOTOS.items():
        image.save(tmp_path / f"{name}.png")
    columns = pair_columns(2)
    for column in ("source", "chosen", "rejected"):
        columns[column] = [str(tmp_path / "astronaut.png"), str(tmp_path / "coffee.png")]
    columns["chosen"][0] = str(tmp_path / "rocket.png")
    pairs = Dataset.from_dict(columns, features=PAIR_FEATURES)  # row 1: chosen and rejected are the same file
    with pytest.raises(ValueError, match=r"row 1, column 'rejected': same image as chosen"):
        validate_pairs(pairs)


def test_validate_pairs_names_an_image_file_that_does_not_exist(tmp_path):
    PHOTOS["coffee"].save(tmp_path / "coffee.png")
    columns = pair_columns(2)
    columns["rejected"] = [str(tmp_path / "coffee.png"), str(tmp_path / "missing.png")]
    pairs = Dataset.from_dict(columns, features=PAIR_FEATURES)
    with pytest.raises(ValueError, match=r"row 1, column 'rejected': image file not found\. Fix: correct the path "
                                         r"'.*missing\.png', or drop the row"):
        validate_pairs(pairs)


def test_validate_pairs_can_require_scores_naming_the_row():
    columns = pair_columns(3)
    columns["rejected_scores"][1] = None
    pairs = Dataset.from_dict(columns, features=PAIR_FEATURES)
    assert validate_pairs(pairs) is pairs
    with pytest.raises(ValueError, match=r"row 1, column 'rejected_scores': scores are unknown but required"):
        validate_pairs(pairs, require_scores=True)
    assert len(validate_pairs(pairs, on_error="skip", require_scores=True)) == 2


def test_validate_pairs_skip_drops_bad_rows_with_one_counted_warning(caplog):
    columns = pair_columns(120)
    columns["chosen"][4] = None
    columns["rejected"][17] = columns["chosen"][17]
    columns["chosen_scores"][80] = [float("nan"), 3.0]
    pairs = Dataset.from_dict(columns, features=PAIR_FEATURES)
    with caplog.at_level(logging.WARNING, logger=VALIDATION_LOGGER):
        kept = validate_pairs(pairs, on_error="skip")
    assert len(kept) == 117
    assert {"edit 4", "edit 17", "edit 80"}.isdisjoint(kept["instruction"])
    assert warnings_from(caplog, VALIDATION_LOGGER) == [
        "validate_pairs: skipped 3 of 120 rows: 1 x chosen: image is missing, "
        "1 x rejected: same image as chosen but tie is False, "
        "1 x chosen_scores: the 'instruction_following' score is nan (rows 4, 17, 80)"
    ]


def test_validate_pairs_raise_reports_how_many_rows_are_invalid():
    columns = pair_columns(6)
    columns["instruction"][1] = columns["instruction"][3] = ""
    with pytest.raises(ValueError, match=r"row 1, .*\(2 of 6 rows are invalid; .*on_error='skip'"):
        validate_pairs(Dataset.from_dict(columns, features=PAIR_FEATURES))


def test_validate_pairs_names_a_missing_column():
    pairs = Dataset.from_dict(pair_columns(2), features=PAIR_FEATURES).remove_columns("tie")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['tie'\]"):
        validate_pairs(pairs)


def test_validate_pairs_rejects_an_unknown_on_error(pairs):
    with pytest.raises(ValueError, match="on_error='ignore' is unknown"):
        validate_pairs(pairs, on_error="ignore")


def test_editreward_data_votes_are_the_metrics_genai_votes():
    """One vocabulary: the converter reads the metric's GenAI votes with the same sides (plus the data's own "tie")."""
    from editreward.evaluate_metrics import load_metric_script

    sides = {1: "left", -1: "right", 0: "tie"}
    metric_votes = {vote: sides[sign] for vote, sign in load_metric_script().GENAI_VOTES.items()}
    assert EDITREWARD_VOTES == {**metric_votes, "tie": "tie"}
