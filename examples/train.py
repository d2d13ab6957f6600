"""Train an EditReward model on a preference dataset, on one or several GPUs (or CPU processes).

    accelerate launch --config_file examples/accelerate/deepspeed_zero2.yaml examples/train.py \
        --model DIR_OR_HUB_ID --train_data PAIRS_DIR --output_dir out [--eval_data DIR] [--lora_rank 16]

`--model` is an EditReward folder (weights, config, processor); start one from a backbone with
`EditRewardModel.from_backbone`. The data is a `datasets` folder (`save_to_disk`) in the pair schema of
`editreward.trainer.pairs`: a Dataset, or a DatasetDict with the split named by `--train_split` (`--eval_split`).
Any `EditRewardTrainingArguments` field can be passed as `--name value`; `--resume_from_checkpoint
out/checkpoint-500` continues an interrupted run from that checkpoint (weights, optimizer, scheduler, step).
"""

import sys
from dataclasses import dataclass, field

from transformers import AutoModel, AutoProcessor, HfArgumentParser


@dataclass
class ScriptArguments:
    model: str = field(metadata={"help": "EditReward model folder or Hub id"})
    train_data: str = field(metadata={"help": "training pairs saved with datasets' save_to_disk"})
    train_split: str | None = field(default=None, metadata={"help": "the split of a DatasetDict --train_data"})
    eval_data: str | None = field(default=None, metadata={"help": "evaluation pairs (save_to_disk folder)"})
    eval_split: str | None = field(default=None, metadata={"help": "the split of a DatasetDict --eval_data"})
    lora_rank: int = field(default=0, metadata={"help": "LoRA rank on the language model (0: no LoRA)"})


def load_pairs(path: str, split: str | None, option: str):
    """The Dataset saved at `path`, or its `split` when it is a DatasetDict; otherwise exit with one line naming the
    splits and the fix."""
    import datasets

    data = datasets.load_from_disk(path)
    if not isinstance(data, datasets.DatasetDict):
        if split is not None:
            sys.exit(f"train.py: error: --{option}_split {split}: --{option}_data {path} is one Dataset, not a "
                     f"DatasetDict. Fix: drop --{option}_split.")
        return data
    if split not in data:
        found = "is a DatasetDict" if split is None else f"has no split {split!r}"
        first = next(iter(data), "train")
        sys.exit(f"train.py: error: --{option}_data {path} {found} with splits {list(data)}. Fix: add "
                 f"--{option}_split {first} (or pass the split's folder, {path}/{first}).")
    return data[split]


def main():
    from editreward.trainer import EditRewardTrainer, EditRewardTrainingArguments, default_lora_config

    parser = HfArgumentParser((ScriptArguments, EditRewardTrainingArguments))
    script, args = parser.parse_args_into_dataclasses()
    train_dataset = load_pairs(script.train_data, script.train_split, "train")
    eval_dataset = load_pairs(script.eval_data, script.eval_split, "eval") if script.eval_data else None
    model = AutoModel.from_pretrained(script.model, trust_remote_code=True)
    processor = AutoProcessor.from_pretrained(script.model, trust_remote_code=True)
    trainer = EditRewardTrainer(
        model=model, args=args, processing_class=processor, train_dataset=train_dataset, eval_dataset=eval_dataset,
        peft_config=default_lora_config(r=script.lora_rank) if script.lora_rank else None,
    )
    trainer.train(resume_from_checkpoint=args.resume_from_checkpoint)
    if trainer.is_world_process_zero():
        print(f"trained on {args.world_size} process(es) for {trainer.state.global_step} steps")
    if script.lora_rank:
        trainer.save_merged_model(args.output_dir)
    else:
        trainer.save_model(args.output_dir)


if __name__ == "__main__":
    main()
