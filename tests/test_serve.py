"""`editreward serve` for real: Ray Serve on loopback (a local Ray, 2 CPUs), called with a real HTTP client. Results
equal the in-process reward; tokens are checked; every bad input is a 4xx naming its item; a bounded concurrent
load loses nothing. The server starts once for the module."""

import io
import json
import os
import socket
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("ray.serve")
requests = pytest.importorskip("requests")

from editreward.rewards import EditRewardFunction, score_unirl_request  # noqa: E402
from editreward.rewards.wire import Limits, decode_image, encode_image  # noqa: E402

TOKEN = "test-token-0123456789abcdef"
LIMITS = Limits(max_request_bytes=2 * 2**20, max_images=8, max_image_pixels=600 * 600)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(saved_model_dir):
    import ray
    from ray import serve

    from editreward.rewards import server as reward_server

    env = {k: v for k, v in os.environ.items() if k.startswith(("HF_", "TRANSFORMERS_"))}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    config = reward_server.ServeConfig(model=str(saved_model_dir), port=free_port(), max_batch_size=4,
                                       batch_wait_timeout_s=0.05, device="cpu", limits=LIMITS, token=TOKEN)
    url = reward_server.start(config)
    yield url
    serve.shutdown()
    ray.shutdown()


@pytest.fixture(scope="module")
def local(saved_model_dir):
    return EditRewardFunction.from_pretrained(saved_model_dir, device="cpu")


def post(url, path, body, token=TOKEN, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(url + path, json=body, headers=headers, timeout=120, **kwargs)


def items_of(photos, edits=("chelsea", "coffee")):
    source = encode_image(photos["astronaut"])
    return [{"source_image": source, "instruction": "make it look like a cat", "edited_image": encode_image(photos[e])}
            for e in edits]  # fmt: skip


def test_health_needs_the_token(server):
    ok = requests.get(server + "/health", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert ok.status_code == 200 and ok.json()["status"] == "ok"
    assert ok.json()["rewards"] == {"editreward": ["score", "instruction_following", "visual_quality"]}
    assert requests.get(server + "/health", timeout=60).status_code == 401
    wrong = requests.get(server + "/health", headers={"Authorization": "Bearer wrong-token"}, timeout=60)
    assert wrong.status_code == 401 and "bearer token" in wrong.json()["error"]
    assert post(server, "/v1/score", {"items": []}, token=None).status_code == 401


def test_native_results_equal_the_in_process_reward(server, local, photos):
    items = items_of(photos, ("chelsea", "coffee", "rocket"))
    response = post(server, "/v1/score", {"items": items})
    assert response.status_code == 200, response.text
    body = response.json()
    decoded = [(decode_image(i["source_image"], "s", LIMITS), decode_image(i["edited_image"], "e", LIMITS))
               for i in items]  # fmt: skip
    expected = local.score([s for s, _ in decoded], [i["instruction"] for i in items], [e for _, e in decoded])
    assert body["errors"] == [] and body["dimensions"] == ["instruction_following", "visual_quality"]
    for k, result in enumerate(body["results"]):
        assert result["reward"] == pytest.approx(float(expected.rewards[k]), abs=1e-5)
        assert result["score"] == pytest.approx(float(expected.score[k]), abs=1e-5)
        assert result["score_sigma"] == pytest.approx(float(expected.score_sigma[k]), abs=1e-5)
        assert list(result["mu"].values()) == pytest.approx(expected.mu[k].tolist(), abs=1e-5)
        assert list(result["sigma"].values()) == pytest.approx(expected.sigma[k].tolist(), abs=1e-5)


def test_unirl_score_equals_the_in_process_answer(server, local, photos):
    requests_ = [{"history": [{"text": "make it a cat", "image_b64": encode_image(photos["astronaut"])},
                              {"text": "make it a cat", "image_b64": encode_image(photos[e])}],
                  "required_rewards": ["editreward"], "request_id": e, "sample_id": e, "group_id": "g",
                  "idempotency_key": f"key-{e}"} for e in ("chelsea", "coffee")]  # fmt: skip
    payload = {"protocol_version": "1", "requests": requests_}
    response = post(server, "/score", payload)
    assert response.status_code == 200, response.text
    expected = score_unirl_request(local, payload)
    body = response.json()
    assert body["errors"] == [{}, {}] and body["identities"] == expected["identities"]
    for got, want in zip(body["results"], expected["results"]):
        assert got["editreward"] == pytest.approx(want["editreward"], abs=1e-5)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("case, status, words", [
    ("bad base64", 422, "items[1].edited_image: not valid base64"),
    ("not an image", 422, "items[1].edited_image: not a PNG, JPEG or WebP image"),
    ("missing field", 422, "items[1]: missing field 'instruction'"),
    ("empty instruction", 422, "items[1].instruction: the instruction is empty"),
    ("too small", 422, "items[1].edited_image: image is 20x12 px"),
    ("pixel bomb", 413, "items[1].edited_image: image is 8000x8000 px, over the limit of 360000 pixels"),
])  # fmt: skip
def test_a_bad_item_gets_a_4xx_naming_it_and_the_others_are_scored(server, photos, case, status, words):
    items = items_of(photos)
    if case == "bad base64":
        items[1]["edited_image"] = "%%%"
    elif case == "not an image":
        items[1]["edited_image"] = "aGVsbG8gd29ybGQ="  # b"hello world"
    elif case == "missing field":
        del items[1]["instruction"]
    elif case == "empty instruction":
        items[1]["instruction"] = "  "
    elif case == "too small":
        items[1]["edited_image"] = encode_image(photos["rocket"].resize((20, 12)))
    elif case == "pixel bomb":  # 8000 x 8000 black pixels: a few kB of PNG, 192 MB decoded
        import base64

        items[1]["edited_image"] = base64.b64encode(png(Image.new("L", (8000, 8000)))).decode()
    response = post(server, "/v1/score", {"items": items})
    assert response.status_code == status, response.text
    body = response.json()
    assert [e["item"] for e in body["errors"]] == [1] and words in body["errors"][0]["error"]
    assert body["results"][1] is None and np.isfinite(body["results"][0]["reward"])


def test_bad_requests_get_a_4xx_saying_why(server, photos):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    pickled = requests.post(server + "/v1/score", data=b"\x80\x04\x95", timeout=60,
                            headers={**headers, "Content-Type": "application/octet-stream"})  # fmt: skip
    assert pickled.status_code == 415 and "application/json" in pickled.json()["error"]
    not_json = requests.post(server + "/v1/score", data=b"{items:", timeout=60,
                             headers={**headers, "Content-Type": "application/json"})  # fmt: skip
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["error"]
    too_many = post(server, "/v1/score", {"items": items_of(photos, ["chelsea"] * 5)})
    assert too_many.status_code == 413 and "10 images, over the limit of 8" in too_many.json()["error"]
    big = requests.post(server + "/v1/score", data=b" " * (3 * 2**20), timeout=60,
                        headers={**headers, "Content-Type": "application/json"})  # fmt: skip
    assert big.status_code == 413 and "over the limit of 2097152" in big.json()["error"]
    assert post(server, "/v1/score", {"edits": []}).status_code == 400
    assert post(server, "/nowhere", {}).status_code == 404
    assert requests.get(server + "/v1/score", headers=headers, timeout=60).status_code == 405
    unirl = post(server, "/score", {"protocol_version": "2", "requests": []})
    assert unirl.status_code == 400 and "protocol_version '2'" in unirl.json()["error"]


def test_concurrent_load_loses_nothing_and_batches_across_requests(server, local, photos):
    names = ["chelsea", "coffee", "rocket", "astronaut"]
    jobs = [items_of(photos, (names[k % 4], names[(k + 1) % 4])) for k in range(16)]
    expected = {n: float(local(photos["astronaut"], "make it look like a cat", [photos[n]])[0]) for n in names}
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda items: post(server, "/v1/score", {"items": items}), jobs))
    assert [r.status_code for r in responses] == [200] * len(jobs)
    for k, response in enumerate(responses):
        rewards = [r["reward"] for r in response.json()["results"]]
        assert rewards == pytest.approx([expected[names[k % 4]], expected[names[(k + 1) % 4]]], abs=1e-5)
    stats = requests.get(server + "/health?stats=1", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60).json()
    assert max(stats["batch_sizes"]) > 1  # edits of concurrent requests shared a forward call


def test_a_public_address_needs_a_token(tmp_path):
    from editreward.rewards.server import read_token

    with pytest.raises(ValueError, match="--host 0.0.0.0 exposes the server"):
        read_token("0.0.0.0", environ={})
    assert read_token("0.0.0.0", environ={"EDITREWARD_SERVE_TOKEN": TOKEN}) == TOKEN
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    assert read_token("10.0.0.5", str(token_file), environ={}) == TOKEN
    assert read_token("127.0.0.1", environ={}) is None
    with pytest.raises(ValueError, match="shorter than 16"):
        read_token("127.0.0.1", environ={"EDITREWARD_SERVE_TOKEN": "abc"})


def test_serve_command_refuses_a_public_address_without_a_token(saved_model_dir, monkeypatch, capsys):
    from editreward.cli import main

    monkeypatch.delenv("EDITREWARD_SERVE_TOKEN", raising=False)
    assert main(["serve", "--model", str(saved_model_dir), "--host", "0.0.0.0"]) == 2
    assert "exposes the server beyond this machine" in capsys.readouterr().err


def test_one_replica_per_gpu_by_default(monkeypatch):
    import ray

    from editreward.rewards.server import ServeConfig, _resources

    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 64.0, "GPU": 4.0})
    assert _resources(ServeConfig(model="m")) == (4, 1.0)
    assert _resources(ServeConfig(model="m", gpus_per_replica=0.5)) == (8, 0.5)
    assert _resources(ServeConfig(model="m", num_replicas=2)) == (2, 1.0)
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 2.0})
    assert _resources(ServeConfig(model="m")) == (1, 0.0)
