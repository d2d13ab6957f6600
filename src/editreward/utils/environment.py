"""The offline switches of the Hugging Face libraries, in one place (tests, benchmarks and the quickstart set them)."""

import os

# evaluate ignores HF_HUB_OFFLINE, datasets and transformers have their own switches.
OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_EVALUATE_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false",
}  # fmt: skip


def use_offline_environment(environ=None, overwrite: bool = True) -> dict:
    """Set the offline switches in `environ` (default `os.environ`; `overwrite=False` keeps values already set) and
    return it. Call it before importing huggingface_hub, datasets or evaluate: they read some switches at import."""
    environ = os.environ if environ is None else environ
    for name, value in OFFLINE_ENVIRONMENT.items():
        if overwrite:
            environ[name] = value
        else:
            environ.setdefault(name, value)
    return environ
