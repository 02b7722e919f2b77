"""A small exception tree over the apiserver's answers, so no library error leaks out.

The apiserver's `Status` body is kept on the error; the caller decides by class.
"""

from __future__ import annotations

from typing import Any

from kserve_controller.errors import ControllerError


class KubeError(ControllerError):
    def __init__(self, status: int, message: str, *, body: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.body = body or {}

    @property
    def reason(self) -> str:
        return str(self.body.get("reason", ""))


class Unauthorized(KubeError):  # noqa: N818 (kopf-style names)
    """401: the token is missing or expired."""


class Forbidden(KubeError):  # noqa: N818 (kopf-style names)
    """403: RBAC does not allow it (the message names the verb and resource)."""


class NotFound(KubeError):  # noqa: N818 (kopf-style names)
    """404: the object (or its kind) does not exist."""


class Conflict(KubeError):  # noqa: N818 (kopf-style names)
    """409: stale resourceVersion, or the object already exists."""


class Gone(KubeError):  # noqa: N818 (kopf-style names)
    """410: the watch's resourceVersion was compacted; list again."""


class Invalid(KubeError):  # noqa: N818 (kopf-style names)
    """422: the apiserver refused the object (the message says which field)."""


class ServerError(KubeError):
    """5xx, 429 or a broken connection: worth retrying."""


_BY_STATUS: dict[int, type[KubeError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
}


def from_status(status: int, body: dict[str, Any] | None) -> KubeError:
    body = body or {}
    message = str(body.get("message") or body.get("reason") or "apiserver error")
    cls = _BY_STATUS.get(status, ServerError if status >= 500 or status == 429 else KubeError)
    return cls(status, message, body=body)
