"""SIGTERM drains gRPC calls in flight, as it drains REST requests (real process, real signal)."""

from __future__ import annotations

import concurrent.futures
import os
import re
import signal
import textwrap
import time

import grpc

from kserve_server.protocol import open_inference_pb2 as pb

from .test_main import start, wait_ready

SLOW = textwrap.dedent(
    """
    import logging, sys, time
    from kserve_server import server
    from kserve_server.inference import InferResponse, Tensor
    from kserve_server.runtimes.base import Model
    from kserve_server.settings import ServerSettings

    class Slow(Model):
        def predict(self, request):
            time.sleep(float(request.inputs[0].data[0]))
            return InferResponse(outputs=[Tensor("done", "", [1], request.inputs[0].data[:1])])

    logging.basicConfig(level="INFO")
    settings = ServerSettings(host="127.0.0.1", http_port=0, grpc_port=0, grace_period=10)
    sys.exit(server.run(settings, models=[Slow("slow")]))
    """
)


def infer(port: int, seconds: float) -> list[float]:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        rpc = channel.unary_unary(
            "/inference.GRPCInferenceService/ModelInfer",
            request_serializer=pb.ModelInferRequest.SerializeToString,
            response_deserializer=pb.ModelInferResponse.FromString,
        )
        # 5000 elements: the data plane runs the model in a thread, so the loop sees SIGTERM
        request = pb.ModelInferRequest(model_name="slow")
        tensor = request.inputs.add(name="s", datatype="FP64", shape=[5000])
        tensor.contents.fp64_contents.extend([seconds] + [0.0] * 4999)
        return list(rpc(request, timeout=30).outputs[0].contents.fp64_contents)


def test_sigterm_drains_grpc_calls_in_flight_then_exits_0() -> None:
    proc, port, early = start([], script=SLOW)
    try:
        match = re.search(r"gRPC serving on 127\.0\.0\.1:(\d+)", early)
        assert match, early
        grpc_port = int(match.group(1))
        wait_ready(port)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            future = pool.submit(infer, grpc_port, 1.5)
            time.sleep(0.5)  # the call is in the model now
            os.kill(proc.pid, signal.SIGTERM)
            assert future.result(timeout=30) == [1.5]
        assert proc.wait(30) == 0
        try:
            infer(grpc_port, 0)
        except grpc.RpcError as err:
            assert err.code() is grpc.StatusCode.UNAVAILABLE  # nothing listens any more
        else:
            raise AssertionError("the gRPC port still answers after exit")
    finally:
        if proc.poll() is None:
            proc.kill()
