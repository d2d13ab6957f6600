"""The quickstart's edit-preference data set, built in fast mode from the real photos shipped with scikit-image."""

import datasets
import pytest

from editreward.quickstart.edit_dataset import (
    EXTRA_PAIRS,
    FAST_OPTIONS,
    FEATURES,
    build_edit_dataset,
    describe_dataset,
    save_edit_dataset,
)
from editreward.quickstart.edits import FAMILIES
from editreward.trainer.pairs import PAIR_FEATURES, validate_pairs

TEST_PHOTOS = ("chelsea", "coffee")


@pytest.fixture(scope="module")
def dataset():
    return build_edit_dataset(**FAST_OPTIONS, test_photos=TEST_PHOTOS)


def undecoded(split):
    """The split with image cells as stored PNG bytes, so images compare without decoding."""
    for column in ("source", "chosen", "rejected"):
        split = split.cast_column(column, datasets.Image(decode=False))
    return split


def test_same_seed_gives_the_same_bytes(dataset):
    again = build_edit_dataset(**FAST_OPTIONS, test_photos=TEST_PHOTOS)
    for split in ("train", "test"):
        assert again[split].data.table.equals(dataset[split].data.table)


def test_another_seed_gives_other_rows(dataset):
    other = build_edit_dataset(**FAST_OPTIONS, seed=1, test_photos=TEST_PHOTOS)
    assert not other["test"].data.table.equals(dataset["test"].data.table)


def test_schema_is_the_pair_schema_plus_metadata(dataset):
    for split in dataset.values():
        assert split.features == FEATURES
        assert all(split.features[name] == feature for name, feature in PAIR_FEATURES.items())
    row = dataset["test"][0]
    for column in ("source", "chosen", "rejected"):
        assert row[column].mode == "RGB"
        assert row[column].size == (FAST_OPTIONS["image_size"],) * 2
    assert isinstance(row["instruction"], str) and row["instruction"]


def test_rows_pass_the_trainer_checks(dataset):
    for split in dataset.values():
        validate_pairs(split, on_error="raise")


def test_test_split_holds_only_unseen_photos(dataset):
    assert set(dataset["test"]["photo"]) == set(TEST_PHOTOS)
    assert not set(dataset["train"]["photo"]) & set(TEST_PHOTOS)
    train_sources = {cell["bytes"] for cell in undecoded(dataset["train"])["source"]}
    assert not train_sources & {cell["bytes"] for cell in undecoded(dataset["test"])["source"]}


def test_every_family_and_pair_kind_is_in_both_splits(dataset):
    kinds = {("right", "wrong_edit"), *EXTRA_PAIRS}
    for split in dataset.values():
        assert set(split["family"]) == set(FAMILIES)
        assert set(zip(split["chosen_kind"], split["rejection"])) == kinds


def test_instructions_are_paraphrased(dataset):
    train = dataset["train"]
    for family in FAMILIES:
        assert len({text for text, f in zip(train["instruction"], train["family"]) if f == family}) > 1, family


def test_scores_are_on_the_rubric_scale_and_agree_with_tie(dataset):
    for split in dataset.values():
        for chosen, rejected, tie in zip(split["chosen_scores"], split["rejected_scores"], split["tie"]):
            assert all(1.0 <= score <= 4.0 for score in chosen + rejected)
            assert tie == (sum(chosen) == sum(rejected))
            assert tie or sum(chosen) > sum(rejected)


def test_ties_trade_instruction_following_for_visual_quality(dataset):
    for split in dataset.values():
        ties = split.filter(lambda row: row["tie"])
        assert len(ties) > 0
        for chosen, rejected in zip(ties["chosen_scores"], ties["rejected_scores"]):
            assert chosen[0] > rejected[0] and chosen[1] < rejected[1]


def test_dimensions_disagree_on_some_non_ties(dataset):
    split = dataset["train"]
    disagree = [
        not tie and (c[0] - r[0]) * (c[1] - r[1]) < 0
        for c, r, tie in zip(split["chosen_scores"], split["rejected_scores"], split["tie"])
    ]
    assert any(disagree)


def test_the_same_edit_is_chosen_under_one_instruction_and_rejected_under_another(dataset):
    for split in dataset.values():
        rows = undecoded(split).select_columns(["instruction", "chosen", "rejected", "rejection"])
        chosen_under = {}
        for row in rows:
            chosen_under.setdefault(row["chosen"]["bytes"], set()).add(row["instruction"])
        wrong_edits = [row for row in rows if row["rejection"] == "wrong_edit"]
        assert wrong_edits
        for row in wrong_edits:
            assert chosen_under.get(row["rejected"]["bytes"], set()) - {row["instruction"]}


def test_describe_counts_every_split_and_family(dataset):
    text = describe_dataset(dataset)
    for name in ("train", "test", "ties", *FAMILIES, "wrong_edit", "no_edit", "over_edit", "degraded"):
        assert name in text


def test_save_and_load_round_trip(tmp_path):
    saved = save_edit_dataset(str(tmp_path / "edits"), **FAST_OPTIONS)
    loaded = datasets.load_from_disk(str(tmp_path / "edits"))
    assert loaded["test"].data.table.equals(saved["test"].data.table)


def test_unknown_test_photo_is_named():
    with pytest.raises(ValueError, match="'lena'"):
        build_edit_dataset(**FAST_OPTIONS, test_photos=("lena",))


def test_one_test_photo_may_be_named_by_a_string():
    dataset = build_edit_dataset(**FAST_OPTIONS, test_photos="coffee")
    assert set(dataset["test"]["photo"]) == {"coffee"} and "coffee" not in set(dataset["train"]["photo"])
