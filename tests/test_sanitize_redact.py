"""SECURITY.md R1.1/R1.3/R1.8 (inert text) and R5.5 (redaction), with the hostile inputs."""

from __future__ import annotations

import logging

import pytest

from oncall_tui.text.redact import install_log_redaction, redact, redact_url, register_secret
from oncall_tui.text.sanitize import sanitize_for_display

HOSTILE = [
    "\x1b]52;c;ZWNobyBwd25lZA==\x07",
    "\x1b]52;c;ZWNobyBwd25lZA==\x1b\\",
    "\x1b]52;c;?\x07",
    "\x1b]2;id;\x07\x1b[21t",
    "\x1b]8;;https://evil.example/\x1b\\https://runbooks.corp/\x1b]8;;\x1b\\",
    "\x1b[2J\x1b[HAll alerts resolved",
    "\x1b[1A\x1b[2Kstatus=OK",
    "rm -rf /var/data\rstatus ok          ",
    "DANGER\x08\x08\x08\x08\x08\x08SAFE  ",
    "\x1b[6n", "\x1bP$q m\x1b\\", "\x1b]50;?\x07", "\x1b[>0q",
    "\x1bc", "\x1b[?1049l", "\x1b[?1000l", "\x1b[201~", "\x1b(0lqqk",
    "disk full \x1b]0;",
    "a\x00b\x7fc",
    "csi \x9b2J",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_no_control_character_survives(text: str) -> None:
    out = sanitize_for_display(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in out), repr(out)


def test_osc52_becomes_visible_text() -> None:
    assert sanitize_for_display("\x1b]52;c;ZWNobyBwd25lZA==\x07") == "\\x1b]52;c;ZWNobyBwd25lZA==\\x07"


def test_cr_and_backspace_are_shown() -> None:
    assert "\\r" in sanitize_for_display("rm -rf /var/data\rstatus ok")
    assert sanitize_for_display("DANGER\x08SAFE") == "DANGER\\x08SAFE"


def test_newline_kept_only_in_multiline_views_and_tab_always() -> None:
    assert sanitize_for_display("a\nb\tc") == "a\\nb\tc"
    assert sanitize_for_display("a\nb", multiline=True) == "a\nb"


def test_invalid_utf8_and_lone_surrogates() -> None:
    assert sanitize_for_display(b"\xff\xfe\xc0\xaf") == "\\xff\\xfe\\xc0\\xaf"
    assert sanitize_for_display("x\ud800y") == "x<U+D800>y"


@pytest.mark.parametrize("cp", [0x202E, 0x200B, 0x2066, 0x061C, 0xFEFF, 0x2028])
def test_bidi_and_invisible_characters_get_markers(cp: int) -> None:
    assert sanitize_for_display(f"prod{chr(cp)}-eu") == f"prod<U+{cp:04X}>-eu"


def test_length_cap_shows_what_was_cut() -> None:
    out = sanitize_for_display("A" * 10_485_760, max_chars=16 * 1024)
    assert out.startswith("A" * 100) and out.endswith(f"…[+{10_485_760 - 16384} bytes]")
    assert len(out) < 16 * 1024 + 40


def test_markup_is_left_as_text_for_the_widget_layer() -> None:
    # Sanitising does not try to escape markup: widgets get Text/Content objects instead.
    assert sanitize_for_display("[@click=app.quit]ack[/]") == "[@click=app.quit]ack[/]"


def test_redact_masks_registered_secret_userinfo_query_and_headers() -> None:
    register_secret("CANARY-7f3a9")
    text = (
        "GET http://bob:hunter2pass@prom:9090/api?token=abc123&query=up "
        "Authorization: Bearer xyz789 leaked CANARY-7f3a9"
    )
    out = redact(text)
    for secret in ("hunter2pass", "abc123", "xyz789", "CANARY-7f3a9"):
        assert secret not in out
    assert "query=up" in out and "prom:9090" in out


def test_redact_url_masks_userinfo_and_sensitive_params() -> None:
    out = redact_url("https://u:p4ssw0rd@loki/api?api_key=k3y&limit=10&X-Amz-Signature=s1g")
    assert "p4ssw0rd" not in out and "k3y" not in out and "s1g" not in out and "limit=10" in out


def test_log_records_are_redacted_whatever_the_handler(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    register_secret("CANARY-7f3a9")
    log = logging.getLogger("oncall_tui.test")
    with caplog.at_level(logging.DEBUG):
        log.warning("token is %s", "CANARY-7f3a9")
        try:
            raise RuntimeError("failed with CANARY-7f3a9")
        except RuntimeError:
            log.exception("boom")
    assert "CANARY-7f3a9" not in caplog.text
    assert all("CANARY-7f3a9" not in (r.exc_text or "") for r in caplog.records)
    assert logging.getLogger("httpx").level == logging.WARNING
