"""The batcher end to end, in the model server and in the agent: concurrent requests answered
each with its own predictions and upstream's `batchId`, a bad request failing alone."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from payload_servers import Process, agent, get_text, model_server, predict

REPO = Path(__file__).resolve().parents[3]
ROWS = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6], [5.1, 3.5, 1.4, 0.2], [7.7, 3.0, 6.1, 2.3]]
BATCHER = ["--enable-batcher", "--max-batchsize", "16", "--max-latency", "300"]


async def _start(processes: list[Process], process: Process) -> Process:
    processes.append(process)
    process.start()
    await process.wait_ready("/v2/health/ready")
    return process


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


async def _concurrently(url: str, bodies: list[Any], path: str) -> list[tuple[int, Any]]:
    connector = aiohttp.TCPConnector(limit=len(bodies))
    async with aiohttp.ClientSession(connector=connector) as client:

        async def one(body: Any) -> tuple[int, Any]:
            async with client.post(url + path, json=body) as r:
                return r.status, await r.json(content_type=None)

        return await asyncio.gather(*(one(b) for b in bodies))


async def _expected(url: str) -> list[Any]:
    async with aiohttp.ClientSession() as client:
        status, body = await predict(client, url, ROWS)
    assert status == 200
    return list(body["predictions"])


@pytest.mark.parametrize("where", ["server", "agent"])
async def test_sixteen_concurrent_requests_are_answered_each_with_its_own_predictions(
    where: str, iris_dir: Path, tmp_path: Path, processes: list[Process]
) -> None:
    if where == "server":
        target = await _start(processes, model_server(iris_dir, tmp_path / "s.log", *BATCHER))
        plain = await _start(processes, model_server(iris_dir, tmp_path / "plain.log"))
    else:
        plain = await _start(processes, model_server(iris_dir, tmp_path / "plain.log"))
        target = await _start(processes, agent(plain.port, tmp_path / "agent.log", *BATCHER))
    expected = await _expected(plain.url)
    bodies = [{"instances": [ROWS[i % 4]]} for i in range(16)]
    answers = await _concurrently(target.url, bodies, "/v1/models/sklearn-iris:predict")
    assert [status for status, _ in answers] == [200] * 16
    assert [body["predictions"] for _, body in answers] == [[expected[i % 4]] for i in range(16)]
    batch_ids = {body["batchId"] for _, body in answers}
    assert 1 <= len(batch_ids) <= 2  # 16 requests, at most 16 instances a batch
    _, text = await get_text(target.url + "/metrics")
    assert _metric(text, 'batcher_items_total{protocol="v1"}') == 16
    assert _metric(text, 'batcher_batches_total{protocol="v1"}') == len(batch_ids)


@pytest.mark.parametrize("where", ["server", "agent"])
async def test_only_the_bad_request_of_a_batch_fails(
    where: str, iris_dir: Path, tmp_path: Path, processes: list[Process]
) -> None:
    flags = ["--enable-batcher", "--max-batchsize", "4", "--max-latency", "2000"]
    if where == "server":
        target = await _start(processes, model_server(iris_dir, tmp_path / "s.log", *flags))
    else:
        plain = await _start(processes, model_server(iris_dir, tmp_path / "plain.log"))
        target = await _start(processes, agent(plain.port, tmp_path / "agent.log", *flags))
    bodies = [{"instances": [ROWS[0]]}, {"instances": [[1.0, 2.0]]}, {"instances": [ROWS[1]]}]
    bodies.append({"instances": [ROWS[2]]})
    answers = await _concurrently(target.url, bodies, "/v1/models/sklearn-iris:predict")
    assert [status for status, _ in answers] == [200, 400, 200, 200]
    assert "error" in answers[1][1] and "batchId" not in answers[1][1]
    assert all(len(body["predictions"]) == 1 for status, body in answers if status == 200)
    _, text = await get_text(target.url + "/metrics")
    assert _metric(text, 'batcher_retried_alone_total{protocol="v1"}') == 4


@pytest.mark.parametrize("where", ["server", "agent"])
@pytest.mark.parametrize("body", [{"instances": []}, {"rows": [[1, 2, 3, 4]]}])
async def test_a_body_without_instances_is_a_400(
    where: str, body: Any, iris_dir: Path, tmp_path: Path, processes: list[Process]
) -> None:
    if where == "server":
        target = await _start(processes, model_server(iris_dir, tmp_path / "s.log", *BATCHER))
    else:
        plain = await _start(processes, model_server(iris_dir, tmp_path / "plain.log"))
        target = await _start(processes, agent(plain.port, tmp_path / "agent.log", *BATCHER))
    [(status, answer)] = await _concurrently(target.url, [body], "/v1/models/sklearn-iris:predict")
    assert status == 400
    assert "instances" in answer["error"]


async def test_v2_requests_are_batched_in_the_server(
    iris_dir: Path, tmp_path: Path, processes: list[Process]
) -> None:
    server = await _start(processes, model_server(iris_dir, tmp_path / "s.log", *BATCHER))
    plain = await _start(processes, model_server(iris_dir, tmp_path / "plain.log"))
    expected = await _expected(plain.url)

    def v2(rows: list[list[float]]) -> dict[str, Any]:
        flat = [x for row in rows for x in row]
        return {
            "inputs": [{"name": "x", "shape": [len(rows), 4], "datatype": "FP64", "data": flat}]
        }

    bodies = [
        v2([ROWS[i % 4]]) if i % 2 else v2([ROWS[i % 4], ROWS[(i + 1) % 4]]) for i in range(8)
    ]
    answers = await _concurrently(server.url, bodies, "/v2/models/sklearn-iris/infer")
    assert [status for status, _ in answers] == [200] * 8
    for i, (_, body) in enumerate(answers):
        want = [expected[i % 4]] if i % 2 else [expected[i % 4], expected[(i + 1) % 4]]
        assert body["outputs"][0]["data"] == want
        assert body["outputs"][0]["shape"][0] == len(want)
        assert body["model_name"] == "sklearn-iris" and body["id"]
    _, text = await get_text(server.url + "/metrics")
    assert _metric(text, 'batcher_items_total{protocol="v2"}') == 12
    assert _metric(text, 'batcher_batches_total{protocol="v2"}') < 8
