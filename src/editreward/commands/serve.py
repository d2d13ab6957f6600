"""`editreward serve`: the reward over HTTP on Ray Serve (needs the `serve` extra)."""

import importlib.util

from .options import add_device_options, add_model_option


def register(subparsers):
    parser = subparsers.add_parser("serve", help="serve the reward over HTTP (Ray Serve: batched, token-protected)")
    add_model_option(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; any other needs "
                        "a token)")  # fmt: skip
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--token-file", help="file holding the bearer token (else $EDITREWARD_SERVE_TOKEN)")
    parser.add_argument("--max-batch-size", type=int, default=8, help="edits per forward call (default 8)")
    parser.add_argument("--batch-wait-s", type=float, default=0.01, help="how long a batch waits to fill")
    parser.add_argument("--num-replicas", type=int, help="default: one per GPU of the Ray cluster, else 1")
    parser.add_argument("--gpus-per-replica", type=float, help="default: 1 with GPUs, else 0")
    parser.add_argument("--ray-address", help="join this Ray cluster ('auto': the running one; default: a local Ray)")
    parser.add_argument("--max-request-mb", type=float, default=64.0)
    parser.add_argument("--max-images", type=int, default=64, help="images per request (two per edit)")
    parser.add_argument("--max-image-pixels", type=int, default=4096 * 4096)
    parser.add_argument("--request-timeout-s", type=float, default=120.0)
    parser.add_argument("--uncertainty-penalty", type=float, default=0.0, help="reward = mu - K * sigma")
    parser.add_argument("--revision", help="the model's Hub revision")
    add_device_options(parser)
    parser.set_defaults(handler=run, loads_model=True)
    return parser


def run(args) -> int:
    if importlib.util.find_spec("ray") is None or importlib.util.find_spec("ray.serve") is None:
        raise ImportError("editreward serve needs Ray Serve: pip install 'editreward[serve]'")
    for option in ("max_batch_size", "max_images", "max_image_pixels"):
        if getattr(args, option) < 1:
            raise ValueError(f"--{option.replace('_', '-')} must be at least 1, got {getattr(args, option)}")
    import time

    from ..rewards import server, wire

    token = server.read_token(args.host, args.token_file)
    limits = wire.Limits(int(args.max_request_mb * 2**20), args.max_images, args.max_image_pixels)
    config = server.ServeConfig(
        model=str(args.model), host=args.host, port=args.port, max_batch_size=args.max_batch_size,
        batch_wait_timeout_s=args.batch_wait_s, num_replicas=args.num_replicas, gpus_per_replica=args.gpus_per_replica,
        device=args.device, dtype=args.dtype, revision=args.revision, uncertainty_penalty=args.uncertainty_penalty,
        request_timeout_s=args.request_timeout_s, limits=limits, token=token,
    )  # fmt: skip
    url = server.start(config, address=args.ray_address)
    print(f"editreward serve: {url}{server.NATIVE_ROUTE} (native), {url}{server.UNIRL_ROUTE} (UniRL), "
          f"{url}{server.HEALTH_ROUTE}; token {'required' if token else 'off (loopback only)'}; Ctrl-C stops it.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        from ray import serve

        serve.shutdown()
    return 0
