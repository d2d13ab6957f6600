"""What a folder the trainer saves records about its training: `training_facts.json` and the editreward model card
(rendered by `editreward.hub_card`), written in place of the text-model card TRL's RewardTrainer would write."""

from pathlib import Path

__all__ = ["training_facts", "write_training_record"]


def training_facts(trainer) -> dict:
    """The card's `training` dict for `trainer`'s run so far: the data in words, then the recipe settings."""
    args, state = trainer.args, trainer.state
    rows = len(trainer.train_dataset) if trainer.train_dataset is not None else 0
    name = getattr(getattr(trainer.train_dataset, "info", None), "dataset_name", None)
    data = (f"{rows} training rows ({args.tie_mode} tie handling applied to the preference pairs)"
            + (f" from the dataset {name!r}" if name else "") + ", trained with `editreward.trainer.EditRewardTrainer`.")
    peft = getattr(trainer.model, "peft_config", None)
    lora = next(iter(peft.values()), None) if isinstance(peft, dict) else None
    precision = "bf16" if args.bf16 else "fp16" if args.fp16 else "fp32"
    return {
        "data": data,
        "loss": args.loss, "tie_mode": args.tie_mode, "train_parts": args.train_parts,
        "learning_rate": args.learning_rate, "lr_scheduler_type": str(getattr(args.lr_scheduler_type, "value",
                                                                              args.lr_scheduler_type)),
        "warmup_steps": args.warmup_steps, "steps": state.global_step, "epochs": round(state.epoch or 0.0, 3),
        "batch_size": f"{args.per_device_train_batch_size} per device x {args.gradient_accumulation_steps} "
                      f"accumulation x {args.world_size} process(es)",
        "precision": precision, "gradient_checkpointing": bool(args.gradient_checkpointing),
        **({"lora": f"r={lora.r}, alpha={lora.lora_alpha}, on {lora.target_modules}"} if lora is not None else {}),
        "seed": args.seed,
    }  # fmt: skip


def write_training_record(trainer, output_dir) -> None:
    """Write `training_facts.json` and the model card into `output_dir` when it holds a whole EditReward model (a
    LoRA adapter folder is no model the card can describe: `save_merged_model` writes one)."""
    from editreward.hub_card import render_model_card
    from editreward.hub_card.training_facts import write_training_facts

    folder = Path(output_dir)
    if not (folder / "config.json").is_file() or (folder / "adapter_config.json").is_file():
        return
    write_training_facts(folder, training_facts(trainer))
    model_name = trainer.args.hub_model_id or folder.resolve().name
    render_model_card(folder, model_name=model_name).save(folder / "README.md")
