"""The exchange package (docs/DATA-MODEL.md): writing one, and opening, verifying and reading one.

A package is a directory, or the same files in a .zip or .tar(.gz): ``manifest.json`` (format, version,
tenant, time, and every other file with its row count, size and SHA-256), ``assets.json``,
``series.json`` and ``points/{series_id}.parquet`` (optionally ``.csv`` beside it) — or, for an export of a
minute or hour grant, ``aggregates/{series_id}.parquet`` (version 2). The worker writes packages
(services/worker/exporter.py), ``sf import`` reads them (services/exchange/importer.py).

Reading trusts nothing: every name the manifest lists must be a plain relative path inside the package,
every file must be listed, and every file's bytes are hashed when read; ``verify`` checks them all
before anything is imported.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from services.runtime.errors import InvalidArgument

FORMAT = "sfcloud-export"
FORMAT_VERSION = 2  # 2: a grant in the manifest, and aggregates files (docs/DATA-MODEL.md)
READABLE_VERSIONS = (1, 2)
MANIFEST = "manifest.json"
ASSETS = "assets.json"
SERIES = "series.json"
POINTS_DIR = "points"
AGGREGATES_DIR = "aggregates"
ROW_GROUP_ROWS = 1 << 20
POINTS_SCHEMA = pa.schema(
    [
        ("series_id", pa.dictionary(pa.int32(), pa.string())),
        ("timestamp_ns", pa.int64()),
        ("value", pa.float64()),
    ]
)
AGGREGATES_SCHEMA = pa.schema(
    [
        ("series_id", pa.dictionary(pa.int32(), pa.string())),
        ("start_ns", pa.int64()),
        ("count", pa.int64()),
        ("min", pa.float64()),
        ("max", pa.float64()),
        ("sum", pa.float64()),
        ("avg", pa.float64()),
    ]
)
# Values are written as their raw IEEE 754 bits (no dictionary, which could merge NaNs of different
# payloads); timestamps delta-coded; series ids dictionary-coded (one value per file).
_PARQUET_OPTIONS = {
    "use_dictionary": ["series_id"],
    "column_encoding": {"timestamp_ns": "DELTA_BINARY_PACKED", "value": "BYTE_STREAM_SPLIT"},
    "compression": "zstd",
}


class PackageError(InvalidArgument):
    """A package that cannot be imported; ``file`` names the file at fault (empty: the package itself)."""

    def __init__(self, file: str, problem: str, reason: str) -> None:
        super().__init__(f"{file}: {problem}" if file else problem, reason=reason)
        self.file = file


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class PackageWriter:
    """Writes a package's files into a fresh directory, recording each in the manifest's contents."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.contents: list[dict[str, Any]] = []
        (folder / POINTS_DIR).mkdir(parents=True)
        (folder / AGGREGATES_DIR).mkdir()

    def _record(self, name: str, kind: str, rows: int, **extra: Any) -> None:
        path = self.folder / name
        self.contents.append(
            {
                "path": name,
                "kind": kind,
                "rows": rows,
                "bytes": path.stat().st_size,
                "sha256": sha256_file(path),
            }
            | extra
        )

    def write_json(self, name: str, kind: str, key: str, rows: list[dict[str, Any]]) -> None:
        (self.folder / name).write_text(json.dumps({key: rows}, indent=1, ensure_ascii=False) + "\n")
        self._record(name, kind, len(rows))

    def write_points(self, series_id: str, timestamps: np.ndarray, values: np.ndarray, csv: bool) -> None:
        """One series' points, sorted by time, as Parquet (and CSV)."""
        name = f"{POINTS_DIR}/{series_id}.parquet"
        with pq.ParquetWriter(self.folder / name, POINTS_SCHEMA, **_PARQUET_OPTIONS) as writer:
            for start in range(0, max(timestamps.size, 1), ROW_GROUP_ROWS):
                writer.write_table(points_table(series_id, timestamps[start : start + ROW_GROUP_ROWS],
                                                values[start : start + ROW_GROUP_ROWS]))  # fmt: skip
        self._record(name, "points", int(timestamps.size), format="parquet", series_id=series_id)
        if csv:
            name = f"{POINTS_DIR}/{series_id}.csv"
            with (self.folder / name).open("w", newline="") as f:
                f.write("series_id,timestamp_ns,value\n")
                f.writelines(
                    f"{series_id},{t},{v!r}\n"
                    for t, v in zip(timestamps.tolist(), values.tolist(), strict=True)
                )
            self._record(name, "points", int(timestamps.size), format="csv", series_id=series_id)

    def write_aggregates(
        self, series_id: str, bucket_ns: int, columns: dict[str, np.ndarray], csv: bool
    ) -> None:
        """One series' non-empty buckets of ``bucket_ns``, by start: ``columns`` holds start_ns, count, min,
        max, sum and avg."""
        name = f"{AGGREGATES_DIR}/{series_id}.parquet"
        rows = int(columns["start_ns"].size)
        ids = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, np.int32)), pa.array([series_id]))
        arrays = [
            ids,
            *(pa.array(columns[f.name], f.type) for f in AGGREGATES_SCHEMA if f.name != "series_id"),
        ]
        table = pa.Table.from_arrays(arrays, schema=AGGREGATES_SCHEMA)
        pq.write_table(table, self.folder / name, compression="zstd", use_dictionary=["series_id"])
        extra = {"series_id": series_id, "bucket_ns": bucket_ns}
        self._record(name, "aggregates", rows, format="parquet", **extra)
        if csv:
            name = f"{AGGREGATES_DIR}/{series_id}.csv"
            names = [f.name for f in AGGREGATES_SCHEMA if f.name != "series_id"]
            with (self.folder / name).open("w", newline="") as f:
                f.write("series_id," + ",".join(names) + "\n")
                for row in zip(*(columns[n].tolist() for n in names), strict=True):
                    f.write(series_id + "," + ",".join(repr(v) for v in row) + "\n")
            self._record(name, "aggregates", rows, format="csv", **extra)

    def finish(self, manifest: dict[str, Any]) -> None:
        """Writes manifest.json: ``manifest`` (tenant, export id, times) with the format and the contents."""
        whole = {"format": FORMAT, "format_version": FORMAT_VERSION, **manifest, "contents": self.contents}
        (self.folder / MANIFEST).write_text(json.dumps(whole, indent=1, ensure_ascii=False) + "\n")


def points_table(series_id: str, timestamps: np.ndarray, values: np.ndarray) -> pa.Table:
    ids = pa.DictionaryArray.from_arrays(pa.array(np.zeros(timestamps.size, np.int32)), pa.array([series_id]))
    return pa.Table.from_arrays([ids, pa.array(timestamps), pa.array(values)], schema=POINTS_SCHEMA)


def zip_folder(folder: Path, target: Path) -> tuple[int, str]:
    """The folder's files in one .zip at ``target`` (stored: Parquet is compressed already), written
    beside it and renamed into place; returns its size and SHA-256."""
    partial = target.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(folder).as_posix())
    os.replace(partial, target)
    return target.stat().st_size, sha256_file(target)


@dataclass(frozen=True)
class Points:
    series_id: str
    timestamps: np.ndarray
    values: np.ndarray


class Package:
    """An opened package: a directory, a .zip or a .tar(.gz). Use ``verify`` before reading anything."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self._zip: zipfile.ZipFile | None = None
        self._tar: tarfile.TarFile | None = None
        if source.is_dir():
            self._names = {p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()}
        elif zipfile.is_zipfile(source):
            self._zip = zipfile.ZipFile(source)
            self._names = {i.filename for i in self._zip.infolist() if not i.is_dir()}
        elif source.is_file() and tarfile.is_tarfile(source):
            self._tar = tarfile.open(source)
            self._names = {m.name.removeprefix("./") for m in self._tar.getmembers() if m.isfile()}
        else:
            raise PackageError(str(source), "not a directory, .zip or .tar package", "NOT_A_PACKAGE")
        self.manifest = self._manifest()

    def close(self) -> None:
        for archive in (self._zip, self._tar):
            if archive is not None:
                archive.close()

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _raw(self, name: str) -> bytes:
        if name not in self._names:
            raise PackageError(name, "listed in the manifest but missing from the package", "MISSING_FILE")
        if self._zip is not None:
            return self._zip.read(name)
        if self._tar is not None:
            member = self._tar.getmember(name if name in self._tar.getnames() else f"./{name}")
            return self._tar.extractfile(member).read()
        return (self.source / name).read_bytes()

    def _manifest(self) -> dict[str, Any]:
        if MANIFEST not in self._names:
            raise PackageError(MANIFEST, "missing: this is not an sfcloud export", "NOT_A_PACKAGE")
        try:
            manifest = json.loads(self._raw(MANIFEST))
            contents = manifest["contents"]
            if manifest["format"] != FORMAT:
                raise PackageError(
                    MANIFEST, f"format is {manifest['format']!r}, not {FORMAT}", "NOT_A_PACKAGE"
                )
            if manifest["format_version"] not in READABLE_VERSIONS:
                raise PackageError(
                    MANIFEST,
                    f"format version {manifest['format_version']} is not supported (this reads"
                    f" {' and '.join(map(str, READABLE_VERSIONS))})",
                    "UNSUPPORTED_VERSION",
                )
            self.entries = {entry["path"]: entry for entry in contents}
            for entry in contents:
                _check_name(entry["path"])
                int(entry["rows"]), str(entry["sha256"])
        except (ValueError, KeyError, TypeError) as exc:
            raise PackageError(MANIFEST, f"malformed ({exc!r})", "BAD_MANIFEST") from None
        return manifest

    def verify(self) -> None:
        """Every listed file present with its SHA-256, and no file that is not listed."""
        unlisted = sorted(self._names - set(self.entries) - {MANIFEST})
        if unlisted:
            raise PackageError(unlisted[0], "is not listed in the manifest", "UNLISTED_FILE")
        for name in sorted(self.entries):
            self.read(name)

    def read(self, name: str) -> bytes:
        """A listed file's bytes, checked against the manifest's SHA-256."""
        entry = self.entries.get(name)
        if entry is None:
            raise PackageError(name, "is not listed in the manifest", "MISSING_FILE")
        data = self._raw(name)
        found = hashlib.sha256(data).hexdigest()
        if found != entry["sha256"]:
            raise PackageError(
                name, f"SHA-256 mismatch: the manifest says {entry['sha256']}, the file is {found}",
                "CHECKSUM_MISMATCH",
            )  # fmt: skip
        return data

    def read_json(self, name: str, key: str) -> list[dict[str, Any]]:
        try:
            rows = json.loads(self.read(name))[key]
            if not isinstance(rows, list) or len(rows) != self.entries[name]["rows"]:
                raise ValueError(f"{key} must be a list of {self.entries[name]['rows']} rows")
        except (ValueError, KeyError, TypeError) as exc:
            raise PackageError(name, f"malformed ({exc})", "BAD_CONTENT") from None
        return rows

    def point_files(self) -> list[dict[str, Any]]:
        return [e for e in self.entries.values() if e["kind"] == "points" and e.get("format") == "parquet"]

    def aggregate_files(self) -> list[dict[str, Any]]:
        return [e for e in self.entries.values() if e["kind"] == "aggregates"]

    def read_points(self, name: str) -> Points:
        """A points file's rows (checked: its columns, one series, the manifest's row count)."""
        entry = self.entries[name]
        try:
            table = pq.read_table(
                pa.BufferReader(self.read(name)), columns=["series_id", "timestamp_ns", "value"]
            )
            ids = pc.unique(table["series_id"].cast(pa.string())).to_pylist()
            if ids != [entry.get("series_id")] and table.num_rows:
                raise ValueError(f"holds series {ids[:3]}, the manifest says {entry.get('series_id')}")
            if table.num_rows != entry["rows"]:
                raise ValueError(f"{table.num_rows} rows, the manifest says {entry['rows']}")
            timestamps = table["timestamp_ns"].cast(pa.int64(), safe=True).to_numpy()
            values = table["value"].to_numpy()
            if values.dtype != np.float64:
                raise ValueError("value must be float64")
        except (pa.ArrowException, ValueError, KeyError) as exc:
            raise PackageError(name, f"unreadable points ({exc})", "BAD_CONTENT") from None
        return Points(entry["series_id"], timestamps, values)


def _check_name(name: str) -> None:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts or name != path.as_posix():
        raise PackageError(MANIFEST, f"names a file outside the package: {name!r}", "BAD_MANIFEST")
