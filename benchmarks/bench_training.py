"""Training time per pair: this package's trainer step against a reference-style step, on the same model and data.

Trainer step: `EditPairCollator` + `EditRewardTrainer.compute_loss` (loss `expected_bt`, Gauss-Hermite quadrature)
+ backward + optimizer step. One backbone pass per batch: each distinct image encoded once, and with shared-prefix
packing the system prompt and source image of a pair computed once for its 4 (edit, dimension) rows, each edited
image once for its 2 dimensions, gradients flowing through the shared segments; attention only where the tree mask
allows (`--packed-attention mask`: over the whole packed row under the dense mask).

Reference step (the official training recipe): per pair 4 backbone passes (chosen and rejected x 2 dimensions),
each re-encoding both images (`reference_pass.reference_triplet_output`), the fused mean of mu and log sigma, the
Monte-Carlo expected Bradley-Terry loss with 1000 samples (noise rounded to float16), backward, optimizer step.

Both sides start from the same weights (a deep copy), train the same parts (everything but the embedding matrix)
with the same optimizer class and settings, without dropout and without activation checkpointing, on the same batch of
2 pairs; the sides' steps are interleaved. Prints the ms per pair of each side, their ratio, and both losses on the
batch before any update (they must agree within the Monte-Carlo standard error).

    python benchmarks/bench_training.py [--repeats 3] [--size small|tiny] [--threads 1] [--position-mode mrope]
                                        [--packed-attention tree|mask] [--input-format per_dimension|compact]
"""

import argparse
import copy
import statistics
import tempfile

import torch
import torch.nn.functional as F
from common import INSTRUCTIONS, add_common_arguments, build_model, build_processor, edits_of, overridden, photo, set_threads
from flop_model import describe_config, layouts, predicted_ratios
from reference_pass import reference_triplet_output
from timing import interleaved, load_average, spread

MONTE_CARLO_SAMPLES = 1000
PAIRS = (("astronaut", 0, 1), ("coffee", 1, 2))  # (source photo, chosen edit, rejected edit) from common.edits_of


def pair_rows() -> list[dict]:
    """Two preference pairs in the trainer's pair schema, on real photos."""
    rows = []
    for name, chosen, rejected in PAIRS:
        source = photo(name)
        edits = edits_of(source)
        rows.append(dict(source=source, instruction=INSTRUCTIONS[name], chosen=edits[chosen], rejected=edits[rejected],
                         chosen_scores=[4.0, 4.0], rejected_scores=[2.0, 3.0], tie=False))  # fmt: skip
    return rows


def build_trainer(model, processor, rows, output_dir: str):
    import datasets

    from editreward.trainer import EditRewardTrainer, EditRewardTrainingArguments, pair_features

    args = EditRewardTrainingArguments(
        output_dir=output_dir, per_device_train_batch_size=len(rows), learning_rate=1e-5, loss="expected_bt",
        loss_estimator="quadrature", activation_checkpointing=False, disable_dropout=True, use_cpu=True,
        report_to="none", save_strategy="no", logging_strategy="no", seed=0,
    )  # fmt: skip
    dataset = datasets.Dataset.from_list(rows, features=pair_features())
    trainer = EditRewardTrainer(model=model, args=args, train_dataset=dataset, processing_class=processor)
    trainer.create_optimizer()
    return trainer


def monte_carlo_expected_bt(fused_chosen, fused_rejected, samples: int, generator=None):
    """Per pair: the mean over `samples` draws e ~ N(0, 1) (rounded to float16) of -log sigmoid(d + s e), with
    d = mu_chosen - mu_rejected and s = sqrt(sigma_chosen^2 + sigma_rejected^2); and its standard error."""
    (mu_c, log_sigma_c), (mu_r, log_sigma_r) = fused_chosen.unbind(-1), fused_rejected.unbind(-1)
    d = mu_c - mu_r
    s = torch.sqrt(torch.exp(2 * log_sigma_c) + torch.exp(2 * log_sigma_r))
    noise = torch.randn(d.shape[0], samples, generator=generator).half().float()
    per_sample = F.softplus(-(d.unsqueeze(-1) + s.unsqueeze(-1) * noise))
    return per_sample.mean(-1), per_sample.std(-1) / samples**0.5


def reference_forward(model, processor, rows):
    """Fused [mu, log_sigma] of the chosen and of the rejected edits, [pairs, 2] each: 4 passes per pair."""
    fused = {
        side: torch.stack([
            reference_triplet_output(model, processor, row["source"], row["instruction"], row[side]).mean(0)
            for row in rows
        ])
        for side in ("chosen", "rejected")
    }  # fmt: skip
    return fused["chosen"], fused["rejected"]


def compare_losses(trainer, reference_model, processor, rows, seed: int = 0):
    """Both sides' loss on the batch before any update, and the largest fused-score difference between them."""
    with torch.no_grad():
        loss, outputs = trainer.compute_loss(trainer.model, trainer.data_collator(rows), return_outputs=True)
        chosen, rejected = reference_forward(reference_model, processor, rows)
        generator = torch.Generator().manual_seed(seed)
        per_pair, standard_error = monte_carlo_expected_bt(chosen, rejected, MONTE_CARLO_SAMPLES, generator)
    reference_loss = per_pair.mean()
    error = standard_error.square().sum().sqrt() / len(rows)
    score_difference = max((outputs["score_chosen"] - chosen[:, 0]).abs().max(),
                           (outputs["score_rejected"] - rejected[:, 0]).abs().max())  # fmt: skip
    print("\nloss on the batch before any update (same weights):")
    print(f"  trainer   expected_bt, Gauss-Hermite quadrature (32 nodes): {loss.item():.5f}")
    print(f"  reference expected_bt, Monte Carlo ({MONTE_CARLO_SAMPLES} samples, float16 noise): "
          f"{reference_loss.item():.5f} +- {error.item():.5f} (standard error)")  # fmt: skip
    difference = abs(loss - reference_loss).item()
    print(f"  difference: {difference:.5f} = {difference / error.item():.2f} standard errors; largest fused-score "
          f"difference between the sides: {score_difference.item():.2e}")


def trainer_step(trainer, rows):
    def run():
        trainer.model.train()
        loss = trainer.compute_loss(trainer.model, trainer.data_collator(rows))
        loss.backward()
        trainer.optimizer.step()
        trainer.optimizer.zero_grad(set_to_none=True)

    return run


def reference_step(model, optimizer, processor, rows, seed: int = 1):
    generator = torch.Generator().manual_seed(seed)

    def run():
        model.train()
        chosen, rejected = reference_forward(model, processor, rows)
        loss = monte_carlo_expected_bt(chosen, rejected, MONTE_CARLO_SAMPLES, generator)[0].mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return run


def main(argv=None):
    parser = add_common_arguments(argparse.ArgumentParser(description=__doc__.split("\n")[0]), repeats=3)
    parser.add_argument("--packed-attention", choices=("tree", "mask"), default="tree",
                        help="the trainer's packed attention: tree (default) or the dense mask")
    parser.add_argument("--input-format", choices=("per_dimension", "compact"), default="per_dimension",
                        help="the trainer's input format (the reference always runs the official rows)")
    args = parser.parse_args(argv)
    threads = set_threads(args.threads)
    print(f"load average at start: {load_average()}")
    from editreward.trainer import EditPairCollator

    processor = build_processor(args.family)  # the official rows, for the reference
    trainer_processor = build_processor(args.family, input_format=args.input_format)
    model = build_model(trainer_processor, args.size, family=args.family, position_mode=args.position_mode,
                        head_dropout=0.0, packed_attention=args.packed_attention)  # fmt: skip
    with tempfile.TemporaryDirectory() as output_dir:
        trainer = build_trainer(model, trainer_processor, pair_rows(), output_dir)
        rows = [trainer.train_dataset[i] for i in range(len(trainer.train_dataset))]  # as the dataloader yields them
        reference_model = copy.deepcopy(trainer.model)
        optimizer_cls, optimizer_kwargs = trainer.get_optimizer_cls_and_kwargs(trainer.args, reference_model)
        optimizer = optimizer_cls([p for p in reference_model.parameters() if p.requires_grad], **optimizer_kwargs)
        batch = trainer.data_collator(rows)
        flop_models = describe_config(trainer.model, processor, args.size, threads,
                                      batch["attention_mask"].sum(-1).tolist())  # fmt: skip
        official = EditPairCollator(processor)(rows)
        with overridden(trainer.model.config, input_format="per_dimension"):
            reference_plan = layouts(official, trainer.model.config)["reference"]
        plan = layouts(batch, trainer.model.config)["packed"]
        print(f"language-model tokens per step: reference {sum(reference_plan[0])} ({len(reference_plan[0])} rows in "
              f"full, {reference_plan[1]} image encodings); trainer {sum(plan[0])} ({len(plan[0])} packed rows, "
              f"padded; {plan[1]} image encodings)")  # fmt: skip
        layout = "tree" if trainer.model.config.packed_attention == "tree" else "packed"  # the FLOP model's name
        predicted = [predicted_ratios(flops, batch, trainer.model.config, official)[layout] for flops in flop_models]
        trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
        print(f"batch: {len(rows)} pairs = {batch['input_ids'].shape[0]} rows ({args.input_format} format), "
              f"{len(batch['image_grid_thw'])} distinct images; train_parts={trainer.args.train_parts} "
              f"({trainable / 1e6:.1f}M trainable parameters: all but the input embedding matrix)")  # fmt: skip
        print(f"optimizer: {type(trainer.optimizer).__name__} (lr {trainer.args.learning_rate}) on both sides; "
              "activation checkpointing off on both sides; no dropout (head_dropout=0, disable_dropout=True); float32")
        print(f"repetitions per side: {args.repeats} after 1 warm-up step, sides interleaved")
        if args.input_format == "per_dimension":  # the compact format's input differs: its loss is another one
            compare_losses(trainer, reference_model, processor, rows)
        times = interleaved({
            "reference (4 passes per pair, MC 1000)": reference_step(reference_model, optimizer, processor, rows),
            "EditRewardTrainer (one packed pass)": trainer_step(trainer, rows),
        }, args.repeats)  # fmt: skip
    per_pair = {side: [s / len(rows) for s in seconds] for side, seconds in times.items()}
    reference, ours = (statistics.median(seconds) for seconds in per_pair.values())
    print("\ntime per training pair (median (min-max) of the step time / pairs in the batch)")
    for side, seconds in per_pair.items():
        print(f"  {side:<40} {spread(seconds, 1e3, 'ms')}")
    print(f"  ratio reference / trainer: {reference / ours:.2f}x; the FLOP model ({layout} attention) predicts "
          f"{predicted[0]:.2f}x for this config and {predicted[1]:.2f}x for the full-size model")  # fmt: skip
    print(f"\nload average at end: {load_average()}")


if __name__ == "__main__":
    main()
