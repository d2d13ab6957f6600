"""Helpers for checking editreward against the official EditReward code, shared by the tests and the benchmarks
(as `transformers.testing_utils` is): `official_reference`, the official checkpoint layout and scoring."""
