from __future__ import annotations

from pytest_pods import etchosts

SAMPLE = """# Kubernetes-managed hosts file.
127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet

10.8.0.5\twebserver   # the pod itself
10.8.0.9 extra.example extra
"""


def test_parse_skips_comments_and_blank_lines() -> None:
    entries = etchosts.parse(SAMPLE)
    assert [(e.ip, e.names, e.line) for e in entries] == [
        ("127.0.0.1", ("localhost",), 2),
        ("::1", ("localhost", "ip6-localhost", "ip6-loopback"), 3),
        ("fe00::0", ("ip6-localnet",), 4),
        ("10.8.0.5", ("webserver",), 6),
        ("10.8.0.9", ("extra.example", "extra"), 7),
    ]


def test_lookups() -> None:
    entries = etchosts.parse(SAMPLE)
    assert etchosts.addresses_of(entries, "localhost") == ["127.0.0.1", "::1"]
    assert etchosts.addresses_of(entries, "nope") == []
    assert etchosts.names_of(entries, "10.8.0.9") == ["extra.example", "extra"]
    assert str(entries[3]) == "10.8.0.5\twebserver"


def test_a_line_with_only_an_address_is_not_an_entry() -> None:
    assert etchosts.parse("10.0.0.1\n") == []
