"""While both exist: the old hand-written parsers and the msgspec decoders give the same
domain values for every recorded fixture (Tempo traces, Loki streams, OTLP-written logs)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from oncall_tui.models.tempo.decode import parse_trace
from tests._old_parsers.tempo_decode_old import parse_trace as old_parse_trace

SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
if not SHARED.exists():
    SHARED = Path("/work/shared/fixtures")
TEMPO = SHARED / "tempo"


def _bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if path.suffix == ".gz" else raw


def _span_values(sp: Any) -> tuple[Any, ...]:
    return (
        sp.trace_id, sp.span_id, sp.parent_id, sp.name, sp.service, sp.kind, sp.start_ns, sp.end_ns,
        sp.status, sp.status_message, list(sp.resource), sp.events, sp.links, sp.scope, sp.attributes,
    )


def _trace_values(tr: Any) -> tuple[Any, ...]:
    return (tr.trace_id, tr.partial, tr.message, [_span_values(s) for s in tr.spans])


TRACE_FILES = sorted(p.name for p in TEMPO.glob("trace_*.json*"))


@pytest.mark.parametrize("name", TRACE_FILES)
def test_tempo_trace_fixture_parses_to_the_same_values(name: str) -> None:
    body = _bytes(TEMPO / name)
    try:
        old = _trace_values(old_parse_trace(json.loads(body)))
    except ValueError as exc:  # pragma: no cover - no fixture is malformed
        pytest.fail(f"old parser failed: {exc}")
    assert _trace_values(parse_trace(body)) == old
    assert _trace_values(parse_trace(json.loads(body))) == old
    assert _trace_values(parse_trace(body, trace_id="ab")) == _trace_values(old_parse_trace(json.loads(body), trace_id="ab"))


def test_generated_big_trace_parses_to_the_same_values() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from trace_layout import make_trace_json

    body = make_trace_json(3000)
    assert _trace_values(parse_trace(json.dumps(body).encode())) == _trace_values(old_parse_trace(body))


# ------------------------------------------------------------------------- Loki --
LOKI_DIRS = [SHARED / "loki", Path(__file__).resolve().parent / "fixtures" / "loki_otlp"]
LOKI_FILES = sorted(
    (p for d in LOKI_DIRS for p in d.glob("query*.json")),
    key=lambda p: (p.parent.name, p.name),
)


def _entry_values(e: Any) -> tuple[Any, ...]:
    return (e.ts, e.line, dict(e.labels), dict(e.metadata), dict(e.parsed), e.stream)


def _data_values(data: Any) -> Any:
    if type(data).__name__ == "StreamsResult":
        return ("streams", [_entry_values(e) for e in data.entries], data.stats, data.encoding_flags)
    return ("metric", repr(data))


@pytest.mark.parametrize("path", LOKI_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_loki_query_fixture_parses_to_the_same_values(path: Path) -> None:
    from oncall_tui.models.loki import decode_query_body, parse_loki_query_data
    from tests._old_parsers.loki_old import parse_loki_query_data as old_parse

    raw = path.read_bytes()
    body = json.loads(raw)
    old = _data_values(old_parse(body["data"]))
    decoded = decode_query_body(raw)
    assert decoded.status == body["status"] and decoded.has_data
    assert _data_values(decoded.data) == old
    assert _data_values(parse_loki_query_data(body["data"])) == old


def test_loki_streams_fixtures_are_all_covered() -> None:
    streams = [p for p in LOKI_FILES if "streams" in p.name or "otlp" in p.parent.name]
    assert len(streams) >= 15


def test_loki_tail_frames_parse_to_the_same_values() -> None:
    from oncall_tui.models.loki import parse_tail_frame
    from tests._old_parsers.loki_old import parse_tail_frame as old_tail

    frames = json.loads((SHARED / "loki" / "tail_websocket_frames.json").read_text())
    frames = frames.get("frames", frames) if isinstance(frames, dict) else frames
    assert frames
    for frame in frames:
        frame = frame.get("frame", frame) if isinstance(frame, dict) and "frame" in frame else frame
        old, new = old_tail(frame), parse_tail_frame(frame)
        assert [_entry_values(e) for e in new.entries] == [_entry_values(e) for e in old.entries]
        assert new.dropped == old.dropped


def test_generated_100k_style_body_parses_to_the_same_values() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from logs_load import make_body

    from oncall_tui.models.loki import decode_query_body
    from tests._old_parsers.loki_old import parse_loki_query_data as old_parse

    for categorized in (True, False):
        raw = make_body(2000, categorized=categorized)
        assert _data_values(decode_query_body(raw).data) == _data_values(old_parse(json.loads(raw)["data"]))
