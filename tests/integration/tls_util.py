"""Certificates for tests, made at run time with the openssl command in the test's
tmp dir (nothing of the kind is committed): a CA, and a server certificate it signs
for 127.0.0.1 and localhost."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass
class TlsFiles:
    ca: Path      # the CA certificate a client trusts
    cert: Path    # the server's certificate, signed by the CA
    key: Path     # the server's private key


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(directory: Path, name: str = "PFAD test CA") -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", str(ca_key), "-out", str(ca), "-days", "2", "-subj", f"/CN={name}")
    return ca, ca_key


def make_server_cert(directory: Path, ca: tuple[Path, Path] | None = None) -> TlsFiles:
    """A server certificate for 127.0.0.1 signed by `ca` (a new CA when None)."""
    ca_cert, ca_key = ca or make_ca(directory)
    key, csr, cert, ext = (directory / n for n in ("server.key", "server.csr", "server.pem", "server.ext"))
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key),
             "-out", str(csr), "-subj", "/CN=127.0.0.1")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key), "-set_serial", "2",
             "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return TlsFiles(ca=ca_cert, cert=cert, key=key)
