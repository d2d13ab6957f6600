"""Options several commands share, spelled once."""

DTYPE_CHOICES = ("bfloat16", "float16", "float32")


def add_model_option(parser, help: str = "model folder or Hub id") -> None:
    parser.add_argument("--model", required=True, help=help)


def add_device_options(parser, dtype_help: str = "default: bfloat16 on GPU, float32 on CPU") -> None:
    """`--device` and `--dtype`, resolved by `editreward.modeling_editreward.scoring.loading_device_and_dtype`."""
    parser.add_argument("--device", default=None, help="cuda, cuda:1, cpu (default: cuda if available)")
    add_dtype_option(parser, dtype_help)


def add_dtype_option(parser, help: str) -> None:
    parser.add_argument("--dtype", default=None, choices=DTYPE_CHOICES, help=help)


def add_batch_size_option(parser, help: str = "triplets per forward pass (default 8)") -> None:
    parser.add_argument("--batch-size", type=int, default=8, help=help)
