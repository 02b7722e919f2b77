"""Storage URI schemes: which ones an InferenceService may name, and which ones we download.

One list for the CRD's CEL rule (`URI_RULE`), the pydantic model and the controller's spec check
(`unsupported_reason`). The storage initializer (kserve_server.storage.schemes) keeps a copy,
since the two packages never import each other; a unit test fails when the copies differ.
"""

import re

# Downloaded by the storage initializer.
FETCHED = ("gs", "s3", "http", "https", "file", "hf")
# Mounted by the controller (the claim at /mnt/models): nothing to download.
MOUNTED = ("pvc",)
# Accepted at admission, as upstream's controller accepts them, but not downloaded yet: the
# InferenceService says so in a NotSupported condition instead of failing at pod start.
NOT_YET = {
    "modelscope": "ModelScope (modelscope://) downloads are not implemented yet",
    "oci": "OCI model images (oci://) are not implemented yet",
    "oci+native": "OCI model images (oci+native://) are not implemented yet",
    "oci+fetch": "OCI model images (oci+fetch://) are not implemented yet",
    "hdfs": "HDFS (hdfs://) is not implemented yet",
    "webhdfs": "WebHDFS (webhdfs://) is not implemented yet",
}
ACCEPTED = (*FETCHED, *MOUNTED, *NOT_YET)
# https URLs upstream downloads with other clients than plain HTTP.
AZURE = re.compile(
    r"^https://[^/]+\.(blob|file)\.core\.windows\.net/|^https://[^/]+\.z\d+\.(blob|file)\."
    r"storage\.azure\.net/"
)
AZURE_REASON = "Azure storage (blob.core.windows.net) downloads are not implemented yet"
GIT = re.compile(r"^https://.+\.git/?$")
GIT_REASON = "git repositories (https://...git) are not implemented yet"

# A scheme-less value is a local path (upstream's rule: no "<word>://" in it).
# "[+]", not "\+": a backslash would be read as an escape inside the CEL string literal.
URI_PATTERN = "^(" + "|".join(s.replace("+", "[+]") for s in ACCEPTED) + ")://.+$"
URI_MESSAGE = (
    "storageUri: unsupported scheme; use one of "
    + ", ".join(f"{s}://" for s in ACCEPTED)
    + " or a local path"
)
URI_CEL = f"!self.contains('://') || self.matches('{URI_PATTERN}')"


def scheme_of(uri: str) -> str:
    """Lower-cased scheme, or "" for a plain local path."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", uri)
    return match.group(1).lower() if match else ""


def accepted(uri: str) -> bool:
    """What the CRD's CEL rule says about `uri`."""
    return "://" not in uri or re.match(URI_PATTERN, uri) is not None


def unsupported_reason(uri: str) -> str | None:
    """Why this project cannot fetch `uri` yet, or None when it can (or mounts it)."""
    scheme = scheme_of(uri)
    if scheme in NOT_YET:
        return NOT_YET[scheme]
    if AZURE.match(uri):
        return AZURE_REASON
    if GIT.match(uri):
        return GIT_REASON
    if scheme and scheme not in (*FETCHED, *MOUNTED):
        return f"the {scheme}:// scheme is not one of {', '.join(ACCEPTED)}"
    return None
