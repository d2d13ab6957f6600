"""The compact single-pass input format: one row per triplet with one reward token per dimension, each head reading
its own token; packing, saving, scoring and training unchanged; mismatches named."""

import pytest
import torch
from conftest import packed_and_flat
from PIL import Image

from editreward import EditRewardConfig, EditRewardProcessor, EditRewardScorer
from editreward.modeling_editreward.prompts_editreward import COMPACT_PROMPT

SHORT_COMPACT = "{text_prompt}\nFollowed: <|Reward|>\nLooks good: <|Reward|>"


@pytest.fixture(scope="module")
def compact_processor(make_processor):
    return make_processor(input_format="compact", compact_prompt=SHORT_COMPACT)


@pytest.fixture
def make_compact_model(make_model):
    return lambda seed=0, **kwargs: make_model(seed=seed, input_format="compact", compact_prompt=SHORT_COMPACT, **kwargs)


def _triplets(photos):
    a, b = photos["astronaut"], photos["rocket"].resize((200, 120))
    sources = [a, a, b, a]
    instructions = ["mirror it", "make it gray", "zoom in", "add a red circle"]
    edits = [a.transpose(Image.Transpose.FLIP_LEFT_RIGHT), a.convert("L").convert("RGB"), photos["coffee"], photos["coffee"]]
    return sources, instructions, edits


def test_one_row_per_triplet_with_a_reward_token_per_dimension(compact_processor, processor, photos):
    compact, per_dimension = compact_processor(*_triplets(photos)), processor(*_triplets(photos))
    assert compact["input_ids"].shape[0] == 4 and per_dimension["input_ids"].shape[0] == 8
    assert (compact["input_ids"] == compact_processor.reward_token_id).sum(-1).tolist() == [2, 2, 2, 2]
    text = compact_processor.decode(compact["input_ids"][1])
    assert "make it gray\nFollowed: <|Reward|>\nLooks good: <|Reward|>" in text
    tokens = lambda inputs: int(inputs["attention_mask"].sum())  # noqa: E731
    assert tokens(compact) < 0.5 * tokens(per_dimension)  # the released rubrics twice against one short row


def test_each_head_reads_its_own_reward_token(make_model, make_processor, photos):
    """Text between the two reward tokens changes the second dimension's score and never the first's (causal)."""
    scores = {}
    for words in ("Looks good", "Is it pretty"):
        prompt = "{text_prompt}\nFollowed: <|Reward|>\n" + words + ": <|Reward|>"
        processor = make_processor(input_format="compact", compact_prompt=prompt)
        model = make_model(input_format="compact", compact_prompt=prompt)
        with torch.no_grad():
            scores[words] = model(**processor(*_triplets(photos))).mu
    first, second = scores.values()
    torch.testing.assert_close(first[:, 0], second[:, 0], atol=1e-6, rtol=1e-6)
    assert (first[:, 1] - second[:, 1]).abs().min() > 1e-4


@pytest.mark.parametrize("packed_attention", ["tree", "mask"])
def test_packing_equals_one_row_per_triplet_with_gradients(make_compact_model, compact_processor, photos,
                                                           packed_attention):  # fmt: skip
    inputs = compact_processor(*_triplets(photos))
    model = make_compact_model(packed_attention=packed_attention)
    results = packed_and_flat(model, inputs, lambda m: [m.model.visual.merger.mlp[0].weight])
    for packed, flat in zip(results[True], results[False]):
        torch.testing.assert_close(packed, flat, atol=1e-5, rtol=1e-5)


def test_a_saved_compact_model_scores_alike_after_loading(make_compact_model, compact_processor, photos, tmp_path):
    model = make_compact_model(seed=2)
    model.save_pretrained(tmp_path)
    compact_processor.save_pretrained(tmp_path)
    scorer = EditRewardScorer.from_pretrained(str(tmp_path), batch_size=3)
    assert (scorer.model.config.input_format, scorer.processor.input_format) == ("compact", "compact")
    assert scorer.processor.compact_prompt == SHORT_COMPACT
    scores = scorer(*_triplets(photos))
    with torch.no_grad():
        expected = model(**compact_processor(*_triplets(photos)))
    torch.testing.assert_close(torch.as_tensor(scores.mu), expected.mu, atol=1e-5, rtol=1e-5)


def test_a_compact_model_trains(make_compact_model, compact_processor, instruction_pairs, tmp_path):
    from editreward.trainer import EditRewardTrainer, EditRewardTrainingArguments

    model = make_compact_model()
    before = {name: p.detach().clone() for name, p in model.heads.named_parameters()}
    args = EditRewardTrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=2, max_steps=2,
                                       learning_rate=1e-3, logging_steps=1, report_to="none", save_strategy="no",
                                       seed=0, activation_checkpointing=False, dataloader_pin_memory=False)  # fmt: skip
    trainer = EditRewardTrainer(model=model, args=args, train_dataset=instruction_pairs(["astronaut", "coffee"]),
                                processing_class=compact_processor)  # fmt: skip
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert losses and all(torch.isfinite(torch.tensor(losses)))
    assert any(not torch.equal(before[name], p) for name, p in model.heads.named_parameters())


def test_mismatches_are_named(make_compact_model, compact_processor, processor, photos, tokenizer):
    with pytest.raises(ValueError, match="compact_prompt holds the reward token '<\\|Reward\\|>' 1 times.*2 dimensions"):
        EditRewardConfig(input_format="compact", compact_prompt="{text_prompt} <|Reward|>")
    with pytest.raises(ValueError, match="input_format='both' is not supported"):
        EditRewardProcessor(tokenizer=tokenizer, input_format="both")
    with pytest.raises(ValueError, match="disagree on input_format"):
        make_compact_model().config.check_processor(processor)
    with pytest.raises(ValueError, match="8 rows but 4 triplets x 1 rows \\('compact' input format\\)"):
        make_compact_model()(**processor(*_triplets(photos)))
    assert COMPACT_PROMPT.count("<|Reward|>") == 2  # the default fits the two released dimensions
