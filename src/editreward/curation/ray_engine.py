"""The Ray engine: the local engine's shards, scored on Ray Data.

One Ray Data row per pending shard. CPU tasks read and decode the shard's rows (`data.prepare_rows`); an actor pool
of stateful scorers (one model each, `num_gpus=1` per actor where the cluster has GPUs, CPU actors otherwise) scores
each shard with `scoring.score_shard`, in the same chunks as the local engine; this process writes the shards as
they arrive, so the files, and the selection read from them, are the local engine's. Ray runs on the cluster
`RAY_ADDRESS` names, else on the running instance, else on a local one it starts.
"""

import os
import pickle

from .data import prepare_rows, read_rows
from .scoring import refuse_first_error, score_shard


def decode_shards(batch: dict, table, columns, image_pixels: int, patch_group: int) -> dict:
    """CPU task: each shard's rows read from the table and decoded, pickled as one cell (images of any size)."""
    payloads = [pickle.dumps(prepare_rows(read_rows(table, int(start), int(end)), int(start), columns, image_pixels,
                                          patch_group))  # fmt: skip
                for start, end in zip(batch["start"], batch["end"])]
    return {"start": batch["start"], "end": batch["end"], "prepared": payloads}


class ShardScorer:
    """Ray Data actor: loads the model once, then scores the shards it is given."""

    def __init__(self, folder: str, batch_size: int, device, dtype, score_columns: list[str]):
        from ..modeling_editreward import EditRewardScorer

        self.scorer = EditRewardScorer.from_pretrained(folder, batch_size=batch_size, device=device, dtype=dtype)
        self.score_columns = score_columns

    def __call__(self, batch: dict) -> dict:
        scored = [pickle.dumps(score_shard(self.scorer, pickle.loads(prepared), int(start), self.score_columns))
                  for start, prepared in zip(batch["start"], batch["prepared"])]  # fmt: skip
        return {"start": batch["start"], "end": batch["end"], "scored": scored}


def connect():
    """`ray.init` on RAY_ADDRESS's cluster, or a local instance, unless this process is connected already."""
    import ray

    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), include_dashboard=False, log_to_driver=False)
    return ray


def score_ray(folder, config, table, columns, store, shards, *, batch_size=8, device=None, dtype=None,
              on_error="raise", num_workers=None, progress=True, after_shard=None) -> int:  # fmt: skip
    """Score `shards` on Ray Data with `num_workers` scorer actors (default: one per GPU of the cluster, else one)
    and write each as it arrives. Returns the rows scored."""
    from tqdm.auto import tqdm

    ray = connect()
    from ray.data import DataContext

    DataContext.get_current().enable_progress_bars = False  # ours counts rows, with rows/s and the time left
    gpus = int(ray.cluster_resources().get("GPU", 0))
    workers = num_workers or max(1, gpus)
    if dtype is not None and not isinstance(dtype, str):  # a torch dtype travels to the actors by its name
        dtype = str(dtype).removeprefix("torch.")
    items = ray.data.from_items([{"start": start, "end": end} for start, end in shards])
    decoded = items.map_batches(decode_shards, batch_size=1, batch_format="numpy", fn_kwargs=dict(
        table=table, columns=columns, image_pixels=config.image_pixels, patch_group=config.patch_group))  # fmt: skip
    scored = decoded.map_batches(
        ShardScorer, batch_size=1, batch_format="numpy", concurrency=workers, num_gpus=1 if gpus else 0,
        num_cpus=None if gpus else 1, fn_constructor_kwargs=dict(folder=str(folder), batch_size=batch_size,
        device=device, dtype=dtype, score_columns=store.key.score_columns()))  # fmt: skip
    total = sum(end - start for start, end in shards)
    with tqdm(total=total, unit="row", desc=f"scoring on Ray ({workers} workers)", disable=not progress) as bar:
        for number, row in enumerate(scored.iter_rows()):
            start, end, result = int(row["start"]), int(row["end"]), pickle.loads(row["scored"])
            if on_error == "raise":
                refuse_first_error(result)
            store.write(start, end, result)
            bar.update(end - start)
            if after_shard is not None:
                after_shard(number)
    return total
