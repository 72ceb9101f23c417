"""The trace waterfall's logic (``oncall_tui.core.waterfall``) on recorded and hand-made traces:
tree shape, critical path, collapse/expand, bar layout and zoom, search, display text."""

from __future__ import annotations

import itertools
import json
import sys
from typing import Any

import pytest

from oncall_tui.core.waterfall.critical import CriticalSection
from oncall_tui.core.waterfall.display import (
    assign_service_colors,
    format_duration_ns,
    span_details,
    span_label,
)
from oncall_tui.core.waterfall.layout import Bar, layout_bar, ruler
from oncall_tui.core.waterfall.tree import NO_PARENT
from oncall_tui.core.waterfall.view import Waterfall
from oncall_tui.models.tempo.decode import parse_trace
from oncall_tui.models.tempo.trace import Span, SpanEvent, Trace

from .conftest import FIXTURES

TEMPO = FIXTURES / "tempo"
HUGE = "trace_v2_1725f3a1e7d5d2559253987c1463dfc5_huge_generation_2000_spans.json"
OOM = "trace_v2_a2316ce28eb6b90c092737eba16c368f_cuda_oom_retry.json"
TIMEOUT = "trace_v2_1dcc9ded87ae5bec96ae022692df519a_router_timeout.json"
EMBED = "trace_v2_7d40e51ac8c553419b6c993fa26c2525_embedding_batch.json"


def _load(name: str) -> Any:
    return json.loads((TEMPO / name).read_text())


def _wf(name: str) -> Waterfall:
    return Waterfall(parse_trace(_load(name)))


def mk(
    span_id: int,
    parent: int | None,
    start: int,
    end: int,
    name: str = "",
    service: str = "svc",
    status: str = "unset",
    **attrs: str,
) -> Span:
    """A span with small integer ids (as hex) and times in ns from 0."""
    return Span(
        trace_id="0" * 31 + "1",
        span_id=f"{span_id:016x}",
        parent_id=None if parent is None else f"{parent:016x}",
        name=name or f"s{span_id}",
        service=service,
        kind="internal",
        start_ns=start,
        end_ns=end,
        status=status,  # type: ignore[arg-type]
        raw_attributes=[{"key": k, "value": {"stringValue": v}} for k, v in attrs.items()],
    )


def names(wf: Waterfall, nodes: list[int] | None = None) -> list[str]:
    return [wf.spans[k].name for k in (wf.visible_nodes() if nodes is None else nodes)]


def critical_names(wf: Waterfall) -> list[tuple[str, int, int]]:
    return [(wf.spans[s.node].name, s.start_ns, s.end_ns) for s in wf.critical_path]


# ------------------------------------------------------------------ real traces --
def test_cuda_oom_retry_tree_in_start_order() -> None:
    wf = _wf(OOM)
    shape = [(wf.depth[k], wf.spans[k].service, wf.spans[k].name) for k in range(len(wf))]
    assert shape == [
        (0, "api-gateway", "POST /v1/chat/completions"),
        (1, "api-gateway", "POST model-router"),
        (2, "model-router", "RouteRequest"),
        (3, "model-router", "feature-store.GetFeatures"),
        (4, "feature-store", "GET /v1/features/{feature_set}"),
        (5, "feature-store", "GET"),
        (3, "model-router", "llm-server.Generate"),  # the failed attempt, on llm-server-1
        (4, "llm-server", "POST /v1/generate"),
        (5, "llm-server", "tokenize"),
        (5, "llm-server", "queue_wait"),
        (5, "llm-server", "prefill"),
        (3, "model-router", "llm-server.Generate"),  # the retry, on llm-server-0
        (4, "llm-server", "POST /v1/generate"),
        (5, "llm-server", "tokenize"),
        (5, "llm-server", "queue_wait"),
        (5, "llm-server", "prefill"),
        (5, "llm-server", "decode"),
        (5, "llm-server", "detokenize"),
    ]
    assert wf.roots == [0] and not wf.orphans
    assert all(wf.spans[wf.parent[k]].span_id == wf.spans[k].parent_id for k in range(1, len(wf)))
    # Errors: the failed prefill, its server span and the router's client span; the gateway
    # root and the router's server span contain them.
    assert [k for k in range(len(wf)) if wf.spans[k].is_error] == [6, 7, 10]
    assert wf.subtree_errors[0] == 3 and wf.subtree_errors[6] == 2 and wf.subtree_errors[11] == 0
    # The retry links back to the failed attempt.
    (retry,) = [k for k in range(len(wf)) if wf.spans[k].links]
    assert wf.spans[retry].links[0].span_id in {wf.spans[k].span_id for k in range(6, 11)}


def test_critical_path_of_the_retry_goes_through_both_attempts_and_covers_the_root() -> None:
    wf = _wf(OOM)
    on_path = {wf.spans[k].name for k in wf.critical}
    assert {"prefill", "decode", "queue_wait", "feature-store.GetFeatures"} <= on_path
    # Sections tile the root's duration: no gap, no overlap.
    root = wf.spans[0]
    starts = [s.start_ns for s in wf.critical_path]
    assert starts == sorted(starts) and wf.critical_path[0].start_ns == root.start_ns
    assert all(a.end_ns == b.start_ns for a, b in itertools.pairwise(wf.critical_path))
    assert wf.critical_path[-1].end_ns == root.end_ns
    decode = next(k for k in range(len(wf)) if wf.spans[k].name == "decode")
    assert any(s.node == decode and s.end_ns - s.start_ns == wf.spans[decode].duration_ns for s in wf.critical_path)


def test_router_timeout_child_outliving_its_parent_is_clipped_on_the_critical_path() -> None:
    wf = _wf(TIMEOUT)
    server = next(k for k in range(len(wf)) if wf.spans[k].name == "POST /v1/generate")
    client = wf.parent[server]
    assert 250_000_000 <= wf.spans[server].end_ns - wf.spans[client].end_ns < 260_000_000  # outlives it
    assert wf.end_ns > wf.spans[0].end_ns  # so the trace is longer than its root
    assert sum(s.end_ns - s.start_ns for s in wf.critical_path) == wf.spans[0].duration_ns
    in_server = [s for s in wf.critical_path if server <= s.node < wf.end[server]]
    assert max(s.end_ns for s in in_server) == wf.spans[client].end_ns  # clipped to the client
    assert max(s.end_ns for s in wf.critical_path) == wf.spans[0].end_ns
    # The bar still shows the real extent: it reaches the right edge, past its parent's bar.
    assert wf.bar(server, 1000).end == 1000 and wf.bar(client, 1000).end == 992


def test_embedding_batch_critical_path_follows_one_worker_chain() -> None:
    wf = _wf(EMBED)
    chunks = [k for k in range(len(wf)) if wf.spans[k].name == "embed_chunk"]
    assert len(chunks) == 32
    critical_chunks = [k for k in chunks if k in wf.critical]
    assert 0 < len(critical_chunks) < len(chunks)  # overlapping siblings are not all critical
    # Each critical chunk ends before the next critical one starts (a dependency chain).
    ends = [wf.spans[k].end_ns for k in critical_chunks]
    starts = [wf.spans[k].start_ns for k in critical_chunks]
    assert all(e <= s for e, s in zip(ends, starts[1:], strict=False))


def test_huge_trace_2000_spans_tree() -> None:
    wf = _wf(HUGE)
    assert len(wf) == 2000 and wf.roots == [0] and not wf.orphans
    assert names(wf)[:9] == [
        "POST /v1/chat/completions",
        "POST model-router",
        "RouteRequest",
        "llm-server.Generate",
        "POST /v1/generate",
        "tokenize",
        "queue_wait",
        "prefill",
        "decode",
    ]
    decode = 8
    steps = wf.children(decode)
    assert len(steps) == 1990 and {wf.spans[k].name for k in steps} == {"decode_step"}
    assert [wf.spans[k].start_ns for k in steps] == sorted(wf.spans[k].start_ns for k in steps)
    assert wf.end[decode] == decode + 1 + 1990 and max(wf.depth) == 6
    assert wf.spans[wf.end[decode]].name == "detokenize"
    # Every decode_step is on the critical path (they run one after another).
    assert all(k in wf.critical for k in steps)
    assert sum(s.end_ns - s.start_ns for s in wf.critical_path) == wf.spans[0].duration_ns
    # Collapsing the decode span leaves 10 rows.
    wf.collapse(decode)
    assert wf.row_count == 10 and names(wf)[-1] == "detokenize"
    (row,) = wf.window(decode, 1, 80)
    assert row.collapsed and row.hidden == 1990


def test_huge_trace_search_finds_the_kv_cache_events() -> None:
    body = _load(HUGE)
    raw_events = [
        e for rs in body["trace"]["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]
        for e in s.get("events", []) if e["name"] == "kv_cache.evict"
    ]
    wf = Waterfall(parse_trace(body))
    hits = wf.find("KV_CACHE.EVICT")
    assert len(hits) == len(raw_events) > 0
    assert {wf.spans[k].name for k in hits} == {"decode_step"}


# ------------------------------------------------------------ critical path, by hand --
def test_critical_path_on_a_small_trace_with_overlaps() -> None:
    #  root  [0 ............................................ 100]
    #  A        [10 ..... 40]                                        overlaps B: not critical
    #  B                [30 ......................... 90]
    #  B1                  [35 ................ 85]
    #  C                                                [95..99]
    spans = [
        mk(1, None, 0, 100, "root"),
        mk(2, 1, 10, 40, "A"),
        mk(3, 1, 30, 90, "B"),
        mk(4, 3, 35, 85, "B1"),
        mk(5, 1, 95, 99, "C"),
    ]
    wf = Waterfall(Trace("0" * 31 + "1", spans))
    assert critical_names(wf) == [
        ("root", 0, 30),
        ("B", 30, 35),
        ("B1", 35, 85),
        ("B", 85, 90),
        ("root", 90, 95),
        ("C", 95, 99),
        ("root", 99, 100),
    ]
    assert names(wf, sorted(wf.critical)) == ["root", "B", "B1", "C"]
    rows = {r.span.name: r for r in wf.window(0, 10, 100)}
    assert not rows["A"].critical and rows["B"].critical
    assert rows["B"].critical_cols == ((30, 35), (85, 90))


def test_critical_path_sequential_children_and_a_child_outliving_its_parent() -> None:
    spans = [
        mk(1, None, 0, 100, "root"),
        mk(2, 1, 0, 50, "first"),
        mk(3, 1, 50, 120, "second"),  # ends after root: counts only up to 100
        mk(4, 1, 200, 300, "outside"),  # wholly outside its parent: never critical
    ]
    wf = Waterfall(Trace("0" * 31 + "1", spans))
    assert critical_names(wf) == [("first", 0, 50), ("second", 50, 100)]
    assert 3 not in wf.critical


def test_deep_chain_does_not_hit_the_recursion_limit() -> None:
    n = sys.getrecursionlimit() * 3
    spans = [mk(i + 1, i if i else None, i, 2 * n - i) for i in range(n)]
    wf = Waterfall(Trace("0" * 31 + "1", list(reversed(spans))))
    assert wf.depth[-1] == n - 1 and len(wf.critical) == n
    wf.collapse_level()
    assert wf.row_count == n - 1


# ------------------------------------------------------------ orphans, cycles, order --
def test_orphans_attach_at_the_root_level_marked() -> None:
    spans = [
        mk(3, 99, 20, 30, "orphan"),  # parent 99 never arrived
        mk(1, None, 0, 100, "root"),
        mk(2, 1, 10, 50, "child"),
        mk(4, 3, 21, 22, "orphan-child"),
    ]
    wf = Waterfall(Trace("0" * 31 + "1", spans))
    assert names(wf) == ["root", "child", "orphan", "orphan-child"]
    assert [wf.depth[k] for k in range(4)] == [0, 1, 0, 1]
    assert wf.roots == [0, 2] and wf.orphans == {2}
    assert [r.orphan for r in wf.window(0, 4, 40)] == [False, False, True, False]
    assert wf.main_root() == 0  # the real root, not the orphan


def test_parent_cycles_and_duplicates_do_not_lose_or_repeat_spans() -> None:
    spans = [
        mk(1, None, 0, 100, "root"),
        mk(2, 3, 10, 20, "a"),  # a -> b -> a
        mk(3, 2, 11, 19, "b"),
        mk(5, 5, 30, 40, "self"),  # its own parent
    ]
    wf = Waterfall(Trace("0" * 31 + "1", spans))
    assert sorted(names(wf)) == ["a", "b", "root", "self"]
    assert len(wf) == 4 and wf.orphans == {k for k in wf.roots if wf.spans[k].name != "root"}
    assert {wf.spans[k].name for k in wf.orphans} == {"a", "self"}


def test_children_sorted_by_start_then_end() -> None:
    spans = [mk(1, None, 0, 100, "root"), mk(2, 1, 50, 60, "late"), mk(3, 1, 10, 90, "long"), mk(4, 1, 10, 20, "short")]
    wf = Waterfall(Trace("0" * 31 + "1", spans))
    assert names(wf) == ["root", "short", "long", "late"]


def test_self_time_excludes_overlapping_children_once() -> None:
    spans = [mk(1, None, 0, 100, "root"), mk(2, 1, 10, 40), mk(3, 1, 30, 60), mk(4, 1, 90, 130)]
    wf = Waterfall(Trace("0" * 31 + "1", spans))
    assert wf.self_ns[0] == 100 - (60 - 10) - (100 - 90)
    assert wf.window(0, 1, 10)[0].self_ns == 40


# ----------------------------------------------------------------- collapse / expand --
def _tree() -> Waterfall:
    # root ─┬─ a ─┬─ a1 ── a1x
    #       │     └─ a2
    #       └─ b ─── b1
    spans = [
        mk(1, None, 0, 100, "root"),
        mk(2, 1, 0, 50, "a"),
        mk(3, 2, 0, 20, "a1"),
        mk(4, 3, 0, 10, "a1x"),
        mk(5, 2, 20, 50, "a2"),
        mk(6, 1, 50, 100, "b"),
        mk(7, 6, 60, 90, "b1"),
    ]
    return Waterfall(Trace("0" * 31 + "1", spans))


def test_collapse_and_expand_one_node() -> None:
    wf = _tree()
    assert names(wf) == ["root", "a", "a1", "a1x", "a2", "b", "b1"]
    wf.collapse(1)
    assert names(wf) == ["root", "a", "b", "b1"]
    rows = wf.window(0, 10, 20)
    assert rows[1].collapsed and rows[1].hidden == 3 and rows[1].has_children
    assert wf.position_of(3) is None and wf.position_of(5) == 2
    assert wf.visible_ancestor(3) == 1
    wf.collapse(3)  # a leaf: nothing to collapse
    assert 3 not in wf.collapsed
    wf.expand(1)
    assert names(wf) == ["root", "a", "a1", "a1x", "a2", "b", "b1"]
    wf.toggle(5)
    assert names(wf) == ["root", "a", "a1", "a1x", "a2", "b"]
    wf.toggle(5)
    assert wf.row_count == 7


def test_collapse_and_expand_by_level_and_all() -> None:
    wf = _tree()
    wf.collapse_level()  # deepest expanded parents: a1 (depth 2)
    assert names(wf) == ["root", "a", "a1", "a2", "b", "b1"]
    wf.collapse_level()  # then a and b (depth 1)
    assert names(wf) == ["root", "a", "b"]
    wf.collapse_level()
    assert names(wf) == ["root"]
    wf.collapse_level()  # nothing left to collapse
    assert names(wf) == ["root"]
    wf.expand_level()
    assert names(wf) == ["root", "a", "b"]
    wf.expand_level()  # a and b open; a1 is still collapsed from before
    assert names(wf) == ["root", "a", "a1", "a2", "b", "b1"]
    wf.expand_all()
    assert wf.row_count == 7
    wf.collapse_all()
    assert names(wf) == ["root"]
    wf.reveal(3)  # a search hit deep inside: its ancestors open, b stays collapsed
    assert names(wf) == ["root", "a", "a1", "a1x", "a2", "b"]


# --------------------------------------------------------------------- layout, zoom --
def test_bar_columns_at_a_given_width() -> None:
    assert layout_bar(0, 1000, 100, 0, 1000) == Bar(0, 100)
    assert layout_bar(250, 500, 100, 0, 1000) == Bar(25, 50)
    assert layout_bar(999, 1000, 100, 0, 1000) == Bar(99, 100)  # tiny: still one column
    assert layout_bar(0, 0, 100, 0, 1000) == Bar(0, 1)
    assert layout_bar(1000, 1000, 100, 0, 1000) == Bar(99, 100)
    assert layout_bar(10, 11, 80, 0, 1000) == Bar(0, 1)
    assert layout_bar(500, 400, 10, 0, 1000) == Bar(5, 6)  # ends before it starts: a point


def test_waterfall_layout_matches_per_bar_layout() -> None:
    wf = _wf(OOM)
    for width in (1, 7, 80, 203):
        assert wf.layout(width) == [layout_bar(s.start_ns, s.end_ns, width, *wf.view) for s in wf.spans]
    bars = wf.layout(100)
    assert bars[0] == Bar(0, 100)  # the root spans the whole axis
    assert all(0 <= b.start < b.end <= 100 for b in bars)


def test_zoom_clips_and_marks_spans_outside() -> None:
    spans = [mk(1, None, 0, 1000, "root"), mk(2, 1, 100, 200, "early"), mk(3, 1, 400, 600, "mid"), mk(4, 1, 600, 700, "late")]
    wf = Waterfall(Trace("0" * 31 + "1", spans))
    wf.zoom(250, 500)
    assert wf.zoomed
    bars = dict(zip(names(wf), wf.layout(100), strict=True))
    assert bars["root"] == Bar(0, 100, clipped_left=True, clipped_right=True)
    assert bars["early"].outside == "left" and not bars["early"].visible
    assert bars["late"].outside == "right"
    assert bars["mid"] == Bar(60, 100, clipped_right=True)
    rows = wf.window(0, 4, 100)
    assert [r.bar for r in rows] == wf.layout(100)
    wf.zoom_to(1)
    assert wf.bar(1, 50) == Bar(0, 50) and wf.bar(0, 50) == Bar(0, 50, True, True)
    wf.reset_zoom()
    assert not wf.zoomed and wf.bar(1, 100) == Bar(10, 20)
    with pytest.raises(ValueError):
        wf.zoom(5, 5)


def test_ruler_ticks_are_round_and_spaced() -> None:
    ticks = ruler(80, 0, 1_000_000_000, min_gap=10)
    assert ticks[0] == (0, "0")
    assert [label for _, label in ticks] == ["0", "200ms", "400ms", "600ms", "800ms", "1s"]
    cols = [c for c, _ in ticks]
    assert all(b - a >= 10 for a, b in itertools.pairwise(cols)) and cols[-1] <= 79
    wf = _wf(OOM)
    wf.zoom(wf.start_ns + 1_000_000_000, wf.start_ns + 2_000_000_000)
    assert wf.ruler(60)[0][1] == "1s"  # labels stay relative to the trace start


def test_window_returns_only_the_rows_asked_for() -> None:
    wf = _wf(HUGE)
    rows = wf.window(1000, 30, 120)
    assert [r.position for r in rows] == list(range(1000, 1030))
    assert [r.node for r in rows] == list(range(1000, 1030))
    assert all(r.depth == 6 and r.label == "llm-server  decode_step" for r in rows)
    assert len(wf.window(1990, 30, 120)) == 10 and wf.window(5000, 30, 120) == []
    assert wf.window(-5, 2, 120)[0].position == 0
    wf.collapse(8)
    assert [r.position for r in wf.window(8, 5, 120)] == [8, 9]


# ------------------------------------------------------------------------ search --
def test_search_by_name_service_attribute_and_exception() -> None:
    wf = _wf(OOM)
    hits = wf.find("outofmemoryerror")  # exception event / error attributes, any case
    assert names(wf, hits) == ["POST /v1/generate", "prefill"]
    assert all(wf.spans[k].is_error and wf.spans[k].attr("k8s.pod.name") == "llm-server-1" for k in hits)
    # By service: every llm-server span, plus the router's client spans named after it.
    assert len(wf.find("LLM-SERVER")) == 12
    # By attribute key=value (span attributes, not resource attributes).
    model = wf.find("gen_ai.request.model=llama-3.1-70b")
    assert [(wf.spans[k].service, wf.spans[k].name) for k in model] == [
        ("api-gateway", "POST /v1/chat/completions"),
        ("llm-server", "POST /v1/generate"),
        ("llm-server", "POST /v1/generate"),
    ]
    assert wf.find(wf.spans[5].span_id) == [5]  # by span id
    assert wf.find("") == [] and wf.find("no such text anywhere") == []


def test_search_positions_skip_collapsed_rows() -> None:
    wf = _tree()
    spans = wf.spans
    assert wf.search("a1") == [2, 3]
    wf.collapse(1)
    assert wf.search("a1") == []  # hidden: use find() + reveal() to show them
    assert names(wf, wf.find("a1")) == ["a1", "a1x"]
    assert wf.search("b") == [2, 3] and spans[wf.visible_nodes()[2]].name == "b"
    rows = wf.window(0, 10, 20, matches=wf.find("b"))
    assert [r.match for r in rows] == [False, False, True, True]


# -------------------------------------------------------------- colours, formatting --
def test_service_colours_are_stable_and_distinct() -> None:
    services = ["api-gateway", "feature-store", "llm-server", "model-router"]
    colors = assign_service_colors(services, 8)
    assert len(set(colors.values())) == 4 and all(0 <= c < 8 for c in colors.values())
    assert assign_service_colors(reversed(services), 8) == colors
    wf = _wf(OOM)
    assert {wf.spans[k].service: wf.color[k] for k in range(len(wf))} == colors
    assert len(set(assign_service_colors([f"svc-{i}" for i in range(20)], 8).values())) == 8
    with pytest.raises(ValueError):
        assign_service_colors(services, 0)


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0ns"),
        (850, "850ns"),
        (12_345, "12.3µs"),
        (999_999, "1ms"),
        (46_200_000, "46.2ms"),
        (1_700_000_000, "1.7s"),
        (30_279_697_493, "30.3s"),
        (125_000_000_000, "2m05s"),
    ],
)
def test_duration_format(ns: int, text: str) -> None:
    assert format_duration_ns(ns) == text


# ------------------------------------------------------------------ hostile values --
HOSTILE_NAME = "GET \x1b]52;c;ZWNobyBwd25lZA==\x07 [@click=app.quit]x[/] \u202eevil"


def _hostile_span() -> Span:
    span = mk(1, None, 0, 10, HOSTILE_NAME, "svc\x1b[2J", "error", **{"http.route": "/x\x1b]8;;https://evil\x07"})
    span.status_message = "boom\r\x9b31m"
    span.events = (
        SpanEvent(
            "exception",
            5,
            [("exception.type", "Oops\x1b[31m"), ("exception.stacktrace", "Traceback:\n  line 1\x1b[2J\r\n")],
        ),
    )
    return span


def test_hostile_values_stay_raw_in_the_model() -> None:
    span = _hostile_span()
    assert span.name == HOSTILE_NAME and span.attr("http.route") == "/x\x1b]8;;https://evil\x07"
    assert span.events[0].exception_type == "Oops\x1b[31m"


def test_display_helpers_sanitise_hostile_values() -> None:
    span = _hostile_span()
    label = span_label(span)
    assert "\x1b" not in label and "\x07" not in label and "\u202e" not in label
    assert "\\x1b]52;c;ZWNobyBwd25lZA==\\x07" in label and "<U+202E>" in label
    assert "[@click=app.quit]x[/]" in label  # shown literally; widgets get it as Text
    details = dict(span_details(span))
    blob = "".join(f"{k}{v}" for k, v in span_details(span))
    assert not any(ch in blob for ch in "\x1b\x07\x9b\r")
    assert details["attr http.route"] == "/x\\x1b]8;;https://evil\\x07"
    assert details["status"] == "error: boom\\r\\x9b31m"
    assert details["  exception.stacktrace"] == "Traceback:\n  line 1\\x1b[2J\\r\n"  # newlines kept
    wf = Waterfall(Trace("0" * 31 + "1", [span]))
    (row,) = wf.window(0, 1, 40)
    assert row.label == label and row.span.name == HOSTILE_NAME and row.error
    assert row.service == "svc\\x1b[2J" and row.name.startswith("GET \\x1b]52;")
    assert wf.error_nodes() == [0]


def test_long_values_are_capped_in_details() -> None:
    span = mk(1, None, 0, 10, "x", big="A" * 5000)
    value = dict(span_details(span))["attr big"]
    assert value.startswith("A" * 1024) and value.endswith("…[+3976 bytes]")


def test_details_list_the_recorded_exception_and_link() -> None:
    wf = _wf(OOM)
    prefill = next(k for k in range(len(wf)) if wf.spans[k].name == "prefill" and wf.spans[k].is_error)
    details = span_details(wf.spans[prefill])
    assert ("  exception.type", "torch.OutOfMemoryError") in details
    assert any(k.startswith("event +") and v == "exception" for k, v in details)
    retry = next(k for k in range(len(wf)) if wf.spans[k].links)
    assert any(k == "link" and v.endswith("(retry_of)") for k, v in span_details(wf.spans[retry]))


def test_empty_trace_gives_an_empty_waterfall() -> None:
    wf = Waterfall(Trace("0" * 31 + "1", []))
    assert len(wf) == 0 and wf.row_count == 0 and wf.critical_path == [] and wf.window(0, 10, 80) == []
    assert wf.layout(80) == [] and wf.find("x") == []


def test_node_view_matches_the_arrays() -> None:
    wf = _tree()
    node = wf.node(1)
    assert (node.depth, node.parent, node.children, node.end, node.descendants) == (1, 0, (2, 4), 5, 3)
    assert wf.node(0).parent == NO_PARENT and wf.node(3).has_children is False
    assert isinstance(wf.critical_path[0], CriticalSection)
