"""Probes that tell whether a component answers: HTTP(S) 200, a unix socket accepting connections, or a
DNS server answering a query."""

from __future__ import annotations

import socket
import ssl
import struct
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


def dns_answers(server: str, name: str, source: str = "", timeout: float = 1.0, port: int = 53) -> str | None:
    """``None`` when ``server`` answers an A query for ``name`` with at least one record, else a
    short reason. ``source``: the local address to send from (one the answer can be routed back to)."""
    header = struct.pack(">HHHHHH", 0x7070, 0x0100, 1, 0, 0, 0)  # id, recursion desired, 1 question
    question = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        if source:
            s.bind((source, 0))
        s.sendto(header + question + struct.pack(">HH", 1, 1), (server, port))  # type A, class IN
        reply = s.recv(512)
    except OSError as e:
        return f"DNS {server}: {e.strerror or e}"
    finally:
        s.close()
    if len(reply) < 12 or reply[:2] != header[:2]:
        return f"DNS {server}: a malformed reply"
    rcode, answers = reply[3] & 0x0F, struct.unpack(">H", reply[6:8])[0]
    return None if rcode == 0 and answers else f"DNS {server}: rcode {rcode}, {answers} answers for {name}"
