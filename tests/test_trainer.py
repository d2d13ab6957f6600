"""EditRewardTrainer: training, evaluation, checkpoints, resuming, what trains, LoRA, losses and bad rows."""

import logging
import os

import datasets
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from transformers import AutoModel, AutoProcessor, TrainerCallback
from trl import RewardConfig

from editreward.trainer import EditRewardTrainer, EditRewardTrainingArguments, default_lora_config, pair_features
from editreward.trainer.losses import pairwise_loss, pointwise_loss

TARGET_KEYS = ("overall_target", "dimension_targets", "tie", "human_scores")


@pytest.fixture
def short_model(make_short_model):
    return make_short_model()


def training_args(tmp_path, **overrides):
    defaults = dict(output_dir=str(tmp_path), per_device_train_batch_size=2, per_device_eval_batch_size=2, max_steps=4,
                    learning_rate=1e-3, logging_steps=1, report_to="none", save_strategy="no",
                    gradient_checkpointing=False, seed=0, data_seed=0)
    return EditRewardTrainingArguments(**{**defaults, **overrides})


def model_inputs(batch):
    """The collator's batch without the training targets: what the model's forward takes."""
    return {k: v for k, v in batch.items() if k not in TARGET_KEYS}


def test_train_evaluate_and_load_a_checkpoint(short_model, short_processor, instruction_pairs, photos, tmp_path):
    data = instruction_pairs(["astronaut", "coffee"])
    args = training_args(tmp_path, save_strategy="steps", save_steps=4, gradient_checkpointing=True)
    trainer = EditRewardTrainer(model=short_model, args=args, train_dataset=data, eval_dataset=data,
                                processing_class=short_processor)
    trainer.train()
    metrics = trainer.evaluate()
    assert {"eval_loss", "eval_pair_accuracy", "eval_mean_mu_chosen", "eval_mean_mu_rejected",
            "eval_mean_sigma"} <= set(metrics)
    assert 0.0 <= metrics["eval_pair_accuracy"] <= 1.0
    logged = {key for entry in trainer.state.log_history for key in entry}
    assert {"pair_accuracy", "mu_chosen", "mu_rejected", "sigma", "loss"} <= logged
    checkpoint = tmp_path / "checkpoint-4"
    model = AutoModel.from_pretrained(checkpoint, trust_remote_code=True, dtype=torch.float32).eval()
    processor = AutoProcessor.from_pretrained(checkpoint, trust_remote_code=True)
    assert processor.rubric_prompts == short_processor.rubric_prompts
    trained = trainer.model.eval()
    inputs = processor([photos["chelsea"]], ["mirror it"], [photos["rocket"]])
    with torch.no_grad():
        torch.testing.assert_close(model(**inputs).mu, trained(**inputs).mu)


def test_resuming_gives_the_same_weights_as_an_uninterrupted_run(
    make_short_model, short_processor, instruction_pairs, tmp_path
):
    data = instruction_pairs(["astronaut", "coffee", "rocket"])

    class CrashAfterStep3(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            control.should_training_stop = state.global_step == 3

    def run(output_dir, resume=None, callbacks=None):
        model = make_short_model()
        args = training_args(output_dir, max_steps=6, save_strategy="steps", save_steps=3)
        trainer = EditRewardTrainer(model=model, args=args, train_dataset=data, processing_class=short_processor,
                                    callbacks=callbacks)
        trainer.train(resume_from_checkpoint=resume)
        return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}

    uninterrupted = run(tmp_path / "a")
    run(tmp_path / "b", callbacks=[CrashAfterStep3()])  # interrupted after the step-3 checkpoint
    resumed = run(tmp_path / "b", resume=str(tmp_path / "b" / "checkpoint-3"))
    initial = make_short_model().state_dict()
    assert not torch.equal(uninterrupted["heads.visual_quality.0.weight"], initial["heads.visual_quality.0.weight"])
    for key, value in uninterrupted.items():
        torch.testing.assert_close(resumed[key], value, rtol=0, atol=1e-6, msg=key)


@pytest.mark.parametrize("train_parts", ["full", "freeze_vision", "heads"])
def test_train_parts_decide_what_changes(short_model, short_processor, instruction_pairs, tmp_path, train_parts):
    before = {k: v.detach().clone() for k, v in short_model.state_dict().items()}
    args = training_args(tmp_path, max_steps=2, train_parts=train_parts)
    EditRewardTrainer(model=short_model, args=args, train_dataset=instruction_pairs(["coffee"]),
                      processing_class=short_processor).train()
    after = short_model.state_dict()

    def changed(prefix):
        return any(not torch.equal(before[k], after[k]) for k in before if k.startswith(prefix))

    assert changed("heads.instruction_following.") and changed("reward_token.")
    assert not changed("model.language_model.embed_tokens")
    assert changed("model.language_model.layers.") == (train_parts != "heads")
    assert changed("model.visual.") == (train_parts == "full")


def test_lora_trains_language_adapters_heads_and_reward_token_and_merges(
    short_model, short_processor, instruction_pairs, photos, tmp_path
):
    args = training_args(tmp_path, max_steps=2)
    trainer = EditRewardTrainer(model=short_model, args=args, train_dataset=instruction_pairs(["rocket"]),
                                processing_class=short_processor, peft_config=default_lora_config(r=4))
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert any("language_model" in n and "lora_A" in n for n in trainable)
    assert not any(".model.visual." in n for n in trainable)  # the vision tower gets no adapters
    assert any("heads.visual_quality" in n for n in trainable) and any("reward_token" in n for n in trainable)
    trainer.train()
    trainer.save_model(str(tmp_path / "adapter"))
    assert {"adapter_config.json", "adapter_model.safetensors"} <= set(os.listdir(tmp_path / "adapter"))
    inputs = short_processor([photos["rocket"]], ["mirror it"], [photos["coffee"]])
    trainer.model.eval()
    with torch.no_grad():
        peft_mu = trainer.model(**inputs).mu
    trainer.save_merged_model(str(tmp_path / "merged"))
    merged = AutoModel.from_pretrained(tmp_path / "merged", trust_remote_code=True, dtype=torch.float32).eval()
    with torch.no_grad():
        torch.testing.assert_close(merged(**inputs).mu, peft_mu, atol=1e-5, rtol=1e-4)
        assert torch.equal(trainer.model(**inputs).mu, peft_mu)


def adapter_tensors(folder):
    with safe_open(folder / "adapter_model.safetensors", "pt") as adapter:
        return list(adapter.keys())


def test_saving_a_merged_model_keeps_the_trainers_adapters(short_model, short_processor, instruction_pairs, tmp_path):
    trainer = EditRewardTrainer(model=short_model, args=training_args(tmp_path, max_steps=1),
                                train_dataset=instruction_pairs(["rocket"]), processing_class=short_processor,
                                peft_config=default_lora_config(r=4))
    trainer.train()
    trainer.save_model(str(tmp_path / "before"))
    trainer.save_merged_model(str(tmp_path / "merged"))
    trainer.save_model(str(tmp_path / "after"))
    assert any("lora_A" in key for key in adapter_tensors(tmp_path / "before"))
    assert adapter_tensors(tmp_path / "after") == adapter_tensors(tmp_path / "before")
    assert not any("lora" in key for key in AutoModel.from_pretrained(tmp_path / "merged").state_dict())


def test_only_the_main_process_writes_the_merged_model(
    short_model, short_processor, instruction_pairs, tmp_path, monkeypatch
):
    trainer = EditRewardTrainer(model=short_model, args=training_args(tmp_path, max_steps=1),
                                train_dataset=instruction_pairs(["rocket"]), processing_class=short_processor,
                                peft_config=default_lora_config(r=4))
    monkeypatch.setattr(EditRewardTrainingArguments, "should_save", property(lambda self: False))  # another rank
    assert trainer.save_merged_model(str(tmp_path / "merged")) is None
    assert not (tmp_path / "merged").exists()


def test_the_merged_model_is_a_cpu_copy_and_the_trainers_model_is_untouched(
    short_model, short_processor, instruction_pairs, photos, tmp_path, monkeypatch
):
    trainer = EditRewardTrainer(model=short_model, args=training_args(tmp_path, max_steps=1),
                                train_dataset=instruction_pairs(["rocket"]), processing_class=short_processor,
                                peft_config=default_lora_config(r=4))
    trainer.train()
    live = dict(trainer.model.named_parameters())
    before = {name: (param.device, param.detach().clone()) for name, param in live.items()}

    def refuse(tensor, memo):
        raise AssertionError("a tensor was deep-copied on its own device")

    monkeypatch.setattr(torch.Tensor, "__deepcopy__", refuse)  # every tensor must come through the CPU copies
    merged = trainer.save_merged_model(str(tmp_path / "merged"))
    monkeypatch.undo()
    assert {tensor.device.type for tensor in (*merged.parameters(), *merged.buffers())} == {"cpu"}
    assert dict(trainer.model.named_parameters()).keys() == live.keys()
    for name, param in trainer.model.named_parameters():
        assert param is live[name] and param.device == before[name][0] and torch.equal(param, before[name][1]), name
    saved = AutoModel.from_pretrained(tmp_path / "merged", trust_remote_code=True, dtype=torch.float32).eval()
    inputs = short_processor([photos["rocket"]], ["mirror it"], [photos["coffee"]])
    with torch.no_grad():
        torch.testing.assert_close(saved(**inputs).mu, merged.eval()(**inputs).mu)


def test_batch_metrics_make_one_collective_whatever_the_batch_holds(
    short_model, short_processor, instruction_pairs, tmp_path
):
    trainer = EditRewardTrainer(model=short_model, args=training_args(tmp_path), processing_class=short_processor,
                                train_dataset=instruction_pairs(["rocket"]))
    collectives = []
    for name in ("gather", "gather_for_metrics", "reduce"):
        original = getattr(trainer.accelerator, name)
        setattr(trainer.accelerator, name, lambda *a, _f=original, _n=name, **k: collectives.append(_n) or _f(*a, **k))
    chosen, rejected, sigma = torch.tensor([1.0, 0.0, 2.0]), torch.tensor([0.0, 1.0, 0.0]), torch.ones(6)
    only_ties = dict(overall=torch.tensor([1.0, 1.0, 0.0]), tie=torch.tensor([True, True, True]))
    ranked = dict(overall=torch.tensor([1.0, 1.0, 1.0]), tie=torch.tensor([False, False, True]))
    for batch in (only_ties, ranked):
        collectives.clear()
        trainer._log_batch_metrics(chosen, rejected, sigma, batch["overall"], batch["tie"])
        assert len(collectives) == 1
    metrics = trainer._metrics["train"]
    assert metrics["pair_accuracy"] == [0.5] and metrics["mu_chosen"] == [1.0, 1.0] and metrics["sigma"] == [1.0, 1.0]


def test_loss_is_the_configured_ranking_loss(short_model, short_processor, instruction_pairs, tmp_path):
    data = instruction_pairs(["chelsea"])
    for loss in ("expected_bt", "gaussian_nll", "bradley_terry"):
        trainer = EditRewardTrainer(model=short_model, args=training_args(tmp_path, loss=loss), train_dataset=data,
                                    processing_class=short_processor)
        batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
        short_model.eval()
        with torch.no_grad():
            out = short_model(**model_inputs(batch))
            score, log_sigma = out.score, out.score_log_sigma
            expected = pairwise_loss(loss, score[:2], log_sigma[:2], score[2:], log_sigma[2:]).mean()
            assert trainer.compute_loss(short_model, dict(batch)).item() == pytest.approx(expected.item(), rel=1e-5)


def test_pointwise_ranking_weight_adds_a_ranking_of_each_head_where_its_scores_differ(
    short_model, short_processor, photos, tmp_path
):
    p = photos["coffee"]
    rows = [dict(source=p, instruction="make it black and white", chosen=p.convert("L").convert("RGB"), rejected=p,
                 chosen_scores=[4, 4], rejected_scores=[1, 4], tie=False),
            dict(source=p, instruction="mirror it", chosen=p.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                 rejected=p.rotate(180), chosen_scores=[4, 2], rejected_scores=[2, 4], tie=False)]
    data = datasets.Dataset.from_list(rows, features=pair_features())
    args = training_args(tmp_path, loss="pointwise", pointwise_ranking_weight=0.5, tie_mode="drop")
    trainer = EditRewardTrainer(model=short_model, args=args, train_dataset=data, processing_class=short_processor)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
    short_model.eval()
    with torch.no_grad():
        out = short_model(**model_inputs(batch))
        regression = pointwise_loss(out.mu, batch["human_scores"], out.log_sigma).mean()
        mu_c, mu_r = out.mu[:2], out.mu[2:]
        # Ranked (pair, dimension) elements: pair 0 on instruction following; pair 1 on both, visual quality reversed.
        margins = torch.stack([mu_c[0, 0] - mu_r[0, 0], mu_c[1, 0] - mu_r[1, 0], mu_r[1, 1] - mu_c[1, 1]])
        ranking = torch.nn.functional.softplus(-margins).mean()
        loss = trainer.compute_loss(short_model, dict(batch)).item()
    assert loss == pytest.approx((regression + 0.5 * ranking).item(), rel=1e-5)


def test_ties_by_dimension_supervise_each_head(short_model, short_processor, photos, tmp_path):
    p = photos["astronaut"]
    tie = dict(source=p, instruction="blur it", chosen=p.rotate(90), rejected=p.rotate(180),
               chosen_scores=[4, 2], rejected_scores=[2, 4], tie=True)
    data = datasets.Dataset.from_list([tie], features=pair_features())
    trainer = EditRewardTrainer(model=short_model, args=training_args(tmp_path, tie_mode="by_dimension"),
                                train_dataset=data, processing_class=short_processor)
    row = trainer.train_dataset[0]
    assert row["overall_target"] == 0.0 and row["dimension_targets"] == [1, -1]
    batch = trainer.data_collator([row])
    short_model.eval()
    with torch.no_grad():
        out = short_model(**model_inputs(batch))
        if_loss = pairwise_loss("expected_bt", out.mu[:1, 0], out.log_sigma[:1, 0], out.mu[1:, 0], out.log_sigma[1:, 0])
        vq_loss = pairwise_loss("expected_bt", out.mu[1:, 1], out.log_sigma[1:, 1], out.mu[:1, 1], out.log_sigma[:1, 1])
        expected = (if_loss + vq_loss) / 2
        assert trainer.compute_loss(short_model, dict(batch)).item() == pytest.approx(expected.item(), rel=1e-5)


def test_bad_rows_are_named_or_skipped_with_a_count(short_model, short_processor, instruction_pairs, tmp_path, caplog):
    rows = instruction_pairs(["coffee", "rocket"]).to_list()
    rows[2]["chosen_scores"] = [float("nan"), 4.0]
    data = datasets.Dataset.from_list(rows, features=pair_features())
    with pytest.raises(ValueError, match="row 2"):
        EditRewardTrainer(model=short_model, args=training_args(tmp_path), train_dataset=data,
                          processing_class=short_processor)
    with caplog.at_level(logging.WARNING):
        trainer = EditRewardTrainer(model=short_model, args=training_args(tmp_path, invalid_rows="skip"),
                                    train_dataset=data, processing_class=short_processor)
    assert len(trainer.train_dataset) == 3
    assert "skipped 1 of 4 rows" in caplog.text


def test_pointwise_refuses_rows_without_scores_before_training(
    short_model, short_processor, instruction_pairs, tmp_path
):
    rows = instruction_pairs(["coffee"]).to_list()
    rows[1]["chosen_scores"] = None
    data = datasets.Dataset.from_list(rows, features=pair_features())
    with pytest.raises(ValueError, match=r"row 1, column 'chosen_scores': scores are unknown but required "
                                         r"\(loss='pointwise'\)\. Fix: give them, or drop the row"):
        EditRewardTrainer(model=short_model, args=training_args(tmp_path, loss="pointwise"), train_dataset=data,
                          processing_class=short_processor)
    trainer = EditRewardTrainer(model=short_model, train_dataset=data, processing_class=short_processor,
                                args=training_args(tmp_path, loss="pointwise", invalid_rows="skip"))
    assert len(trainer.train_dataset) == 1


def test_a_missing_image_file_is_named_before_training(
    short_model, short_processor, instruction_pairs, photos, tmp_path
):
    photos["coffee"].save(tmp_path / "coffee.png")
    rows = instruction_pairs(["coffee"]).to_list()
    rows[0]["rejected"] = str(tmp_path / "gone.png")
    data = datasets.Dataset.from_list(rows, features=pair_features())
    with pytest.raises(ValueError, match=r"row 0, column 'rejected': image file not found"):
        EditRewardTrainer(model=short_model, args=training_args(tmp_path), train_dataset=data,
                          processing_class=short_processor)


def test_streaming_datasets_and_plain_reward_configs_are_refused(
    short_model, short_processor, instruction_pairs, tmp_path
):
    data = instruction_pairs(["coffee"])
    with pytest.raises(TypeError, match="train dataset is an IterableDataset.*Fix: pass a map-style"):
        EditRewardTrainer(model=short_model, args=training_args(tmp_path), processing_class=short_processor,
                          train_dataset=data.to_iterable_dataset())
    with pytest.raises(TypeError, match="args is a RewardConfig; EditRewardTrainer needs EditRewardTrainingArguments"):
        EditRewardTrainer(model=short_model, args=RewardConfig(output_dir=str(tmp_path), bf16=False),
                          train_dataset=data, processing_class=short_processor)


@pytest.mark.parametrize("options, message", [
    (dict(monte_carlo_samples=0), r"monte_carlo_samples=0: the loss would be NaN\. Fix: use at least 1"),
    (dict(quadrature_nodes=1), r"quadrature_nodes=1: one node or fewer ignores sigma\. Fix: use at least 2"),
    (dict(loss="pointwise", per_dimension_supervision=True), r"per_dimension_supervision applies to the pairwise "
                                                             r"losses only.*Fix: drop it, or set pointwise_ranking"),
    (dict(max_length=16), r"max_length=16 is not supported by EditRewardTrainer.*Fix: leave it None"),
    (dict(center_rewards_coefficient=0.01), r"center_rewards_coefficient=0.01 is not supported.*Fix: leave it None"),
])
def test_arguments_refuse_values_that_would_break_or_be_ignored(tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        training_args(tmp_path, **options)


def test_arguments_reject_unknown_choices(tmp_path):
    with pytest.raises(ValueError, match="loss='hinge' is not supported"):
        training_args(tmp_path, loss="hinge")
    with pytest.raises(ValueError, match="monte_carlo' applies to loss='expected_bt' only"):
        training_args(tmp_path, loss="gaussian_nll", loss_estimator="monte_carlo")
    with pytest.raises(ValueError, match="pointwise_ranking_weight applies to loss='pointwise' only"):
        training_args(tmp_path, pointwise_ranking_weight=1.0)
    with pytest.raises(ValueError, match="pointwise_ranking_weight must be a number >= 0"):
        training_args(tmp_path, loss="pointwise", pointwise_ranking_weight=-1.0)
    assert training_args(tmp_path).bf16 is False  # no CUDA here: the same script runs on CPU


def test_an_infinite_human_score_is_refused_before_training(short_model, short_processor, instruction_pairs, tmp_path):
    rows = instruction_pairs(["coffee", "rocket"]).to_list()
    rows[3]["chosen_scores"] = [float("inf"), 4.0]  # trained "successfully" to NaN weights before
    data = datasets.Dataset.from_list(rows, features=pair_features())
    with pytest.raises(ValueError, match=r"row 3, column 'chosen_scores': the 'instruction_following' score is inf\. "
                                         r"Fix: give a finite number"):
        EditRewardTrainer(model=short_model, args=training_args(tmp_path, loss="pointwise"), train_dataset=data,
                          processing_class=short_processor)


def test_validate_images_names_a_truncated_image_before_training(
    short_model, short_processor, instruction_pairs, photos, tmp_path
):
    truncated = tmp_path / "truncated.jpg"
    photos["chelsea"].save(truncated, "JPEG")
    truncated.write_bytes(truncated.read_bytes()[:-300])
    rows = instruction_pairs(["coffee", "rocket"]).to_list()
    rows[2]["rejected"] = str(truncated)
    data = datasets.Dataset.from_list(rows, features=pair_features())
    with pytest.raises(ValueError, match=r"row 2, column 'rejected': the image data is truncated or corrupt.*Fix: "
                                         r"re-export or re-download the image file, or drop the row"):
        EditRewardTrainer(model=short_model, args=training_args(tmp_path, validate_images=True), train_dataset=data,
                          processing_class=short_processor)
    trainer = EditRewardTrainer(model=short_model, train_dataset=data, processing_class=short_processor,
                                args=training_args(tmp_path, validate_images=True, invalid_rows="skip"))
    assert len(trainer.train_dataset) == 3


def test_a_dataset_dict_is_refused_naming_its_splits(short_model, short_processor, instruction_pairs, tmp_path):
    data = datasets.DatasetDict(train=instruction_pairs(["coffee"]), test=instruction_pairs(["rocket"]))
    with pytest.raises(TypeError, match=r"train_dataset is a DatasetDict with splits \['train', 'test'\]; training "
                                        r"takes one split\. Fix: pass train_dataset=pairs\['train'\]"):
        EditRewardTrainer(model=short_model, args=training_args(tmp_path), train_dataset=data,
                          processing_class=short_processor)


def test_gradient_checkpointing_is_on_by_default_only_with_an_accelerator(tmp_path, monkeypatch):
    from editreward.trainer import editreward_config

    def defaults(**options):
        args = EditRewardTrainingArguments(output_dir=str(tmp_path), report_to="none", **options)
        assert args.gradient_checkpointing == args.activation_checkpointing  # the alias Trainer and TRL read
        return args.gradient_checkpointing

    assert defaults() is False  # this machine: CPU only, where checkpointing only costs time
    assert defaults(gradient_checkpointing=True) is True
    monkeypatch.setattr(editreward_config, "_accelerator_present", lambda: True)
    assert defaults() is True
    assert defaults(use_cpu=True) is False
    assert defaults(activation_checkpointing=False) is False


def test_saved_folders_carry_the_editreward_card_and_the_training_facts(
    short_model, short_processor, instruction_pairs, tmp_path
):
    """TRL's RewardTrainer wrote its text-model card ("fine-tuned version of [None]", a pipeline on "The capital of
    France is Paris.") into every folder it saved; the folder kept nothing of the training."""
    import json

    from huggingface_hub import ModelCard

    from editreward.hub_card import CARD_MARKER, check_model_folder

    args = training_args(tmp_path / "run", max_steps=2, save_strategy="steps", save_steps=2, loss="pointwise")
    trainer = EditRewardTrainer(model=short_model, args=args, train_dataset=instruction_pairs(["rocket"]),
                                processing_class=short_processor)
    trainer.train()
    trainer.save_model()
    for folder in (tmp_path / "run", tmp_path / "run" / "checkpoint-2"):
        card = ModelCard.load(folder / "README.md")
        assert CARD_MARKER in card.text and "The capital of France" not in card.text and "[None]" not in card.text
        facts = json.loads((folder / "training_facts.json").read_text())
        assert facts["loss"] == "pointwise" and facts["steps"] == 2 and facts["learning_rate"] == 1e-3
        assert "| `loss` | `pointwise` |" in card.text and "Unknown" not in card.text
    assert check_model_folder(tmp_path / "run") == []  # ready to push as saved
