"""The InferenceGraph spec the router runs (`--graph-json`), checked once at start-up.

The controller passes the graph's whole `spec` with every `serviceName` step already resolved
to a `serviceUrl` (as upstream's controller does); a step that still has only a serviceName
is refused here, with its node and step named.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kserve_server.router import gjson

ROOT = "root"


class GraphError(ValueError):
    """The graph cannot be run: the message names the node and step."""


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class Step(_Model):
    name: str = ""
    node_name: str = Field(default="", alias="nodeName")
    service_name: str = Field(default="", alias="serviceName")
    service_url: str = Field(default="", alias="serviceUrl")
    data: str = ""
    map_predictions_to_instances: bool = Field(default=False, alias="mapPredictionsToInstances")
    weight: int | None = None
    condition: str = ""
    dependency: Literal["Soft", "Hard", ""] = ""

    @property
    def hard(self) -> bool:
        return self.dependency == "Hard"

    @property
    def target(self) -> str:
        return f"node {self.node_name}" if self.node_name else self.service_url


class Node(_Model):
    router_type: Literal["Sequence", "Splitter", "Ensemble", "Switch"] = Field(alias="routerType")
    steps: list[Step] = Field(default_factory=list)


class RouterTimeouts(_Model):
    server_read: int | None = Field(default=None, alias="serverRead")
    server_write: int | None = Field(default=None, alias="serverWrite")
    server_idle: int | None = Field(default=None, alias="serverIdle")
    service_client: int | None = Field(default=None, alias="serviceClient")


class Graph(_Model):
    nodes: dict[str, Node]
    router_timeouts: RouterTimeouts = Field(default_factory=RouterTimeouts, alias="routerTimeouts")

    @model_validator(mode="after")
    def _runnable(self) -> Graph:
        check(self)
        return self


def step_label(node: str, index: int, step: Step) -> str:
    """How errors and logs name a step: `node root step 2 (name)`."""
    named = f" ({step.name})" if step.name else ""
    return f"node {node} step {index}{named}"


def parse(text: str) -> Graph:
    """`--graph-json` → Graph; GraphError says what is wrong."""
    try:
        return Graph.model_validate_json(text)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        cause = first.get("ctx", {}).get("error")
        message = str(cause) if isinstance(cause, GraphError) else f"{where}: {first['msg']}"
        raise GraphError(f"invalid graph: {message}") from err


def check(graph: Graph) -> None:
    if ROOT not in graph.nodes:
        raise GraphError("the graph has no node named root")
    for node_name, node in graph.nodes.items():
        if not node.steps:
            raise GraphError(f"node {node_name} has no steps")
        names = [s.name for s in node.steps if s.name]
        if len(names) != len(set(names)):
            raise GraphError(f"node {node_name}: step names must be unique")
        for i, step in enumerate(node.steps):
            _check_step(graph, node_name, node, i, step)
        if node.router_type == "Splitter":
            total = sum(s.weight or 0 for s in node.steps)
            if any(s.weight is None for s in node.steps) or total != 100:
                raise GraphError(
                    f"node {node_name}: Splitter weights must all be set and sum to 100"
                )
    _check_cycles(graph)


def _check_step(graph: Graph, node_name: str, node: Node, i: int, step: Step) -> None:
    label = step_label(node_name, i, step)
    if step.node_name and step.service_url:
        raise GraphError(f"{label}: set one of nodeName, serviceName, serviceUrl")
    if step.node_name and step.node_name not in graph.nodes:
        raise GraphError(f"{label}: nodeName {step.node_name} is not a node of the graph")
    if not step.node_name and not step.service_url:
        hint = (
            f": serviceName {step.service_name} must be resolved to a serviceUrl "
            "(the controller does this)"
            if step.service_name
            else ": set nodeName, serviceName or serviceUrl"
        )
        raise GraphError(f"{label} has no target{hint}")
    if step.service_url and not step.service_url.startswith(("http://", "https://")):
        raise GraphError(f"{label}: serviceUrl {step.service_url!r} is not an http(s) URL")
    if step.condition:
        try:
            gjson.compile(step.condition)
        except gjson.PathSyntaxError as err:
            raise GraphError(f"{label}: condition {err}") from err


def _check_cycles(graph: Graph) -> None:
    """A node reaching itself would recurse on every request: refuse it up front."""

    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise GraphError(f"node {name} reaches itself: {' -> '.join((*path, name))}")
        if name in done:
            return
        for step in graph.nodes[name].steps:
            if step.node_name:
                visit(step.node_name, (*path, name))
        done.add(name)

    visit(ROOT, ())
