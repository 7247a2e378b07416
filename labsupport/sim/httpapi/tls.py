"""TLS for the served simulator: a private certificate authority made at ``serve()``.

Every real API server speaks HTTPS, and kubectl (like every client-go
program) sends a bearer token only over TLS. So each ``serve()`` makes a
throw-away certificate authority and, signed by it, a server certificate
for ``127.0.0.1`` and ``localhost``; the kubeconfig carries the authority
(``certificate-authority-data``) so kubectl and the official client verify
the server as they verify a kind cluster's. Both keys are EC P-256 (made in
a millisecond, where RSA takes tens) and live only in the serve's private
folder (mode 0600), deleted when serving stops.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> certs = make_certificates(folder)
    >>> certs.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    True
    >>> oct(certs.key_path.stat().st_mode & 0o777)
    '0o600'
    >>> server_context(certs).minimum_version >= ssl.TLSVersion.TLSv1_2
    True
    >>> client_context(certs.ca_pem).check_hostname
    True
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Certificates", "make_certificates", "server_context", "client_context"]

#: How long the certificates are valid: longer than any lesson, short enough to be harmless.
VALID_FOR = datetime.timedelta(days=7)


@dataclass(frozen=True)
class Certificates:
    """The certificate authority and the server's certificate of one serve.

    Attributes:
        ca_pem: the authority's certificate (PEM), what clients trust.
        cert_path: the server certificate's file (PEM).
        key_path: the server key's file (PEM, mode 0600).
    """

    ca_pem: bytes
    cert_path: Path
    key_path: Path


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def make_certificates(folder: Path) -> Certificates:
    """Make a certificate authority and a server certificate for 127.0.0.1 in ``folder``.

    Args:
        folder: a private folder (the serve's own temporary folder).

    Returns:
        The authority's certificate and the paths of the server's certificate and key.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    # The certificates' validity is wall time by nature (clients check it against
    # their own clock); it does not touch the simulation's determinism.
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "labsupport-sim-ca")])
    ca = (x509.CertificateBuilder()
          .subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + VALID_FOR)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    # A kind API server's certificate names the same: its IPs and "localhost"
    # (kubeadm's certs phase, GetAPIServerAltNames).
    names = x509.SubjectAlternativeName([
        x509.DNSName("localhost"), x509.DNSName("kubernetes"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ])
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + VALID_FOR)
            .add_extension(names, critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    cert_path, key_path = folder / "apiserver.crt", folder / "apiserver.key"
    _write_private(cert_path, cert.public_bytes(pem))
    _write_private(key_path, key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    # The authority's key is not kept: nothing else is ever signed with it.
    return Certificates(ca.public_bytes(pem), cert_path, key_path)


def server_context(certs: Certificates) -> ssl.SSLContext:
    """The server side's TLS settings: the server certificate, TLS 1.2 or newer."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certs.cert_path, certs.key_path)
    return ctx


def client_context(ca_pem: bytes) -> ssl.SSLContext:
    """A client's TLS settings that trust only this serve's authority."""
    return ssl.create_default_context(cadata=ca_pem.decode())
