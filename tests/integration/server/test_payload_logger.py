"""The payload logger end to end: the model server (in process) and the agent (in front of a
component) post every request and response to a real CloudEvents receiver, and a slow or dead
sink costs inference nothing."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import aiohttp
from payload_servers import (
    IRIS_ROW,
    Process,
    Receiver,
    agent,
    free_port,
    get_text,
    model_server,
    predict,
    receiving,
)

REPO = Path(__file__).resolve().parents[3]
REQUEST = "org.kubeflow.serving.inference.request"
RESPONSE = "org.kubeflow.serving.inference.response"
LOGGER_FLAGS = [
    "--source-uri",
    "sklearn-iris-predictor-abc",
    "--inference-service",
    "sklearn-iris",
    "--namespace",
    "default",
    "--endpoint",
    "default",
    "--component",
    "predictor",
    "--metadata-headers",
    "X-Request-Id",
    "--metadata-annotations",
    "team=ml",
    "--logger-tls-skip-verify",
    "false",
]


async def _start(processes: list[Process], process: Process, ready: str) -> Process:
    processes.append(process)
    process.start()
    await process.wait_ready(ready)
    return process


async def _load(url: str, *, connections: int, per_connection: int) -> list[float]:
    """Latencies (s) of `connections` clients each sending `per_connection` requests; every
    answer must be a 200 with one prediction."""
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def one(index: int) -> None:
            for n in range(per_connection):
                started = time.perf_counter()
                status, body = await predict(
                    client, url, [IRIS_ROW], headers={"X-Request-Id": f"r-{index}-{n}"}
                )
                latencies.append(time.perf_counter() - started)
                assert status == 200, body
                assert len(body["predictions"]) == 1

        await asyncio.gather(*(one(i) for i in range(connections)))
    return latencies


def _check_pairs(receiver: Receiver, *, requests: int) -> None:
    assert receiver.errors == []
    by_id: dict[str, list[str]] = {}
    for event in receiver.events:
        by_id.setdefault(event.get_id(), []).append(event.get_type())
    assert len(by_id) == requests
    assert all(sorted(types) == [REQUEST, RESPONSE] for types in by_id.values())


async def test_the_server_logs_every_request_and_response_under_load(
    iris_dir: Path, tmp_path: Path, processes: list[Process]
) -> None:
    async with receiving(Receiver()) as receiver:
        server = model_server(
            iris_dir, tmp_path / "server.log", "--log-url", receiver.url, *LOGGER_FLAGS
        )
        await _start(processes, server, "/v2/health/ready")
        await _load(server.url, connections=16, per_connection=40)
        await receiver.wait_for(2 * 16 * 40, within=60)
        _check_pairs(receiver, requests=16 * 40)
        event = next(e for e in receiver.events if e.get_type() == REQUEST)
        assert event.get_source() == "sklearn-iris-predictor-abc"
        assert event.get_extension("inferenceservicename") == "sklearn-iris"
        assert event.get_extension("namespace") == "default"
        assert event.get_extension("component") == "predictor"
        assert event.get_extension("endpoint") == "default"
        assert event.get_extension("annotations") == '{"team":"ml"}'
        assert event.get_extension("metadata").startswith('{"X-Request-Id":["r-')
        assert event.get_extension("recordedtime")
        assert event.get_data() == {"instances": [IRIS_ROW]}
        answer = next(
            e for e in receiver.events if e.get_type() == RESPONSE and e.get_id() == event.get_id()
        )
        assert answer.get_data() == {"predictions": [1]}
        assert answer.get_time() >= event.get_time()  # type: ignore[operator]


async def test_a_client_ce_id_names_both_events(
    iris_dir: Path, tmp_path: Path, processes: list[Process]
) -> None:
    async with receiving(Receiver()) as receiver:
        server = model_server(iris_dir, tmp_path / "server.log", "--log-url", receiver.url)
        await _start(processes, server, "/v2/health/ready")
        async with aiohttp.ClientSession() as client:
            status, _ = await predict(client, server.url, [IRIS_ROW], headers={"Ce-Id": "mine-1"})
            assert status == 200
            status, _ = await predict(client, server.url, [[1, 2]])  # wrong width: 400
            assert status == 400
        await receiver.wait_for(3, within=20)
        assert sorted(
            (e.get_id(), e.get_type()) for e in receiver.events if e.get_id() == "mine-1"
        ) == [
            ("mine-1", REQUEST),
            ("mine-1", RESPONSE),
        ]
        # the failed request is logged, its error answer is not (as upstream)
        assert [e.get_type() for e in receiver.events if e.get_id() != "mine-1"] == [REQUEST]


async def test_the_agent_logs_what_passes_through_it(
    iris_dir: Path, tmp_path: Path, processes: list[Process]
) -> None:
    async with receiving(Receiver()) as receiver:
        component = await _start(
            processes, model_server(iris_dir, tmp_path / "component.log"), "/v2/health/ready"
        )
        proxy = agent(
            component.port, tmp_path / "agent.log", "--log-url", receiver.url, *LOGGER_FLAGS
        )
        await _start(processes, proxy, "/v2/health/ready")
        await _load(proxy.url, connections=16, per_connection=20)
        probe = {"User-Agent": "kube-probe/1.31"}
        status, _ = await get_text(proxy.url + "/", headers=probe)
        assert status == 200  # health passes through, unlogged

        # the readiness wait's GETs are logged too, as upstream logs every non-kubelet
        # request: count the predictions and their answers
        def predicted() -> set[str]:
            return {
                e.get_id()
                for e in receiver.events
                if e.get_type() == REQUEST and e.get_data() == {"instances": [IRIS_ROW]}
            }

        def answered() -> set[str]:
            return {e.get_id() for e in receiver.events if e.get_type() == RESPONSE}

        await receiver.wait_until(
            lambda: len(predicted()) == 16 * 20 and predicted() <= answered(), within=60
        )
        assert len(predicted()) == 16 * 20
        assert predicted() <= answered()
        _, text = await get_text(proxy.url + "/metrics")
        assert 'payload_logger_records_total{outcome="sent"}' in text
        assert 'agent_requests_total{code="200"}' in text


def _p50(latencies: list[float]) -> float:
    return statistics.median(latencies)


async def test_a_dead_or_slow_sink_costs_inference_nothing(
    iris_dir: Path, tmp_path: Path, processes: list[Process]
) -> None:
    """p50 with a dead sink and with a 5 s slow one within 10 % of logger-off, 0 failures.
    Two logger-off servers make the reference: on a shared machine two identical servers
    differ by a few percent themselves, and the bound is 10 % over the slower of the two."""
    dead = f"http://127.0.0.1:{free_port()}/"  # nothing listens
    async with receiving(Receiver(delay=5.0)) as slow:
        servers = {
            "off": model_server(iris_dir, tmp_path / "off.log"),
            "off-again": model_server(iris_dir, tmp_path / "off-again.log"),
            "dead": model_server(iris_dir, tmp_path / "dead.log", "--log-url", dead),
            "slow": model_server(iris_dir, tmp_path / "slow.log", "--log-url", slow.url),
        }
        for server in servers.values():
            await _start(processes, server, "/v2/health/ready")
        latencies: dict[str, list[float]] = {name: [] for name in servers}
        order = list(servers.items())
        # one request to each in turn, the order rotating: a machine busy for a moment slows
        # all of them alike
        async with aiohttp.ClientSession() as client:
            for turn in range(300):
                shift = turn % len(order)
                for name, server in order[shift:] + order[:shift]:
                    started = time.perf_counter()
                    status, body = await predict(client, server.url, [IRIS_ROW])
                    latencies[name].append(time.perf_counter() - started)
                    assert status == 200, body
        off = max(_p50(latencies["off"]), _p50(latencies["off-again"]))
        for name in ("dead", "slow"):
            assert _p50(latencies[name]) <= off * 1.10, (name, _p50(latencies[name]), off)
        _, text = await get_text(servers["slow"].url + "/metrics")
        assert 'payload_logger_records_total{outcome="dropped"}' in text


async def test_drops_are_counted_and_logged_at_most_once_per_interval(
    iris_dir: Path, tmp_path: Path, processes: list[Process]
) -> None:
    async with receiving(Receiver(delay=5.0)) as slow:
        server = model_server(
            iris_dir,
            tmp_path / "server.log",
            "--log-url",
            slow.url,
            "--log-queue-size",
            "4",
            "--log-drain-timeout",
            "0",
        )
        await _start(processes, server, "/v2/health/ready")
        await _load(server.url, connections=4, per_connection=25)
        _, text = await get_text(server.url + "/metrics")
        dropped = next(
            float(line.split()[-1])
            for line in text.splitlines()
            if line.startswith('payload_logger_records_total{outcome="dropped"}')
        )
        # 200 records; a queue of 4 and 5 senders holding what they took, 5 s per answer
        assert dropped >= 100
        assert server.terminate() == 0
        assert server.output().count("dropped") == 1, server.output()


async def test_sigterm_delivers_what_is_queued_within_the_drain_budget(
    iris_dir: Path, tmp_path: Path, processes: list[Process]
) -> None:
    async with receiving(Receiver(delay=0.1)) as receiver:
        server = model_server(iris_dir, tmp_path / "server.log", "--log-url", receiver.url)
        await _start(processes, server, "/v2/health/ready")
        await _load(server.url, connections=8, per_connection=5)
        assert len(receiver.events) < 80  # 80 events at 5 a time and 0.1 s each: 1.6 s
        exit_code = await asyncio.to_thread(server.terminate)
        assert exit_code == 0
        _check_pairs(receiver, requests=40)
