"""`editreward serve`: the reward over HTTP on Ray Serve (the `serve` extra).

One deployment holds the model (one replica per GPU when there are GPUs; Ray places replicas across the nodes of a
cluster) and batches concurrent requests' edits into one forward call with `@serve.batch`. Endpoints:
`POST /v1/score` (native JSON), `POST /score` (UniRL's RewardService protocol "1"), `GET /health`. Safe by
default: it binds 127.0.0.1; any other address needs a bearer token; bodies, images per request and pixels per
image are limited (pixels read from the image header, before decoding); requests are JSON with base64 image bytes,
never pickle; Ray Serve's proxy times requests out and refuses what its queue cannot hold (503).
"""

import asyncio
import hmac
import json
import os
from dataclasses import dataclass, field

from ray import serve

from . import wire

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
TOKEN_ENV = "EDITREWARD_SERVE_TOKEN"
APP_NAME = "editreward"
NATIVE_ROUTE, UNIRL_ROUTE, HEALTH_ROUTE = "/v1/score", "/score", "/health"


@dataclass
class ServeConfig:
    """What `editreward serve` runs: the model, the batching, the replicas, the limits and the token."""

    model: str
    host: str = "127.0.0.1"
    port: int = 8000
    max_batch_size: int = 8  # edits per forward call, across concurrent requests
    batch_wait_timeout_s: float = 0.01  # how long a batch waits to fill
    num_replicas: int | None = None  # default: one per GPU of the cluster, else 1
    gpus_per_replica: float | None = None  # default: 1 when the cluster has GPUs, else 0
    device: str | None = None
    dtype: str | None = None
    revision: str | None = None
    weights: dict | None = None
    uncertainty_penalty: float = 0.0
    request_timeout_s: float = 120.0
    max_queued_requests: int = 256
    limits: wire.Limits = field(default_factory=wire.Limits)
    token: str | None = field(default=None, repr=False)


def read_token(host: str, token_file: str | None = None, environ=os.environ) -> str | None:
    """The bearer token from `token_file` or the `EDITREWARD_SERVE_TOKEN` variable; refused absent when binding
    anything but loopback."""
    token = None
    if token_file:
        with open(os.path.expanduser(token_file), encoding="utf-8") as handle:
            token = handle.read().strip()
        if not token:
            raise ValueError(f"--token-file {token_file}: the file is empty; write the token in it.")
    elif environ.get(TOKEN_ENV, "").strip():
        token = environ[TOKEN_ENV].strip()
    if token is None and host not in LOOPBACK_HOSTS:
        raise ValueError(f"--host {host} exposes the server beyond this machine; give a bearer token in "
                         f"${TOKEN_ENV} or --token-file (clients send 'Authorization: Bearer TOKEN'), or bind "
                         "127.0.0.1.")  # fmt: skip
    if token is not None and len(token) < 16:
        raise ValueError("the bearer token is shorter than 16 characters; use a long random one "
                         "(python -c 'import secrets; print(secrets.token_urlsafe(32))').")  # fmt: skip
    return token


class RewardServer:
    """The deployment: a model in `EditRewardFunction`, HTTP in `__call__`, batching in `score_triplets`."""

    def __init__(self, config: ServeConfig):
        from .function import EditRewardFunction

        self.config = config
        self.function = EditRewardFunction.from_pretrained(
            config.model, device=config.device, dtype=config.dtype, weights=config.weights,
            uncertainty_penalty=config.uncertainty_penalty, max_batch_edits=config.max_batch_size,
            model_kwargs={"revision": config.revision} if config.revision else None,
        )  # fmt: skip
        self.score_triplets.set_max_batch_size(config.max_batch_size)
        self.score_triplets.set_batch_wait_timeout_s(config.batch_wait_timeout_s)
        self.model_info = {"model": config.model, "revision": config.revision or getattr(
            self.function.model.config, "_commit_hash", None), "dimensions": self.function.dimensions}
        self.batch_sizes: list[int] = []  # edits per forward call, for the benchmark (GET /health?stats=1)

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.01)  # set per server in __init__
    async def score_triplets(self, triplets: list) -> list:
        """One forward call for the batch; each edit gets its record or its own error."""
        self.batch_sizes.append(len(triplets))
        output, errors = await asyncio.to_thread(self.function.score_items, [t.source for t in triplets],
                                                 [t.instruction for t in triplets], [t.edited for t in triplets])
        dimensions = self.function.dimensions
        return [wire.ItemError(wire.item_message(errors[k])) if k in errors else wire.outcome_record(output, k, dimensions)
                for k in range(len(triplets))]  # fmt: skip

    async def __call__(self, request):
        from starlette.responses import JSONResponse

        def reply(body, status=200):
            return JSONResponse(body, status_code=status)

        if self.config.token is not None and not _authorised(request.headers.get("authorization"), self.config.token):
            return reply({"error": "missing or wrong bearer token (send 'Authorization: Bearer TOKEN')"}, 401)
        path = request.url.path.rstrip("/") or "/"
        if path == HEALTH_ROUTE and request.method == "GET":
            stats = {"batch_sizes": self.batch_sizes[-1000:]} if request.query_params.get("stats") else {}
            rewards = {wire.REWARD_NAME: ["score", *self.function.dimensions]}  # UniRL's sub-metrics, means only
            return reply({"status": "ok", **self.model_info, "rewards": rewards, **stats})
        if path not in (NATIVE_ROUTE, UNIRL_ROUTE):
            return reply({"error": f"no endpoint {request.method} {path}; use POST {NATIVE_ROUTE}, POST {UNIRL_ROUTE} "
                                   f"or GET {HEALTH_ROUTE}"}, 404)  # fmt: skip
        if request.method != "POST":
            return reply({"error": f"{path} takes POST"}, 405)
        try:
            payload = await self._read_json(request)
            parse = wire.native_items if path == NATIVE_ROUTE else wire.unirl_items
            items = await asyncio.to_thread(parse, payload, self.config.limits)
        except wire.RequestError as error:
            return reply({"error": str(error)}, error.status)
        outcomes = await asyncio.gather(*(self.score_triplets(i) if isinstance(i, wire.Triplet) else _failed(i)
                                          for i in items))  # fmt: skip
        prefix = "items" if path == NATIVE_ROUTE else "requests"
        outcomes = [wire.ItemError(wire.join_name(f"{prefix}[{i}]", str(o)), o.status)
                    if isinstance(o, wire.ItemError) and not str(o).startswith(prefix) else o
                    for i, o in enumerate(outcomes)]  # fmt: skip
        if path == UNIRL_ROUTE:
            return reply(wire.unirl_response(payload, outcomes))
        return reply(*wire.native_response(outcomes, self.model_info))

    async def _read_json(self, request):
        """The body as JSON, refused by its declared length before reading and by its real length while reading."""
        limit = self.config.limits.max_request_bytes
        if "json" not in request.headers.get("content-type", ""):
            raise wire.RequestError("send Content-Type: application/json (images as base64 strings; no other "
                                    "encoding is accepted).", 415)  # fmt: skip
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise wire.RequestError(f"the body is {declared} bytes, over the limit of {limit}.", 413)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise wire.RequestError(f"the body is over the limit of {limit} bytes.", 413)
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise wire.RequestError(f"the body is not valid JSON ({error}).") from None


async def _failed(error):
    return error


def _authorised(header: str | None, token: str) -> bool:
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _resources(config: ServeConfig) -> tuple[int, float]:
    """(replicas, GPUs per replica): by default one replica per GPU of the Ray cluster, else one on the CPU."""
    import ray

    gpus = int(ray.cluster_resources().get("GPU", 0))
    per_replica = config.gpus_per_replica if config.gpus_per_replica is not None else (1.0 if gpus else 0.0)
    replicas = config.num_replicas or (max(1, int(gpus // per_replica)) if per_replica else 1)
    return replicas, per_replica


def build_app(config: ServeConfig):
    """The Ray Serve application (Ray must be initialised: `ray.init()` starts a local instance when none runs)."""
    replicas, gpus = _resources(config)
    deployment = serve.deployment(
        RewardServer, name="EditReward", num_replicas=replicas, ray_actor_options={"num_gpus": gpus},
        max_ongoing_requests=max(2 * config.max_batch_size, 16), max_queued_requests=config.max_queued_requests,
    )  # fmt: skip
    return deployment.bind(config)


def start(config: ServeConfig, address: str | None = None, runtime_env: dict | None = None):
    """Start Ray (joining `address`, or a local instance), Serve's HTTP proxy on config.host:port, and the app."""
    import ray

    if not ray.is_initialized():
        ray.init(address=address, runtime_env=runtime_env, include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": config.host, "port": config.port, "request_timeout_s": config.request_timeout_s})
    serve.run(build_app(config), name=APP_NAME, route_prefix="/")
    return f"http://{config.host}:{config.port}"

