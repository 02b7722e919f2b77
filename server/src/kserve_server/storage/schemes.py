"""Storage URI schemes: which ones the initializer downloads, and why it refuses the others.

A copy of kserve_controller.api.storage (the CRD's and the controller's list), since the two
packages never import each other; tests/unit/test_storage_schemes_agree.py fails when they
differ. The controller reports a scheme we cannot fetch as NotSupported before any pod starts;
this copy is the initializer's own guard for pods built otherwise.
"""

from __future__ import annotations

import re

from kserve_server.storage.uris import scheme_of

FETCHED = ("gs", "s3", "http", "https", "file", "hf")
MOUNTED = ("pvc",)
NOT_YET = {
    "modelscope": "ModelScope (modelscope://) downloads are not implemented yet",
    "oci": "OCI model images (oci://) are not implemented yet",
    "oci+native": "OCI model images (oci+native://) are not implemented yet",
    "oci+fetch": "OCI model images (oci+fetch://) are not implemented yet",
    "hdfs": "HDFS (hdfs://) is not implemented yet",
    "webhdfs": "WebHDFS (webhdfs://) is not implemented yet",
}
ACCEPTED = (*FETCHED, *MOUNTED, *NOT_YET)
AZURE = re.compile(
    r"^https://[^/]+\.(blob|file)\.core\.windows\.net/|^https://[^/]+\.z\d+\.(blob|file)\."
    r"storage\.azure\.net/"
)
AZURE_REASON = "Azure storage (blob.core.windows.net) downloads are not implemented yet"
GIT = re.compile(r"^https://.+\.git/?$")
GIT_REASON = "git repositories (https://...git) are not implemented yet"


def unsupported_reason(uri: str) -> str | None:
    """Why the initializer cannot fetch `uri` yet, or None when it can (or it is mounted)."""
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
