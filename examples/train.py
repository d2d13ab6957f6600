"""Train an EditReward model on a preference dataset, on one or several GPUs (or CPU processes).

    accelerate launch --config_file examples/accelerate/deepspeed_zero2.yaml examples/train.py \
        --model DIR_OR_HUB_ID --train-data PAIRS_DIR --output-dir out [--eval-data DIR] [--lora-rank 16]

`--model` is an EditReward folder (weights, config, processor); start one from a backbone with
`EditRewardModel.from_backbone`. The data is a `datasets` folder (`save_to_disk`) in the pair schema of
`editreward.trainer.pairs`. Any `EditRewardTrainingArguments` field can be passed as `--name value`.
"""

from dataclasses import dataclass, field

from transformers import AutoModel, AutoProcessor, HfArgumentParser


@dataclass
class ScriptArguments:
    model: str = field(metadata={"help": "EditReward model folder or Hub id"})
    train_data: str = field(metadata={"help": "training pairs saved with datasets' save_to_disk"})
    eval_data: str | None = field(default=None, metadata={"help": "evaluation pairs (save_to_disk folder)"})
    lora_rank: int = field(default=0, metadata={"help": "LoRA rank on the language model (0: no LoRA)"})


def main():
    import datasets

    from editreward.trainer import EditRewardTrainer, EditRewardTrainingArguments, default_lora_config

    script, args = HfArgumentParser((ScriptArguments, EditRewardTrainingArguments)).parse_args_into_dataclasses()
    model = AutoModel.from_pretrained(script.model, trust_remote_code=True)
    processor = AutoProcessor.from_pretrained(script.model, trust_remote_code=True)
    trainer = EditRewardTrainer(
        model=model, args=args, processing_class=processor,
        train_dataset=datasets.load_from_disk(script.train_data),
        eval_dataset=datasets.load_from_disk(script.eval_data) if script.eval_data else None,
        peft_config=default_lora_config(r=script.lora_rank) if script.lora_rank else None,
    )
    trainer.train()
    if trainer.is_world_process_zero():
        print(f"trained on {args.world_size} process(es) for {trainer.state.global_step} steps")
    if script.lora_rank:
        trainer.save_merged_model(args.output_dir)
    else:
        trainer.save_model(args.output_dir)


if __name__ == "__main__":
    main()
