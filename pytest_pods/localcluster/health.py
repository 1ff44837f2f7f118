"""Probes that tell whether a component answers: HTTP(S) 200, or a unix socket accepting connections."""

from __future__ import annotations

import socket
import ssl
import urllib.error
import urllib.request

from pytest_pods.localcluster.components import Health


def probe(health: Health, timeout: float = 2.0) -> str | None:
    """``None`` when healthy, else a short reason."""
    if health.kind == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(health.target)
        except OSError as e:
            return f"{health.target}: {e.strerror or e}"
        finally:
            s.close()
        return None
    context: ssl.SSLContext | None = None
    if health.kind == "https":
        if health.ca_file:
            context = ssl.create_default_context(cafile=health.ca_file)
        else:  # a component's self-signed serving certificate, on loopback
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if health.cert_file:
            try:
                context.load_cert_chain(health.cert_file, health.key_file)
            except OSError as e:
                return f"{health.target}: cannot read the client certificate {health.cert_file}: {e}"
    try:
        with urllib.request.urlopen(health.target, timeout=timeout, context=context) as resp:
            return None if resp.status == 200 else f"{health.target}: HTTP {resp.status}"
    except urllib.error.HTTPError as e:
        e.close()  # it holds the open response
        return f"{health.target}: HTTP {e.code}"
    except (OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        return f"{health.target}: {reason}"
