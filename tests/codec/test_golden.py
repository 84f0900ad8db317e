"""Blobs of every format version, written once by that version's encoder, still decode exactly.

``golden/cases.json`` holds the arrays (values as IEEE-754 bit patterns); ``golden/v1.json`` and
``golden/v2.json`` the blobs each version wrote for them. They are never regenerated: a new version
adds a new file, and these keep proving that old blobs read back bit for bit (docs/CODEC.md, section 11).
"""

import json
from pathlib import Path

import numpy as np
import pytest

import tscodec
from tscodec import reference

GOLDEN = Path(__file__).parent / "golden"
CASES = {case["name"]: case for case in json.loads((GOLDEN / "cases.json").read_text())}
BLOBS = [
    (version, name, bytes.fromhex(blob))
    for version in (1, 2)
    for name, blob in json.loads((GOLDEN / f"v{version}.json").read_text()).items()
]


def test_every_version_covers_every_case():
    assert {name for version, name, _ in BLOBS if version == 1} == set(CASES)
    assert {name for version, name, _ in BLOBS if version == 2} == set(CASES)


@pytest.mark.parametrize("implementation", [tscodec, reference], ids=["compiled", "reference"])
@pytest.mark.parametrize(("version", "name", "blob"), BLOBS, ids=[f"v{v}-{n}" for v, n, _ in BLOBS])
def test_golden_blob_decodes_to_its_arrays(implementation, version, name, blob):
    assert blob[4] == version
    case = CASES[name]
    ts, vs = implementation.decode(blob)
    assert ts.dtype == np.int64 and vs.dtype == np.float64
    assert ts.tolist() == case["timestamps"]
    assert [f"{b:016x}" for b in vs.view(np.uint64).tolist()] == case["values"]


@pytest.mark.parametrize(("version", "name", "blob"), BLOBS, ids=[f"v{v}-{n}" for v, n, _ in BLOBS])
def test_golden_blob_statistics(version, name, blob):
    case = CASES[name]
    got = tscodec.stats(blob)
    assert got.count == len(case["timestamps"])
    if case["timestamps"]:
        assert (got.first_ts, got.last_ts) == (case["timestamps"][0], case["timestamps"][-1])
        assert (got.min_ts, got.max_ts) == (min(case["timestamps"]), max(case["timestamps"]))
