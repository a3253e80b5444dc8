"""Verifies npm attestation bundles with sigstore-python, for `cargo xtask bench verify`.

usage: python sigstore-python-verify.py TRUSTED_ROOT ITERATIONS ATTESTATIONS_FILE...

sigstore-python verifies keyless (certificate) bundles only; npm's key-signed publish
attestations are reported as unsupported.
"""
import json
import sys
import time

from sigstore.models import Bundle, TrustedRoot
from sigstore.verify.policy import UnsafeNoOp
from sigstore.verify.verifier import Verifier


def main() -> None:
    root_path, iterations, *files = sys.argv[1:]
    verifier = Verifier(trusted_root=TrustedRoot.from_file(root_path))
    texts = []
    for path in files:
        with open(path) as handle:
            document = json.load(handle)
        bundles = [item["bundle"] for item in document["attestations"]] if "attestations" in document else [document]
        texts.extend(json.dumps(bundle) for bundle in bundles)

    def verify(text: str) -> str:
        if "publicKey" in json.loads(text)["verificationMaterial"]:
            return "unsupported: key-signed bundle (sigstore-python verifies certificate-signed bundles only)"
        try:
            verifier.verify_dsse(Bundle.from_json(text), UnsafeNoOp())
            return "ok"
        except Exception as error:  # noqa: BLE001 - report whatever it rejects with
            return f"{type(error).__name__}: {error}"

    results = [verify(text) for text in texts]
    verifiable = [text for text, result in zip(texts, results) if result == "ok"]
    times = []
    for _ in range(int(iterations)):
        if not verifiable:
            break
        start = time.perf_counter_ns()
        for text in verifiable:
            verify(text)
        times.append((time.perf_counter_ns() - start) / len(verifiable))
    times.sort()
    median = times[len(times) // 2] if times else None
    print(json.dumps({"bundles": len(texts), "results": results, "median_ns_per_bundle": median}))


if __name__ == "__main__":
    main()
