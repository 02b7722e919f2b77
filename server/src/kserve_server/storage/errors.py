"""Storage failures, each carrying the one-line reason a user reads in `kubectl describe`.

Library exceptions never leave a fetcher: they are mapped here, so `__main__` needs one handler.
"""

from __future__ import annotations


class StorageError(Exception):
    """A download failed for a reason we can state in one line (the message)."""


class NotFoundError(StorageError):
    """The URI names nothing: retrying cannot help."""


class AccessDeniedError(StorageError):
    """401/403: the credentials (or their absence) do not grant access."""


class UnsupportedError(StorageError):
    """A scheme upstream knows that we have not implemented."""


class UnsafePathError(StorageError):
    """A member or key would land outside the destination (zip-slip, tar-slip, link escape)."""


class UnpackLimitError(StorageError):
    """An archive expands past a limit (bytes, ratio, members): a bomb, or a limit to raise."""


class TransientError(StorageError):
    """A 5xx, a reset or a timeout: worth another attempt after a pause."""
