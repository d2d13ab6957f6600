"""`editreward convert`: map a released TIGER-Lab EditReward checkpoint onto this architecture, as a Hub-ready folder."""

from .options import add_dtype_option


def register(subparsers):
    parser = subparsers.add_parser(
        "convert", help="convert a released TIGER-Lab EditReward checkpoint into a Hub-ready model folder",
        description="Convert a released EditReward checkpoint (a raw state dict) into a folder that "
        "AutoModel.from_pretrained(DIR, trust_remote_code=True) loads and that scores identically.",
    )  # fmt: skip
    parser.add_argument("--checkpoint", required=True,
                        help="Hub id or folder of a released checkpoint, e.g. TIGER-Lab/EditReward-Qwen2.5-VL-7B")
    parser.add_argument("--base", required=True,
                        help="Hub id or folder of its base model, e.g. XiaomiMiMo/MiMo-VL-7B-SFT-2508")
    parser.add_argument("--out", required=True, help="output folder (new or empty)")
    add_dtype_option(parser, help="backbone dtype (default: the checkpoint's); heads stay float32")
    parser.add_argument("--image-pixels", type=int, default=None,
                        help="pixel budget per image (default: the released 200,704)")
    parser.add_argument("--license", default=None,
                        help="licence id for the model card (default: the one the origin's model card states)")
    parser.set_defaults(handler=run)
    return parser


def run(args) -> int:
    from ..convert import convert_official_checkpoint

    out = convert_official_checkpoint(
        args.checkpoint, args.base, args.out, dtype=args.dtype, image_pixels=args.image_pixels, license=args.license
    )
    print(f"Converted {args.checkpoint} into {out}; "
          f"load it with AutoModel.from_pretrained({str(out)!r}, trust_remote_code=True).")
    return 0
