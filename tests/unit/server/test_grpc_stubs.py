"""The committed protobuf module matches server/proto/open_inference.proto, and its wire format
(names, numbers, types) matches Triton's clients, which share the `inference` package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor
from tritonclient.grpc import service_pb2 as triton

from kserve_server.protocol import open_inference_pb2 as ours

REPO = Path(__file__).resolve().parents[3]
RPCS = [
    "ServerLive",
    "ServerReady",
    "ModelReady",
    "ServerMetadata",
    "ModelMetadata",
    "ModelInfer",
    "RepositoryModelLoad",
    "RepositoryModelUnload",
]
# Triton's repository requests differ from KServe's (its field 1 is repository_name): ours
# follow KServe and read Triton's field 2 too (servicer._repository_name).
DIFFERENT = {
    "RepositoryModelLoadRequest",
    "RepositoryModelLoadResponse",
    "RepositoryModelUnloadRequest",
    "RepositoryModelUnloadResponse",
}


def test_generated_module_is_fresh() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "codegen", "--check", "grpc"],
        cwd=REPO / "hack",
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout


def test_service_and_rpcs_match_triton() -> None:
    service = ours.DESCRIPTOR.services_by_name["GRPCInferenceService"]
    theirs = triton.DESCRIPTOR.services_by_name["GRPCInferenceService"]
    assert service.full_name == theirs.full_name == "inference.GRPCInferenceService"
    assert [m.name for m in service.methods] == RPCS
    for method in service.methods:
        other = theirs.methods_by_name[method.name]
        assert method.input_type.full_name == other.input_type.full_name
        assert method.output_type.full_name == other.output_type.full_name


def fields(message: descriptor.Descriptor) -> dict[int, tuple[str, int, str]]:
    return {
        f.number: (f.name, f.type, f.message_type.full_name if f.message_type else "")
        for f in message.fields
    }


def messages(message: descriptor.Descriptor) -> list[descriptor.Descriptor]:
    found = [message]
    for nested in message.nested_types:
        found += messages(nested)
    return found


@pytest.mark.parametrize("name", sorted(set(ours.DESCRIPTOR.message_types_by_name) - DIFFERENT))
def test_message_fields_match_triton(name: str) -> None:
    mine = messages(ours.DESCRIPTOR.message_types_by_name[name])
    theirs = messages(triton.DESCRIPTOR.message_types_by_name[name])
    assert [m.full_name for m in mine] == [m.full_name for m in theirs]
    for a, b in zip(mine, theirs, strict=True):
        assert fields(a) == fields(b), a.full_name


def test_repository_requests_carry_tritons_model_name_field() -> None:
    for name in ("RepositoryModelLoadRequest", "RepositoryModelUnloadRequest"):
        wire = triton.DESCRIPTOR.message_types_by_name[name]
        sent = getattr(triton, name)(model_name="iris").SerializeToString()
        received = getattr(ours, name).FromString(sent)
        assert wire.fields_by_name["model_name"].number == 2
        assert (received.model_name, received.triton_model_name) == ("", "iris")
