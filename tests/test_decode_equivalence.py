"""Every recorded fixture (Tempo traces, Loki streams, OTLP-written logs) still parses to the
domain values the old hand-written parsers gave.

The old parsers were compared with the msgspec decoders fixture by fixture while both existed
(commit 9cee257, ``tests/_old_parsers``); their output is kept as one digest per fixture in
``fixtures/decoded_fixture_digests.json``. The bytes path and the decoded-JSON path of each
parser must agree too.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from oncall_tui.models.loki import StreamsResult, decode_query_body, parse_loki_query_data
from oncall_tui.models.tempo.decode import parse_trace

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "fixtures"
if not SHARED.exists():
    SHARED = Path("/work/shared/fixtures")
TEMPO = SHARED / "tempo"
DIGESTS: dict[str, str] = json.loads((HERE / "fixtures" / "decoded_fixture_digests.json").read_text())


def _bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if path.suffix == ".gz" else raw


def _digest(values: Any) -> str:
    return hashlib.sha256(repr(values).encode()).hexdigest()


def _span_values(sp: Any) -> tuple[Any, ...]:
    return (
        sp.trace_id, sp.span_id, sp.parent_id, sp.name, sp.service, sp.kind, sp.start_ns, sp.end_ns,
        sp.status, sp.status_message, list(sp.resource), sp.events, sp.links, sp.scope, sp.attributes,
    )


def _trace_values(tr: Any) -> tuple[Any, ...]:
    return (tr.trace_id, tr.partial, tr.message, [_span_values(s) for s in tr.spans])


TRACE_FILES = sorted(p.name for p in TEMPO.glob("trace_*.json*"))


@pytest.mark.parametrize("name", TRACE_FILES)
def test_tempo_trace_fixture_parses_to_the_old_values(name: str) -> None:
    body = _bytes(TEMPO / name)
    values = _trace_values(parse_trace(body))
    assert _digest(values) == DIGESTS[f"tempo/{name}"]
    assert _trace_values(parse_trace(json.loads(body))) == values


def test_every_trace_fixture_has_a_digest() -> None:
    assert len(TRACE_FILES) >= 14
    assert {f"tempo/{n}" for n in TRACE_FILES} <= set(DIGESTS)


# ------------------------------------------------------------------------- Loki --
LOKI_DIRS = [SHARED / "loki", HERE / "fixtures" / "loki_otlp"]
LOKI_STREAMS = sorted(
    (p for d in LOKI_DIRS for p in d.glob("query*.json") if json.loads(p.read_bytes())["data"].get("resultType") == "streams"),
    key=lambda p: (p.parent.name, p.name),
)


def _entry_values(e: Any) -> tuple[Any, ...]:
    return (e.ts, e.line, dict(e.labels), dict(e.metadata), dict(e.parsed), sorted(e.stream))


def _data_values(data: Any) -> Any:
    assert isinstance(data, StreamsResult)
    return ("streams", [_entry_values(e) for e in data.entries], data.stats, data.encoding_flags)


@pytest.mark.parametrize("path", LOKI_STREAMS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_loki_streams_fixture_parses_to_the_old_values(path: Path) -> None:
    raw = path.read_bytes()
    body = json.loads(raw)
    decoded = decode_query_body(raw)
    assert decoded.status == body["status"] and decoded.has_data
    values = _data_values(decoded.data)
    assert _digest(values) == DIGESTS[f"{path.parent.name}/{path.name}"]
    assert _data_values(parse_loki_query_data(body["data"])) == values


def test_every_streams_fixture_has_a_digest() -> None:
    assert len(LOKI_STREAMS) >= 15
    assert {f"{p.parent.name}/{p.name}" for p in LOKI_STREAMS} <= set(DIGESTS)


def test_generated_bodies_parse_the_same_from_bytes_and_from_json() -> None:
    import sys

    sys.path.insert(0, str(HERE.parent / "benchmarks"))
    from logs_load import make_body
    from trace_layout import make_trace_json

    for categorized in (True, False):
        raw = make_body(2000, categorized=categorized)
        assert _data_values(decode_query_body(raw).data) == _data_values(parse_loki_query_data(json.loads(raw)["data"]))
    trace = make_trace_json(3000)
    assert _trace_values(parse_trace(json.dumps(trace).encode())) == _trace_values(parse_trace(trace))
