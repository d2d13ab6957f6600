"""Curation throughput on this machine (tiny random model, real photos): the local engine's rows per second against
scoring one row per call, and the Ray engine's overhead against the local engine on the same rows.

    python benchmarks/bench_curation.py [--rows 48] [--batch-size 8]

The paper's claim in miniature (swapped quickstart pairs: their share in the kept half, and a model trained on the
kept half against a random half) is `bench_curation_claim.py`.
"""

import argparse
import tempfile
import time
from pathlib import Path

from editreward.utils.environment import use_offline_environment


def build(rows: int, folder: Path):
    """A tiny random EditReward model saved to `folder`, and `rows` triplets of real photos and simple edits."""
    import datasets
    import torch
    from PIL import Image, ImageFilter
    from skimage import data

    from editreward import EditRewardConfig, EditRewardModel, EditRewardProcessor
    from editreward.offline import backbone_config, image_processor, qwen25_tokenizer, qwen25_vl_chat_template

    tokenizer = qwen25_tokenizer()
    processor = EditRewardProcessor(image_processor=image_processor(112 * 112), tokenizer=tokenizer,
                                    chat_template=qwen25_vl_chat_template(), image_pixels=112 * 112)  # fmt: skip
    torch.manual_seed(0)
    config = EditRewardConfig(vlm_config=backbone_config(tokenizer), reward_token_id=processor.reward_token_id,
                              image_pixels=112 * 112)  # fmt: skip
    EditRewardModel(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    photos = [Image.fromarray(getattr(data, n)()).convert("RGB").resize((160, 120))
              for n in ("astronaut", "coffee", "chelsea", "rocket")]  # fmt: skip
    edits = [lambda p: p.convert("L").convert("RGB"), lambda p: p.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
             lambda p: p.filter(ImageFilter.GaussianBlur(2))]  # fmt: skip
    table = [{"source": photos[i % 4], "instruction": f"edit {i}", "edited": edits[i % 3](photos[i % 4])}
             for i in range(rows)]  # fmt: skip
    return datasets.Dataset.from_list(table, features=datasets.Features(
        {"source": datasets.Image(), "instruction": datasets.Value("string"), "edited": datasets.Image()}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    use_offline_environment(overwrite=False)
    import ray
    import torch

    from editreward import EditRewardScorer
    from editreward.curation import SelectionRule, curate

    work = Path(tempfile.mkdtemp(prefix="bench-curation-"))
    dataset = build(args.rows, work / "model")
    print(f"config: tiny random model, 112x112 px budget, {args.rows} rows, batch {args.batch_size}, "
          f"torch threads {torch.get_num_threads()}")  # fmt: skip
    scorer = EditRewardScorer.from_pretrained(str(work / "model"), batch_size=args.batch_size)
    rows = [dataset[i] for i in range(len(dataset))]
    scorer([rows[0]["source"]], [rows[0]["instruction"]], [rows[0]["edited"]])  # warm-up
    mark = time.perf_counter()
    for row in rows:
        scorer([row["source"]], [row["instruction"]], [row["edited"]])
    one_per_call = args.rows / (time.perf_counter() - mark)
    mark = time.perf_counter()
    scorer([r["source"] for r in rows], [r["instruction"] for r in rows], [r["edited"] for r in rows])
    batched = args.rows / (time.perf_counter() - mark)

    timings = {}
    for engine in ("local", "ray"):
        if engine == "ray":
            mark = time.perf_counter()
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            timings["ray_start"] = time.perf_counter() - mark
        mark = time.perf_counter()
        curate(str(work / "model"), dataset, work / engine, SelectionRule(top_fraction=0.5), engine=engine,
               batch_size=args.batch_size, shard_size=16, progress=False, plots=(engine == "local"))  # fmt: skip
        timings[engine] = time.perf_counter() - mark
    ray.shutdown()
    local, on_ray = args.rows / timings["local"], args.rows / timings["ray"]
    print(f"one row per call (scorer only):        {one_per_call:6.1f} rows/s")
    print(f"batched (scorer only, the engine's):   {batched:6.1f} rows/s  ({batched / one_per_call:.2f}x one row per call)")
    print(f"local engine (whole run: load, fingerprint, shards, select, save, report, plots): {local:6.1f} rows/s")
    print(f"ray engine (whole run, 1 CPU actor):   {on_ray:6.1f} rows/s  ({timings['ray'] - timings['local']:+.1f} s "
          f"against local; ray.init {timings['ray_start']:.1f} s more)")  # fmt: skip
    print(f"histogram: {work / 'local' / 'histograms.png'}")


if __name__ == "__main__":
    main()
