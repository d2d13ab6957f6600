"""Timing of the benchmarks: sides interleaved (A B A B ...) after a warm-up and reported as medians with their
range, so that load from other processes on the machine hits both sides alike; and what machine ran them."""

import os
import platform
import statistics
import time

def interleaved(sides: dict, repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Seconds of each repetition of each side, run A B C A B C ... after `warmup` untimed rounds."""
    times = {name: [] for name in sides}
    for round_ in range(warmup + repeats):
        for name, run in sides.items():
            start = time.perf_counter()
            run()
            elapsed = time.perf_counter() - start
            if round_ >= warmup:
                times[name].append(elapsed)
    return times


def spread(seconds: list[float], scale: float = 1.0, unit: str = "s") -> str:
    """`median (min-max)` of a list of timings."""
    median, low, high = (f"{v:.0f}" if v >= 100 else f"{v:.3g}" for v in
                         (statistics.median(seconds) * scale, min(seconds) * scale, max(seconds) * scale))
    return f"{median} {unit} ({low}-{high})"


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    system = f"{platform.system()} {platform.machine()}, Python {platform.python_version()}"
    return f"{model}, {os.cpu_count()} cores, {system}"


def load_average() -> str:
    try:
        return " ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "n/a"
