"""The Open Inference Protocol over gRPC through the InferenceService's Service: the predictor
declares the h2c port (as upstream's e2e does), `kubectl port-forward svc/...-predictor`, and
tritonclient's gRPC client talks to it as it would to upstream KServe."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import joblib
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from e2e_kube import Cli, port_forward
from e2e_steps import FIXTURES, Applied, Install, apply_and_wait
from e2e_timeline import Timeline
from tritonclient.utils import InferenceServerException

NS = "grpc"
NAME = "sklearn-iris-grpc"
PREDICTOR = f"{NAME}-predictor"
ROWS = [[6.8, 2.8, 4.8, 1.4], [5.1, 3.5, 1.4, 0.2]]  # the tutorial's row and a setosa


@pytest.fixture(scope="module")
def served(cli: Cli, kserve: Install, environment_ready: None) -> Iterator[Applied]:
    applied = apply_and_wait(
        cli, FIXTURES / "grpc.yaml", name=NAME, namespace=NS, what="sklearn-iris over gRPC"
    )
    yield applied
    cli.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false", check=False)


@pytest.fixture(scope="module")
def client(
    cli: Cli, served: Applied, timeline: Timeline
) -> Iterator[grpcclient.InferenceServerClient]:
    with port_forward(cli, NS, f"svc/{PREDICTOR}", 80) as port:
        t0 = time.monotonic()
        with grpcclient.InferenceServerClient(f"127.0.0.1:{port}") as grpc:
            yield grpc
        timeline.add("sklearn-iris over gRPC: port-forward -> calls done", time.monotonic() - t0)


def iris_input(rows: list[list[float]]) -> grpcclient.InferInput:
    tensor = grpcclient.InferInput("input-0", [len(rows), 4], "FP32")
    tensor.set_data_from_numpy(np.array(rows, dtype=np.float32))
    return tensor


def test_the_service_routes_port_80_to_the_grpc_port_as_h2c(cli: Cli, served: Applied) -> None:
    port = cli.json("get", "service", PREDICTOR, "-n", NS)["spec"]["ports"][0]
    assert (port["port"], port["targetPort"]) == (80, 8081)
    assert port.get("appProtocol") == "kubernetes.io/h2c"


def test_server_and_model_are_ready_over_grpc(client: grpcclient.InferenceServerClient) -> None:
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready(NAME)
    assert client.get_model_metadata(NAME).name == NAME


def test_grpc_inference_answers_what_the_model_predicts(
    client: grpcclient.InferenceServerClient, models: Path
) -> None:
    expected = joblib.load(models / "sklearn-iris" / "model.joblib").predict(ROWS).tolist()
    result = client.infer(NAME, [iris_input(ROWS)])
    assert result.as_numpy("output-0").tolist() == expected


def test_a_bad_request_names_the_problem_and_the_server_keeps_serving(
    client: grpcclient.InferenceServerClient,
) -> None:
    wrong_width = grpcclient.InferInput("input-0", [1, 3], "FP32")
    wrong_width.set_data_from_numpy(np.array([[1.0, 2.0, 3.0]], dtype=np.float32))
    with pytest.raises(InferenceServerException) as caught:
        client.infer(NAME, [wrong_width])
    assert caught.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert "feature" in caught.value.message().lower()
    assert client.infer(NAME, [iris_input([[6.8, 2.8, 4.8, 1.4]])]).as_numpy(
        "output-0"
    ).tolist() == [1]
