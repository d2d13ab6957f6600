"""The benchmarks: one module per published schema, each with its adapter (rows -> the edits to score and the
references of the `editreward_accuracy` metric) and its `BenchmarkSpec`; nothing else knows a schema.

An adapter reads only text and number columns; images are named by (row, column) and fetched when scored. Every
edit carries a key that is stable across runs (it names the row or the benchmark's own id), so cached scores can be
found again. `limit` keeps the first N units of the benchmark: pairs, groups, or rated source images.

Import-light (the CLI builds its choices from `BENCHMARKS`): the metric script, and with it datasets and evaluate,
is loaded only when an adapter runs.
"""

from .aurora_bench import AURORA_BENCH
from .editreward_bench import EDITREWARD_BENCH
from .genai_bench import GENAI_BENCH
from .local_json import LOCAL_JSON
from .task import BenchmarkSpec

__all__ = ["BENCHMARKS", "BenchmarkSpec"]

BENCHMARKS = {spec.key: spec for spec in (GENAI_BENCH, EDITREWARD_BENCH, AURORA_BENCH, LOCAL_JSON)}
