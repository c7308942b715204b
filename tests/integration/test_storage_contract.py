"""The object-store contract suite (src/pfad/storage/object_store_contract.h) against S3Store on the
real MinIO: runs storage_s3_contract_test, built beside the pfad binary under test, in a fresh bucket.

The same suite runs against LocalStore in the unit tests (storage_test)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

# Where CMake puts it in every build tree (build/, build-asan/, ...), relative to the tree's root.
CONTRACT_TEST = Path("src/pfad/storage/storage_s3_contract_test")


@pytest.fixture(scope="module")
def contract_test() -> Path:
    pfad = Path(os.environ.get("PFAD_BIN", ROOT / "build/pfad")).resolve()
    binary = pfad.parent / CONTRACT_TEST
    if not binary.is_file():
        pytest.fail(f"{binary} does not exist: the build tree of {pfad} has no S3 contract test "
                    f"(build it with `cmake --build {pfad.parent} --target storage_s3_contract_test`)")
    return binary


def clean_env() -> dict[str, str]:
    """The environment without any S3 settings, so a test passes exactly the ones it means."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("AWS_", "MINIO_", "PFAD_S3_"))}


def test_s3_store_keeps_the_object_store_contract(contract_test, minio_env, bucket):
    env = {**clean_env(), **{k: v for k, v in minio_env.items() if k.startswith("AWS_")},
           "PFAD_S3_CONTRACT_BUCKET": bucket}
    run = subprocess.run([str(contract_test)], env=env, capture_output=True, text=True, timeout=600)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-8000:]
    # Every test of the binary ran and passed: none may skip on S3 (as root, only the local variant
    # skips the denied-access test).
    listed = subprocess.run([str(contract_test), "--gtest_list_tests"], capture_output=True, text=True,
                            check=True).stdout
    names, suite = [], ""
    for line in listed.splitlines():
        if not line.startswith(" "):
            suite = line.split("#")[0].strip()
        else:
            names.append(suite + line.split("#")[0].strip())
    assert any("DeniedAccess" in name for name in names), listed
    assert "[  SKIPPED ]" not in output, output[-8000:]
    for name in names:
        assert f"[       OK ] {name} (" in run.stdout, f"{name} did not pass:\n{output[-8000:]}"


def test_without_a_store_to_test_the_contract_test_fails(contract_test):
    run = subprocess.run([str(contract_test)], env=clean_env(), capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "PFAD_S3_CONTRACT_BUCKET" in run.stderr and "AWS_ENDPOINT_URL" in run.stderr, run.stderr


def test_an_unreachable_store_fails_the_contract_test(contract_test, minio_env):
    from conftest import free_port
    env = {**clean_env(), **{k: v for k, v in minio_env.items() if k.startswith("AWS_")},
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "PFAD_S3_CONTRACT_BUCKET": "pfad-nowhere"}
    run = subprocess.run([str(contract_test)], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "cannot use http://127.0.0.1:" in run.stderr, run.stderr
