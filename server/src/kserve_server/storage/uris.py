"""Parse and redact storage URIs: every message names the URI, never a credential in it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query keys that carry secrets in presigned URLs (S3, GCS, Azure SAS) or API tokens.
_SECRET_QUERY = re.compile(r"(signature|token|key|credential|sig|secret|password|auth)", re.I)


@dataclass(frozen=True)
class BucketPath:
    """`scheme://bucket/key` split; `key` has no leading slash and may be empty (whole bucket)."""

    bucket: str
    key: str


def scheme_of(uri: str) -> str:
    """Lower-cased scheme, or "" for a plain local path."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", uri)
    return match.group(1).lower() if match else ""


def bucket_path(uri: str) -> BucketPath:
    rest = uri.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    return BucketPath(bucket=bucket, key=key.strip("/"))


def redact(uri: str) -> str:
    """The URI without user:password and with secret-looking query values masked."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<unparseable URI>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, "***" if _SECRET_QUERY.search(k) else v) for k, v in pairs], safe="*/"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
