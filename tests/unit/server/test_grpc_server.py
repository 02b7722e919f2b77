"""The gRPC server on a loopback port, driven by a real grpc.aio client: health, metadata,
inference (typed and raw contents), errors as status codes, and REST beside it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import numpy as np
import pytest

from kserve_server import server
from kserve_server.inference import InferRequest, InferResponse, Request, Response, Tensor
from kserve_server.protocol import open_inference_pb2 as pb
from kserve_server.runtimes.base import Model
from kserve_server.settings import ModelSpec, ServerSettings

RESPONSES: dict[str, Any] = {
    "ServerLive": pb.ServerLiveResponse,
    "ServerReady": pb.ServerReadyResponse,
    "ModelReady": pb.ModelReadyResponse,
    "ServerMetadata": pb.ServerMetadataResponse,
    "ModelMetadata": pb.ModelMetadataResponse,
    "ModelInfer": pb.ModelInferResponse,
    "RepositoryModelLoad": pb.RepositoryModelLoadResponse,
    "RepositoryModelUnload": pb.RepositoryModelUnloadResponse,
}
ROWS = [6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6]


class Client:
    """Calls GRPCInferenceService methods by name over a real channel."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.channel = channel

    async def __call__(self, method: str, request: Any) -> Any:
        rpc = self.channel.unary_unary(
            f"/inference.GRPCInferenceService/{method}",
            request_serializer=type(request).SerializeToString,
            response_deserializer=RESPONSES[method].FromString,
        )
        return await rpc(request, timeout=30)

    async def error(self, method: str, request: Any) -> tuple[grpc.StatusCode, str]:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await self(method, request)
        return caught.value.code(), caught.value.details() or ""


class Gated(Model):
    """A V2 echo model that loads only when the test opens the gate."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.gate = threading.Event()

    def load(self) -> None:
        assert self.gate.wait(30)

    def predict(self, request: Request) -> Response:
        assert isinstance(request, InferRequest)
        return InferResponse(outputs=[Tensor("echo", "", [], request.inputs[0].data)])


class Echo(Model):
    """Returns each input as an output named after it, plus `parameters` it received."""

    def predict(self, request: Request) -> Response:
        assert isinstance(request, InferRequest)
        outputs = [
            Tensor(t.name, t.datatype, t.shape, t.data, t.parameters) for t in request.inputs
        ]
        return InferResponse(outputs=outputs, parameters=dict(request.parameters))


def settings(**kwargs: Any) -> ServerSettings:
    return ServerSettings(
        **{"host": "127.0.0.1", "http_port": 0, "grpc_port": 0, "grace_period": 5, **kwargs}
    )


@pytest.fixture
async def running(models_dir: Path) -> AsyncIterator[server.RunningServer]:
    models: list[ModelSpec | Model] = [
        ModelSpec(name="sklearn-iris", model_dir=models_dir / "sklearn-iris"),
        ModelSpec(name="intent-classifier", model_dir=models_dir / "intent-classifier"),
        Echo("echo"),
    ]
    running = await server.start(settings(), models=models, models_root=models_dir)
    assert running.repository.loading is not None
    await asyncio.wait_for(asyncio.shield(running.repository.loading), 60)
    yield running
    running.stop()
    assert await running.wait() == 0


@pytest.fixture
async def client(running: server.RunningServer) -> AsyncIterator[Client]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.grpc_port}") as channel:
        yield Client(channel)


def iris_request(**kwargs: Any) -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name="sklearn-iris", **kwargs)
    tensor = request.inputs.add(name="input-0", datatype="FP32", shape=[2, 4])
    tensor.contents.fp32_contents.extend(ROWS)
    return request


async def test_health_and_metadata(client: Client) -> None:
    assert (await client("ServerLive", pb.ServerLiveRequest())).live
    assert (await client("ServerReady", pb.ServerReadyRequest())).ready
    assert (await client("ModelReady", pb.ModelReadyRequest(name="sklearn-iris"))).ready
    meta = await client("ServerMetadata", pb.ServerMetadataRequest())
    assert meta.name == "kserve-py"
    assert "model_repository_extension" in meta.extensions
    model = await client("ModelMetadata", pb.ModelMetadataRequest(name="sklearn-iris"))
    assert (model.name, model.platform) == ("sklearn-iris", "sklearn")
    assert [(t.name, t.datatype, list(t.shape)) for t in model.inputs] == [
        ("input-0", "FP64", [-1, 4])
    ]


async def test_iris_infer_typed_contents(client: Client) -> None:
    response = await client("ModelInfer", iris_request(id="req-1"))
    assert (response.model_name, response.id) == ("sklearn-iris", "req-1")
    [output] = response.outputs
    assert (output.name, output.datatype, list(output.shape)) == ("output-0", "INT64", [2])
    assert list(output.contents.int64_contents) == [1, 1]
    assert not response.raw_output_contents


async def test_iris_infer_raw_contents_answers_raw(client: Client) -> None:
    request = pb.ModelInferRequest(model_name="sklearn-iris")
    request.inputs.add(name="input-0", datatype="FP64", shape=[2, 4])
    request.raw_input_contents.append(np.asarray(ROWS, dtype="<f8").tobytes())
    response = await client("ModelInfer", request)
    assert response.id  # a fresh id when the request has none
    assert np.frombuffer(response.raw_output_contents[0], dtype="<i8").tolist() == [1, 1]
    assert not response.outputs[0].contents.ListFields()


async def test_text_model_gets_strings_from_bytes_contents(client: Client) -> None:
    request = pb.ModelInferRequest(model_name="intent-classifier")
    tensor = request.inputs.add(name="text", datatype="BYTES", shape=[2])
    tensor.contents.bytes_contents.extend([b"Hello, how are you?", b"I want to cancel my plan"])
    response = await client("ModelInfer", request)
    assert response.outputs[0].datatype == "BYTES"
    assert list(response.outputs[0].contents.bytes_contents) == [b"greeting", b"cancellation"]


async def test_parameters_and_outputs_selection(client: Client) -> None:
    request = pb.ModelInferRequest(model_name="echo")
    request.parameters["flag"].bool_param = True
    request.parameters["count"].int64_param = 3
    request.parameters["kind"].string_param = "pd"
    request.parameters["scale"].double_param = 0.5
    a = request.inputs.add(name="a", datatype="INT8", shape=[3])
    a.contents.int_contents.extend([-1, 0, 127])
    b = request.inputs.add(name="b", datatype="BOOL", shape=[2])
    b.contents.bool_contents.extend([True, False])
    b.parameters["note"].string_param = "kept"
    request.outputs.add(name="b")
    response = await client("ModelInfer", request)
    assert [o.name for o in response.outputs] == ["b"]
    assert list(response.outputs[0].contents.bool_contents) == [True, False]
    assert response.outputs[0].parameters["note"].string_param == "kept"
    params = response.parameters
    assert (params["flag"].bool_param, params["count"].int64_param) == (True, 3)
    assert (params["kind"].string_param, params["scale"].double_param) == ("pd", 0.5)


async def test_unknown_model_is_not_found(client: Client) -> None:
    request = iris_request()
    request.model_name = "nope"
    assert await client.error("ModelInfer", request) == (
        grpc.StatusCode.NOT_FOUND,
        "Model with name nope does not exist.",
    )
    for method, message in [
        ("ModelReady", pb.ModelReadyRequest(name="nope")),
        ("ModelMetadata", pb.ModelMetadataRequest(name="nope")),
    ]:
        code, _ = await client.error(method, message)
        assert code is grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: setattr(t, "datatype", "FP99"), "input 'input-0': unsupported datatype 'FP99'"),
        (lambda t: t.shape.__setitem__(0, 3), "shape [3, 4] needs 12 elements but 'data' has 8"),
        (
            lambda t: (t.contents.Clear(), t.contents.int64_contents.extend(range(8))),
            "datatype FP32 takes contents.fp32_contents, got contents.int64_contents",
        ),
        (lambda t: setattr(t, "datatype", "FP16"), "FP16 data must be sent in raw_input_contents"),
    ],
)
async def test_bad_input_is_invalid_argument_and_the_server_keeps_serving(
    client: Client, mutate: Any, message: str
) -> None:
    request = iris_request()
    mutate(request.inputs[0])
    code, details = await client.error("ModelInfer", request)
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert message in details
    response = await client("ModelInfer", iris_request())
    assert list(response.outputs[0].contents.int64_contents) == [1, 1]


@pytest.mark.parametrize("method", ["ModelInfer", "ModelReady", "RepositoryModelLoad"])
async def test_bytes_that_are_not_a_message_are_invalid_argument(
    client: Client, method: str
) -> None:
    rpc = client.channel.unary_unary(
        f"/inference.GRPCInferenceService/{method}",
        request_serializer=lambda raw: raw,
        response_deserializer=RESPONSES[method].FromString,
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await rpc(b"\x0a\xff\xff\xff\xff\x0f", timeout=30)  # a length past the end
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert f"not a valid inference.{method}Request message" in (caught.value.details() or "")
    assert (await client("ModelInfer", iris_request())).outputs  # still serving


async def test_raw_contents_rules(client: Client) -> None:
    both = iris_request()
    both.raw_input_contents.append(np.asarray(ROWS, dtype="<f4").tobytes())
    assert await client.error("ModelInfer", both) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "input 'input-0': contents and raw_input_contents are both set; use one of them",
    )
    extra = pb.ModelInferRequest(model_name="sklearn-iris")
    extra.inputs.add(name="input-0", datatype="FP32", shape=[2, 4])
    extra.raw_input_contents.extend([b"", b""])
    code, details = await client.error("ModelInfer", extra)
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert "raw_input_contents has 2 entries but the request has 1 inputs" in details
    short = pb.ModelInferRequest(model_name="sklearn-iris")
    short.inputs.add(name="input-0", datatype="FP32", shape=[2, 4])
    short.raw_input_contents.append(b"\0" * 31)
    code, details = await client.error("ModelInfer", short)
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert "needs 32 bytes, got 31" in details


async def test_unknown_requested_output_and_wrong_width(client: Client) -> None:
    request = iris_request()
    request.outputs.add(name="probabilities")
    assert await client.error("ModelInfer", request) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "Unexpected inference output 'probabilities' for model 'sklearn-iris'",
    )
    narrow = pb.ModelInferRequest(model_name="sklearn-iris")
    tensor = narrow.inputs.add(name="input-0", datatype="FP32", shape=[1, 2])
    tensor.contents.fp32_contents.extend([1, 2])
    code, details = await client.error("ModelInfer", narrow)
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert details == "expected 4 features per instance, got 2"  # as over REST


async def test_repository_unload_and_load_are_seen_by_rest(
    client: Client, running: server.RunningServer
) -> None:
    unloaded = await client(
        "RepositoryModelUnload", pb.RepositoryModelUnloadRequest(model_name="sklearn-iris")
    )
    assert (unloaded.model_name, unloaded.isUnloaded) == ("sklearn-iris", True)
    async with aiohttp.ClientSession() as http:
        rest = await http.get(f"http://127.0.0.1:{running.port}/v2/models/sklearn-iris/ready")
        assert rest.status == 404
    code, _ = await client.error("ModelInfer", iris_request())
    assert code is grpc.StatusCode.NOT_FOUND
    # Triton's clients put the name in field 2
    loaded = await client(
        "RepositoryModelLoad", pb.RepositoryModelLoadRequest(triton_model_name="sklearn-iris")
    )
    assert (loaded.model_name, loaded.isLoaded) == ("sklearn-iris", True)
    response = await client("ModelInfer", iris_request())
    assert list(response.outputs[0].contents.int64_contents) == [1, 1]
    code, details = await client.error(
        "RepositoryModelLoad", pb.RepositoryModelLoadRequest(model_name="missing")
    )
    assert (code, details) == (grpc.StatusCode.NOT_FOUND, "Model with name missing does not exist.")


async def test_not_ready_model_is_unavailable_and_readiness_says_false() -> None:
    model = Gated("slow")
    running = await server.start(settings(), models=[model])
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.grpc_port}") as channel:
            client = Client(channel)
            assert not (await client("ServerReady", pb.ServerReadyRequest())).ready
            assert not (await client("ModelReady", pb.ModelReadyRequest(name="slow"))).ready
            request = pb.ModelInferRequest(model_name="slow")
            request.inputs.add(name="x", datatype="INT32", shape=[1]).contents.int_contents.append(
                7
            )
            assert await client.error("ModelInfer", request) == (
                grpc.StatusCode.UNAVAILABLE,
                "Model with name slow is not ready.",
            )
            model.gate.set()
            await asyncio.wait_for(asyncio.shield(running.repository.loading), 30)  # type: ignore[arg-type]
            assert (await client("ServerReady", pb.ServerReadyRequest())).ready
            response = await client("ModelInfer", request)
            assert list(response.outputs[0].contents.int_contents) == [7]
    finally:
        model.gate.set()
        running.stop()
        assert await running.wait() == 0


async def test_grpc_disabled_by_default_in_settings(models_dir: Path) -> None:
    running = await server.start(
        ServerSettings(host="127.0.0.1", http_port=0, grace_period=1),
        models=[ModelSpec(name="sklearn-iris", model_dir=models_dir / "sklearn-iris")],
    )
    try:
        assert running.grpc_port is None
    finally:
        running.stop()
        await running.wait()


async def test_a_taken_grpc_port_fails_the_start(models_dir: Path) -> None:
    first = await server.start(settings(), models=[Echo("echo")])
    try:
        with pytest.raises(OSError, match=f"gRPC: cannot listen on 127.0.0.1:{first.grpc_port}"):
            await server.start(settings(grpc_port=first.grpc_port), models=[Echo("echo")])
    finally:
        first.stop()
        await first.wait()


async def test_grpc_inference_shows_in_the_rest_metrics(
    client: Client, running: server.RunningServer
) -> None:
    await client("ModelInfer", iris_request())
    await client("ModelInfer", iris_request())
    bad = iris_request()
    bad.inputs[0].datatype = "FP99"
    await client.error("ModelInfer", bad)
    unknown = iris_request()
    unknown.model_name = "nope"
    await client.error("ModelInfer", unknown)
    async with aiohttp.ClientSession() as http:
        text = await (await http.get(f"http://127.0.0.1:{running.port}/metrics")).text()
    labels = 'model_name="sklearn-iris",protocol="grpc-v2"'
    assert f'inference_requests_total{{code="OK",{labels}}} 2.0' in text
    assert f'inference_requests_total{{code="INVALID_ARGUMENT",{labels}}} 1.0' in text
    assert f"inference_requests_in_flight{{{labels}}} 0.0" in text  # all answered
    assert 'model_name="nope"' not in text
    assert 'request_predict_seconds_count{model_name="sklearn-iris"} 2.0' in text
