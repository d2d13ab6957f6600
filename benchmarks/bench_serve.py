"""`editreward serve` under load: throughput and latency with dynamic batching against batch size 1.

    python benchmarks/bench_serve.py [--requests 48] [--clients 8] [--batch-size 8] [--wait 0.02] [--repeats 2]

A local Ray (2 CPUs) runs the real server on loopback with a random model of the benchmarks' tiny size (common.py:
the real tokenizer and rubric prompts, 448 x 448 photos, 256 visual tokens per image). Concurrent clients send a
fixed number of requests of one edit each (the edits of one GRPO group: one source, one instruction, four edits),
with `requests`; each side is redeployed and run in turn (A B A B ...). Printed per side: requests per second, p50 and
p99 latency, the mean batch the server formed, and that no request was lost (every one answered 200 with a reward).
"""

import argparse
import socket
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from timing import interleaved, load_average, machine, spread  # noqa: E402

TOKEN = "bench-serve-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_load(url: str, bodies: list, clients: int) -> dict:
    import requests

    session_headers = {"Authorization": f"Bearer {TOKEN}"}

    def call(body):
        start = time.perf_counter()
        response = requests.post(url + "/v1/score", json=body, headers=session_headers, timeout=600)
        ok = response.status_code == 200 and all(r is not None for r in response.json()["results"])
        return time.perf_counter() - start, ok

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        outcomes = list(pool.map(call, bodies))
    wall = time.perf_counter() - start
    latencies = sorted(t for t, _ in outcomes)
    return {"wall": wall, "answered": sum(ok for _, ok in outcomes), "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, int(round(0.99 * (len(latencies) - 1))))]}  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=48)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--wait", type=float, default=0.02, help="batch_wait_timeout_s of the batching side")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--size", choices=sorted(common.SIZES), default="tiny")
    args = parser.parse_args(argv)

    import ray
    import requests
    from ray import serve

    from editreward.rewards import server
    from editreward.rewards.wire import encode_image

    processor = common.build_processor()
    folder = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    common.build_model(processor, args.size).save_pretrained(folder)
    processor.save_pretrained(folder)
    source = common.photo("astronaut")
    edits = [encode_image(e) for e in common.edits_of(source)]
    source_b64 = encode_image(source)
    bodies = [{"items": [{"source_image": source_b64, "instruction": "make it black and white",
                          "edited_image": edits[k % len(edits)]}]} for k in range(args.requests)]  # fmt: skip

    # the compute alone, in this process: the group's edits in one call against one call per edit
    from editreward.rewards import EditRewardFunction

    common.set_threads(1)  # as the Ray replica runs (one CPU, one thread)
    function = EditRewardFunction.from_pretrained(folder, device="cpu")
    group = [common.edits_of(source)[k % 4] for k in range(args.batch_size)]
    in_process = interleaved({
        "one call": lambda: function(source, "make it black and white", group),
        "one per edit": lambda: [function(source, "make it black and white", [e]) for e in group],
    }, repeats=args.repeats)  # fmt: skip
    del function

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    port = free_port()
    sides = {"batch size 1": (1, 0.0), f"batch size {args.batch_size}": (args.batch_size, args.wait)}
    results = {name: [] for name in sides}
    for round_ in range(args.repeats + 1):  # round 0 warms up
        for name, (batch, wait) in sides.items():
            config = server.ServeConfig(model=str(folder), port=port, max_batch_size=batch, batch_wait_timeout_s=wait,
                                        device="cpu", token=TOKEN)  # fmt: skip
            url = server.start(config)
            requests.post(url + "/v1/score", json=bodies[0], headers={"Authorization": f"Bearer {TOKEN}"}, timeout=600)
            load = run_load(url, bodies, args.clients)
            health = requests.get(url + "/health?stats=1", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
            sizes = health.json()["batch_sizes"][1:]  # after the warm-up request
            load["mean_batch"] = sum(sizes) / len(sizes)
            if round_:
                results[name].append(load)
    serve.shutdown()
    ray.shutdown()

    print(f"machine: {machine()}; load average {load_average()}")
    print(f"config: {args.size} model, 448x448 images (256 visual tokens each), {args.requests} requests of one edit "
          f"from {args.clients} concurrent clients, {args.repeats} repetitions per side (interleaved), 1 replica")
    summary = {}
    for name, runs in results.items():
        rate = statistics.median(args.requests / r["wall"] for r in runs)
        p50 = statistics.median(r["p50"] for r in runs)
        p99 = statistics.median(r["p99"] for r in runs)
        lost = sum(args.requests - r["answered"] for r in runs)
        batch = statistics.median(r["mean_batch"] for r in runs)
        summary[name] = rate
        print(f"{name:>14}: {rate:6.2f} requests/s, p50 {p50 * 1000:7.0f} ms, p99 {p99 * 1000:7.0f} ms, "
              f"mean batch {batch:4.1f}, lost {lost}")
    one, many = summary.values()
    print(f"throughput ratio (batching / batch size 1): {many / one:.2f}x")
    single, batched = (statistics.median(in_process[k]) for k in ("one per edit", "one call"))
    print(f"in process, {args.batch_size} edits of one group: one call {spread(in_process['one call'])}, one call per "
          f"edit {spread(in_process['one per edit'])}; ratio {single / batched:.2f}x")


if __name__ == "__main__":
    main()
