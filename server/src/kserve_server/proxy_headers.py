"""Headers a proxy must not pass on: hop-by-hop (RFC 9110 §7.6.1) and those the client recomputes.

Shared by the agent sidecar and the activator, the two proxies in this package."""

from collections.abc import Iterable

from multidict import CIMultiDict

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


def forwardable(headers: Iterable[tuple[str, str]]) -> CIMultiDict[str]:
    """The end-to-end headers of `headers` (items of a request's or response's header map)."""
    return CIMultiDict((k, v) for k, v in headers if k.lower() not in HOP_BY_HOP)
