"""The cluster's PKI, made with ``cryptography``.

As kubeadm lays it out: the cluster CA signs the Kubernetes certificates; etcd has a CA of its own
(``pki/etcd``), so that no certificate the cluster CA signs (the controller-manager signs CSRs with
it) can open etcd; only the API server and the health probe hold etcd client certificates.

Keys are EC P-256 (fast to make, accepted by every component); the service-account key is RSA,
as the API server's token signer expects. Every key file is mode 0600 in a 0700 directory.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = dt.timedelta(days=3650)


@dataclass(frozen=True)
class CertSpec:
    """One leaf certificate: its file stem, subject, SANs and usage."""

    name: str
    common_name: str
    organization: str | None = None
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    server: bool = False
    client: bool = False


def cluster_cert_specs(node_name: str, node_ip: str, service_ip: str) -> list[CertSpec]:
    """Every leaf certificate a single-node cluster needs."""
    return [
        CertSpec(
            "apiserver",
            "kube-apiserver",
            dns_names=(
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
                "localhost",
            ),
            ip_addresses=("127.0.0.1", service_ip, node_ip),
            server=True,
        ),
        # The API server's client identity towards kubelets (exec, logs, port-forward).
        CertSpec("apiserver-kubelet-client", "kube-apiserver", "system:masters", client=True),
        CertSpec("admin", "pytest-pods-admin", "system:masters", client=True),
        CertSpec("controller-manager", "system:kube-controller-manager", client=True),
        CertSpec("scheduler", "system:kube-scheduler", client=True),
        # Bound to the system:node-proxier ClusterRole by the API server's bootstrap policy.
        CertSpec("kube-proxy", "system:kube-proxy", client=True),
        # NodeRestriction needs CN=system:node:<node name>.
        CertSpec("kubelet-client", f"system:node:{node_name}", "system:nodes", client=True),
        CertSpec(
            "kubelet",
            node_name,
            dns_names=(node_name, "localhost"),
            ip_addresses=(node_ip, "127.0.0.1"),
            server=True,
        ),
    ]


def etcd_cert_specs() -> list[CertSpec]:
    """etcd's serving, peer and client certificates, signed by the etcd CA (kubeadm's set)."""
    dns, ips = ("localhost",), ("127.0.0.1",)
    return [
        CertSpec("server", "pytest-pods-etcd", dns_names=dns, ip_addresses=ips, server=True, client=True),
        CertSpec("peer", "pytest-pods-etcd", dns_names=dns, ip_addresses=ips, server=True, client=True),
        CertSpec("healthcheck-client", "kube-etcd-healthcheck-client", client=True),
        CertSpec("apiserver-etcd-client", "kube-apiserver-etcd-client", client=True),
    ]


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


class PKI:
    """Certificates under one directory: ``ca.crt``, ``<name>.crt``/``.key``, ``sa.key``/``sa.pub``."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def cert(self, name: str) -> Path:
        return self.dir / f"{name}.crt"

    def key(self, name: str) -> Path:
        return self.dir / f"{name}.key"

    @property
    def ca_cert(self) -> Path:
        return self.cert("ca")

    @property
    def etcd(self) -> PKI:
        """etcd's own CA and certificates (``pki/etcd``)."""
        return PKI(self.dir / "etcd")

    @property
    def sa_key(self) -> Path:
        return self.dir / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.dir / "sa.pub"

    def exists(self, specs: list[CertSpec]) -> bool:
        names = ["ca", *(s.name for s in specs)]
        return self.sa_key.exists() and all(self.cert(n).exists() and self.key(n).exists() for n in names)

    def create(
        self,
        specs: list[CertSpec],
        ca_store: Path | None = None,
        *,
        service_account: bool = True,
        ca_name: str = "pytest-pods-ca",
    ) -> None:
        """Make every leaf in ``specs`` (and the service-account key pair), signed by the CA kept in
        ``ca_store`` (made there on first use), else by a new CA. A CA that outlives the cluster keeps
        kubeconfigs and clients valid across ``down`` and ``up``."""
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        stored = ca_store is not None and (ca_store / "ca.crt").exists() and (ca_store / "ca.key").exists()
        if ca_store is not None and stored:
            ca_key_any = serialization.load_pem_private_key((ca_store / "ca.key").read_bytes(), password=None)
            assert isinstance(ca_key_any, ec.EllipticCurvePrivateKey)
            ca_key = ca_key_any
            ca_cert = x509.load_pem_x509_certificate((ca_store / "ca.crt").read_bytes())
        else:
            ca_key, ca_cert = self._new_ca(now, ca_name)
        _write_private(self.key("ca"), _key_pem(ca_key))
        self.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        if ca_store is not None and not stored:
            ca_store.mkdir(parents=True, exist_ok=True)
            os.chmod(ca_store, 0o700)
            _write_private(ca_store / "ca.key", _key_pem(ca_key))
            (ca_store / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        self._leaves(specs, ca_key, ca_cert.subject, now)
        if service_account:
            sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            _write_private(self.sa_key, _key_pem(sa))
            self.sa_pub.write_bytes(
                sa.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )

    @staticmethod
    def _new_ca(now: dt.datetime, common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _name(common_name)
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        return ca_key, ca_cert

    def _leaves(
        self, specs: list[CertSpec], ca_key: ec.EllipticCurvePrivateKey, ca_name: x509.Name, now: dt.datetime
    ) -> None:
        for spec in specs:
            key = ec.generate_private_key(ec.SECP256R1())
            usages = []
            if spec.server:
                usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
            if spec.client:
                usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
            builder = (
                x509.CertificateBuilder()
                .subject_name(_name(spec.common_name, spec.organization))
                .issuer_name(ca_name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now)
                .not_valid_after(now + _VALIDITY)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
                )
            )
            sans: list[x509.GeneralName] = [x509.DNSName(d) for d in spec.dns_names]
            sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in spec.ip_addresses]
            if sans:
                builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
            cert = builder.sign(ca_key, hashes.SHA256())
            _write_private(self.key(spec.name), _key_pem(key))
            self.cert(spec.name).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
