"""A deterministic edit-preference data set built offline from real photos, for the quickstart.

Every source image (a crop of a real photo, or a procedural scene) gets ``families_per_source`` edits of different
families (see ``edits.FAMILIES``). Each edit is then compared with four kinds of imperfect edit, scored per dimension
on the 1-4 scale of the released rubrics, (instruction_following, visual_quality):

=================  ===========================================  ==  ==  =======
kind               image                                        IF  VQ  overall
=================  ===========================================  ==  ==  =======
``right``          the requested edit                           4   4   8
``degraded``       the requested edit with noise/JPEG blocking  4   2   6
``over_edit``      the requested edit plus an unrequested one   2   4   6
``no_edit``        the unchanged source                         1   4   5
``wrong_edit``     the requested edit of another family         1   4   5
=================  ===========================================  ==  ==  =======

Overall is the sum of the two, as in EditReward-Data. The rows of one edit are a ``right`` vs ``wrong_edit`` pair,
plus ``extra_pairs_per_edit`` pairs drawn from ``EXTRA_PAIRS``: ``degraded`` vs ``wrong_edit`` or ``no_edit`` (the
dimensions disagree and instruction following wins), and ``degraded`` vs ``over_edit`` (an overall tie whose
dimensions trade off; ``chosen`` is then the edit that wins instruction following). The edits of one source form a
cycle: the wrong edit under instruction *k* is the right edit of instruction *k+1*, so every edited image is chosen
under its own instruction and rejected under another one, and a model that ignores the instruction scores at chance
on those pairs. Edits, degradations and over-edits that would not be visible at ``image_size`` are redrawn or left out.

The test split uses only crops of ``test_photos``; no crop of them, and no procedural scene, is in the train split.
"""

import collections
import io

import numpy as np
from datasets import Dataset, DatasetDict, Features, Value

from ..trainer.pairs import DEFAULT_DIMENSIONS, pair_features
from .edits import FAMILIES, sample_degradation, sample_edit, sample_over_edit, visibly_different
from .photos import PHOTOS, photo_crops, scenes

DIMENSIONS = DEFAULT_DIMENSIONS  # score order: (instruction_following, visual_quality)

SCORES = {
    "right": (4.0, 4.0),
    "degraded": (4.0, 2.0),
    "over_edit": (2.0, 4.0),
    "no_edit": (1.0, 4.0),
    "wrong_edit": (1.0, 4.0),
}

# (chosen, rejected) kinds drawn for each edit besides its (right, wrong_edit) pair, with their weights.
EXTRA_PAIRS = {
    ("right", "no_edit"): 1,
    ("right", "over_edit"): 1,
    ("right", "degraded"): 1,
    ("degraded", "wrong_edit"): 1,
    ("degraded", "no_edit"): 1,
    ("degraded", "over_edit"): 2,
}

# The package's pair schema plus this data set's metadata columns.
FEATURES = Features({
    **pair_features(DIMENSIONS),
    "family": Value("string"),  # family of the requested edit
    "rejection": Value("string"),  # kind of the rejected image
    "chosen_kind": Value("string"),  # kind of the chosen image: "right" or "degraded"
    "photo": Value("string"),  # the photo (or scene) the source image was cropped from
})

# Small settings for tests and the quickstart's fast mode: every family and pair kind in both splits, in seconds.
FAST_OPTIONS = {"image_size": 56, "crops_per_photo": 1, "test_crops_per_photo": 4, "num_scenes": 8}

_TRIES = 4


def _first_visible(draw, reference):
    """The first of a few images from ``draw()`` that differs visibly from ``reference``, or None."""
    for _ in range(_TRIES):
        image = draw()
        if visibly_different(image, reference):
            return image
    return None


def _edit_candidates(rng, source, family):
    """``(instruction, images by kind)`` for one visible edit of ``family`` on ``source``, or None."""
    for _ in range(_TRIES):
        edit = sample_edit(rng, family)
        right = edit.apply(source)
        if visibly_different(right, source):
            break
    else:
        return None
    images = {
        "right": right,
        "no_edit": source,
        "degraded": _first_visible(lambda: sample_degradation(rng)[1](right), right),
        "over_edit": _first_visible(lambda: sample_over_edit(rng, edit).apply(source), right),
    }
    return edit.instruction, images


def _deal_families(rng, count, per_source):
    """``count`` hands of ``per_source`` distinct families, dealt from shuffled decks so all families appear equally."""
    names, stream, hands = list(FAMILIES), [], []
    for _ in range(count):
        while len(stream) < per_source:
            deck = [names[i] for i in rng.permutation(len(names))]
            while set(deck[: per_source - len(stream)]) & set(stream):
                deck = [names[i] for i in rng.permutation(len(names))]
            stream += deck
        hands.append(stream[:per_source])
        stream = stream[per_source:]
    return hands


def _png(image):
    """Lossless PNG bytes; fast compression, since encoding dominates the build time."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _source_rows(rng, source, families, extra_pairs_per_edit):
    """The preference rows of one source image whose edits come from ``families``."""
    encoded = {}

    def png(image):  # each distinct image is encoded once; ids are stable while the candidates are alive
        if id(image) not in encoded:
            encoded[id(image)] = _png(image)
        return encoded[id(image)]

    edits = [(f, *c) for f in families if (c := _edit_candidates(rng, source.image, f)) is not None]
    extras, weights = list(EXTRA_PAIRS), np.array(list(EXTRA_PAIRS.values()), dtype=float)
    rows = []
    for i, (family, instruction, images) in enumerate(edits):
        if len(edits) > 1:
            images["wrong_edit"] = edits[(i + 1) % len(edits)][2]["right"]
        drawn = rng.choice(len(extras), size=extra_pairs_per_edit, replace=False, p=weights / weights.sum())
        for chosen, rejected in [("right", "wrong_edit"), *(extras[j] for j in drawn)]:
            a, b = images.get(chosen), images.get(rejected)
            if a is None or b is None or not visibly_different(a, b):
                continue
            rows.append({
                "source": png(source.image), "instruction": instruction, "chosen": png(a), "rejected": png(b),
                "chosen_scores": list(SCORES[chosen]), "rejected_scores": list(SCORES[rejected]),
                "tie": sum(SCORES[chosen]) == sum(SCORES[rejected]),
                "family": family, "rejection": rejected, "chosen_kind": chosen, "photo": source.photo,
            })
    return rows


def _split(sources, seed, split_index, families_per_source, extra_pairs_per_edit):
    """One split as a ``Dataset``, its rows in a seeded random order."""
    hands = _deal_families(np.random.default_rng([seed, split_index, 0]), len(sources), families_per_source)
    rows = []
    for i, (source, hand) in enumerate(zip(sources, hands)):
        rows += _source_rows(np.random.default_rng([seed, split_index, 1, i]), source, hand, extra_pairs_per_edit)
    order = np.random.default_rng([seed, split_index, 2]).permutation(len(rows))
    return Dataset.from_list([rows[i] for i in order], features=FEATURES)


def build_edit_dataset(
    image_size: int = 112,
    seed: int = 0,
    crops_per_photo: int = 8,
    test_crops_per_photo: int = 24,
    num_scenes: int = 100,
    families_per_source: int = 3,
    extra_pairs_per_edit: int = 2,
    test_photos: tuple[str, ...] = ("chelsea", "coffee"),
) -> DatasetDict:
    """Build the "train" and "test" splits; the same arguments give the same bytes.

    Args:
        image_size: side in pixels of every (square) image.
        seed: fixes crops, scenes, edits, instructions and row order.
        crops_per_photo: random crops of each training photo, each one source image.
        test_crops_per_photo: random crops of each held-out photo.
        num_scenes: procedural scenes added to the train split.
        families_per_source: edits (of distinct families) made on each source image.
        extra_pairs_per_edit: pairs drawn from ``EXTRA_PAIRS`` per edit, besides its right-vs-wrong pair.
        test_photos: photos (from ``photos.PHOTOS``) held out for the test split; one name may be given as a string.
    """
    test_photos = (test_photos,) if isinstance(test_photos, str) else tuple(test_photos)
    if unknown := set(test_photos) - set(PHOTOS):
        raise ValueError(f"test_photos: {sorted(unknown)} are not photos; choose from {', '.join(PHOTOS)}")
    if not 2 <= families_per_source <= len(FAMILIES):
        raise ValueError(f"families_per_source is {families_per_source}; it must be from 2 to {len(FAMILIES)}")
    if not 0 <= extra_pairs_per_edit <= len(EXTRA_PAIRS):
        raise ValueError(f"extra_pairs_per_edit is {extra_pairs_per_edit}; it must be from 0 to {len(EXTRA_PAIRS)}")
    if image_size < 28:
        raise ValueError(f"image_size is {image_size} px; edits need at least 28 px to be visible")
    train_photos = [name for name in PHOTOS if name not in test_photos]
    train = [s for name in train_photos for s in photo_crops(name, crops_per_photo, image_size, seed)]
    train += scenes(num_scenes, image_size, seed)
    test = [s for name in test_photos for s in photo_crops(name, test_crops_per_photo, image_size, seed)]
    return DatasetDict(
        train=_split(train, seed, 0, families_per_source, extra_pairs_per_edit),
        test=_split(test, seed, 1, families_per_source, extra_pairs_per_edit),
    )


def save_edit_dataset(path: str, **options) -> DatasetDict:
    """Build the data set with ``build_edit_dataset(**options)`` and save it with ``save_to_disk(path)``."""
    dataset = build_edit_dataset(**options)
    dataset.save_to_disk(path)
    return dataset


def _count_table(title, counters):
    """Rows of ``title`` values with one count column per split."""
    keys = sorted(set().union(*(c for c in counters.values())))
    width = max(len(title), *(len(k) for k in keys))
    lines = [f"{title:<{width}}" + "".join(f"  {split:>6}" for split in counters)]
    lines += [f"{k:<{width}}" + "".join(f"  {c[k]:>6}" for c in counters.values()) for k in keys]
    return lines


def describe_dataset(dataset: DatasetDict) -> str:
    """Counts per split: rows, photos, ties, pairs whose dimensions disagree, and rows per family, rejection, kind."""
    lines = [f"{'split':<6}  {'rows':>6}  {'photos':>6}  {'ties':>6}  {'IF/VQ disagree':>14}"]
    for split, rows in dataset.items():
        chosen, rejected = np.array(rows["chosen_scores"]), np.array(rows["rejected_scores"])
        disagree = int((np.sign(chosen - rejected).prod(axis=1) < 0).sum())
        lines.append(f"{split:<6}  {len(rows):>6}  {len(set(rows['photo'])):>6}  {sum(rows['tie']):>6}  {disagree:>14}")
    for column in ("family", "rejection", "chosen_kind"):
        lines += ["", *_count_table(column, {s: collections.Counter(r[column]) for s, r in dataset.items()})]
    return "\n".join(lines)
