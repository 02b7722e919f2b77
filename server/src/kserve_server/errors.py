"""Domain errors of the model server; no HTTP here (rest/errors.py maps them to statuses).

Names follow upstream KServe's errors (InvalidInput, ModelNotFound ...), hence no Error suffix.
"""


class ServerError(Exception):
    """Base of every error this package raises on purpose; the message is shown to the client."""


class InvalidInput(ServerError):  # noqa: N818
    """The request is malformed or does not fit the model (bad JSON, shape, datatype, column)."""


class ModelNotFound(ServerError):  # noqa: N818
    """No model with this name is registered."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Model with name {name} does not exist.")
        self.name = name


class ModelNotReady(ServerError):  # noqa: N818
    """The model exists but is not loaded (still loading, failed, or unloaded)."""

    def __init__(self, name: str, detail: str = "") -> None:
        message = f"Model with name {name} is not ready."
        super().__init__(f"{message} {detail}" if detail else message)
        self.name = name


class ServerNotReady(ServerError):  # noqa: N818
    """At least one registered model is not loaded yet."""


class InferenceError(ServerError):
    """The model raised while handling a request that passed validation."""


class ModelLoadError(ServerError):
    """A model directory cannot become a served model (no file, several files, bad pickle)."""


class PayloadTooLarge(ServerError):  # noqa: N818
    """The request body is larger than the configured limit."""


class RequestTimeout(ServerError):  # noqa: N818
    """The request body did not arrive in time (first byte, or whole)."""


class Overloaded(ServerError):  # noqa: N818
    """Too much work is waiting already; the client may retry after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def public_message(exc: BaseException) -> str:
    """What a client is told, over REST and gRPC alike: our own errors verbatim, anything else
    with its type name (as upstream's `{TypeName} : {message}`)."""
    if isinstance(exc, ServerError | NotImplementedError):
        return str(exc)
    return f"{type(exc).__name__} : {exc}"
