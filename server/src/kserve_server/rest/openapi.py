"""The OpenAPI 3.1 document for both protocols (served at /openapi.json, used for fuzzing)."""

from __future__ import annotations

from functools import cache
from typing import Any

from kserve_server import __version__
from kserve_server.protocol import v2

ERRORS = {
    "400": "malformed request: bad JSON, shape, datatype or missing field",
    "404": "no model with this name",
    "413": "request body over the configured limit",
    "500": "the model raised",
    "501": "not implemented for this model (explain)",
    "503": "model not loaded (yet)",
}
NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
VERSION = {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _op(
    summary: str,
    ok: str,
    *,
    params: tuple[dict[str, Any], ...] = (),
    body: str | None = None,
    errors: tuple[str, ...] = ("404", "503"),
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": _ref(ok)}}}
    }
    for code in errors:
        responses[code] = {
            "description": ERRORS[code],
            "content": {"application/json": {"schema": _ref("Error")}},
        }
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if params:
        op["parameters"] = list(params)
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    return op


INFER = ("400", "404", "413", "500", "503")


@cache
def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string"}},
        },
        "Alive": {"type": "object", "properties": {"status": {"type": "string"}}},
        "Models": {
            "type": "object",
            "properties": {"models": {"type": "array", "items": {"type": "string"}}},
        },
        "ModelReady": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "ready": {"type": "boolean"}},
        },
        "PredictRequest": {
            "type": "object",
            "properties": {
                "instances": {"type": "array"},
                "inputs": {"type": "array"},
                "parameters": {"type": "object"},
            },
        },
        "PredictResponse": {
            "type": "object",
            "required": ["predictions"],
            "properties": {"predictions": {}},
        },
        "ServerMetadata": {"type": "object", "required": ["name", "version", "extensions"]},
        "Live": {"type": "object", "properties": {"live": {"type": "boolean"}}},
        "Ready": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
        "ModelMetadata": {"type": "object", "required": ["name", "platform", "inputs", "outputs"]},
        "RepositoryIndexRequest": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
        "RepositoryIndex": {"type": "array", "items": {"type": "object"}},
        "Load": {"type": "object", "properties": {"name": {"type": "string"}}},
    }
    for model in (v2.InferenceRequest, v2.InferenceResponse):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    infer = _op(
        "V2 inference", "InferenceResponse", params=(NAME,), body="InferenceRequest", errors=INFER
    )
    versioned = (NAME, VERSION)
    paths = {
        "/": {"get": _op("liveness", "Alive", errors=())},
        "/v1/models": {"get": _op("model names", "Models", errors=())},
        "/v1/models/{name}": {"get": _op("model readiness", "ModelReady", params=(NAME,))},
        "/v1/models/{name}:predict": {
            "post": _op(
                "V1 predict", "PredictResponse", params=(NAME,), body="PredictRequest", errors=INFER
            )
        },
        "/v1/models/{name}:explain": {
            "post": _op(
                "V1 explain",
                "PredictResponse",
                params=(NAME,),
                body="PredictRequest",
                errors=(*INFER, "501"),
            )
        },
        "/v2": {"get": _op("server metadata", "ServerMetadata", errors=())},
        "/v2/health/live": {"get": _op("server liveness", "Live", errors=())},
        "/v2/health/ready": {
            "get": _op("ready when every model is loaded", "Ready", errors=("503",))
        },
        "/v2/models": {"get": _op("model names", "Models", errors=())},
        "/v2/models/{name}": {"get": _op("model metadata", "ModelMetadata", params=(NAME,))},
        "/v2/models/{name}/versions/{version}": {
            "get": _op("model metadata (any version)", "ModelMetadata", params=versioned)
        },
        "/v2/models/{name}/ready": {"get": _op("model readiness", "ModelReady", params=(NAME,))},
        "/v2/models/{name}/versions/{version}/ready": {
            "get": _op("model readiness (any version)", "ModelReady", params=versioned)
        },
        "/v2/models/{name}/infer": {"post": infer},
        "/v2/models/{name}/versions/{version}/infer": {
            "post": {**infer, "parameters": list(versioned)}
        },
        "/v2/repository/index": {
            "post": _op(
                "repository index",
                "RepositoryIndex",
                body="RepositoryIndexRequest",
                errors=("400",),
            )
        },
        "/v2/repository/models/{name}/load": {
            "post": _op("load a model", "Load", params=(NAME,), errors=("404", "503"))
        },
        "/v2/repository/models/{name}/unload": {
            "post": _op("unload a model", "Load", params=(NAME,), errors=("404",))
        },
    }
    schemas.update(_openai_schemas())
    paths.update(_openai_paths())
    return {
        "openapi": "3.1.0",
        "info": {"title": "kserve-py model server", "version": __version__},
        "paths": paths,
        "components": {"schemas": schemas},
    }


OPENAI = "/openai/v1"  # the default prefix (KSERVE_OPENAI_ROUTE_PREFIX)


def _openai_schemas() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "OpenAIError": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["message", "type"],
                    "properties": {"message": text, "type": text, "param": {}, "code": {}},
                }
            },
        },
        "OpenAIObject": {"type": "object", "properties": {"object": text}},
        "CompletionRequest": {
            "type": "object",
            "required": ["model", "prompt"],
            "properties": {"model": text, "prompt": {}, "max_tokens": {"type": "integer"}},
        },
        "ChatCompletionRequest": {
            "type": "object",
            "required": ["model", "messages"],
            "properties": {"model": text, "messages": {"type": "array"}, "stream": {}},
        },
        "EmbeddingRequest": {
            "type": "object",
            "required": ["model", "input"],
            "properties": {"model": text, "input": {}},
        },
    }


def _openai_op(summary: str, *, body: str | None, errors: tuple[str, ...]) -> dict[str, Any]:
    op = _op(summary, "OpenAIObject", body=body, errors=())
    for code in errors:
        op["responses"][code] = {
            "description": OPENAI_ERRORS[code],
            "content": {"application/json": {"schema": _ref("OpenAIError")}},
        }
    return op


OPENAI_ERRORS = {
    "400": "bad request, unknown model, unsupported parameter or a prompt over max_model_len",
    "404": "no such text model (or no rerank)",
    "413": "request body over the configured limit",
    "503": "model not loaded (yet)",
}
GENERATE = ("400", "413", "503")


def _openai_paths() -> dict[str, Any]:
    model = {"name": "model_name", "in": "path", "required": True, "schema": {"type": "string"}}
    card = _openai_op("OpenAI: a text model", body=None, errors=("404", "503"))
    card["parameters"] = [model]
    return {
        f"{OPENAI}/models": {"get": _openai_op("OpenAI: text models", body=None, errors=())},
        f"{OPENAI}/models/{{model_name}}": {"get": card},
        f"{OPENAI}/completions": {
            "post": _openai_op("OpenAI: completions", body="CompletionRequest", errors=GENERATE)
        },
        f"{OPENAI}/chat/completions": {
            "post": _openai_op(
                "OpenAI: chat completions (stream: server-sent events)",
                body="ChatCompletionRequest",
                errors=GENERATE,
            )
        },
        f"{OPENAI}/embeddings": {
            "post": _openai_op("OpenAI: embeddings", body="EmbeddingRequest", errors=GENERATE)
        },
        f"{OPENAI}/rerank": {
            "post": _openai_op("OpenAI: rerank (not available)", body=None, errors=("404",))
        },
    }
