"""A lean caller's connection to its endpoint: the Host header it signs (as botocore's signer derives
it) and the certificate checks it makes (against the CA bundle botocore verifies with)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit


def host_header(url: str) -> str:
    """The Host header for ``url``, as botocore's signer derives it: lower case, no default port."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    if parts.port is not None and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def tls_options(url: str) -> dict[str, Any]:
    """Certificate checks against the CA bundle botocore uses (https endpoints only): certifi's if it is
    installed, else the one botocore ships (``botocore.httpsession.get_cert_path(True)``, without
    importing ``botocore.httpsession`` and the ``botocore.awsrequest`` it loads)."""
    if not url.startswith("https:"):
        return {}
    return {"cert_reqs": "CERT_REQUIRED", "ca_certs": ca_bundle()}


def ca_bundle() -> str:
    """The CA bundle botocore verifies with when told ``verify=True``."""
    try:
        from certifi import where
    except ImportError:
        import botocore

        return os.path.join(os.path.dirname(botocore.__file__), "cacert.pem")
    bundle: str = where()
    return bundle
