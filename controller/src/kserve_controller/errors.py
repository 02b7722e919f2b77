"""The controller's own error tree: whether to give up with a reason or to retry later."""

from __future__ import annotations


class ControllerError(Exception):
    """Base of every error the controller raises on purpose."""


class NotServed(ControllerError):  # noqa: N818
    """An object that cannot be served now: its status says why (`reason`, `message`)."""

    event_type = "Warning"

    def __init__(self, reason: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_after = retry_after


class InvalidSpec(NotServed):
    """The InferenceService cannot be served as written: said in status, never retried.

    `reason` is a CamelCase word for the condition (e.g. NoSupportingRuntime), `message`
    a sentence for the user. `retry_after`: seconds after which to look again, for what
    another object (a Secret) may soon fix; None: only a change of the spec does.
    """


class NotSupported(InvalidSpec):
    """Accepted by the CRD but not implemented by this controller (transformer, canary, ...)."""

    def __init__(self, message: str) -> None:
        super().__init__("NotSupported", message)


class Waiting(NotServed):
    """Waiting for another object (an InferenceService a graph names, a Secret): said in
    status with a Normal event, looked at again after `retry_after` seconds (or its event)."""

    event_type = "Normal"

    def __init__(self, reason: str, message: str, *, retry_after: float = 30.0) -> None:
        super().__init__(reason, message, retry_after=retry_after)


class Transient(ControllerError):  # noqa: N818
    """Worth retrying: the queue requeues the key after `delay` seconds (or its backoff)."""

    def __init__(self, message: str, *, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class ConfigError(ControllerError):
    """The inferenceservice-config ConfigMap has a key that does not parse."""
