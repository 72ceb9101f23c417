"""Settings: loading, environment overrides, error messages and secret references."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.backends.null
import keyring.core
import keyring.errors
import pytest

from oncall_tui.text import redact as redact_mod
from oncall_tui.settings import (
    ENDPOINT_KINDS,
    ConfigError,
    SecretRef,
    SecretUnavailable,
    default_config_path,
    load_settings,
    read_secret_file,
)

CANARY = "CANARY-7f3a9"
REPO = Path(__file__).resolve().parent.parent

BASE = """\
current_context: staging
contexts:
  staging:
    endpoints:
      prometheus:
        url: https://prom.staging.example.com
        auth:
          bearer: {env: STAGING_TOKEN}
  prod-eu:
    color: red
    read_only: true
    endpoints:
      prometheus:
        url: https://prom.prod.example.com
        timeout: 20
    services:
      - name: llm-chat
        preset: vllm
"""


# ------------------------------------------------------------------------ fixtures --
@pytest.fixture(autouse=True)
def _forget_secrets():
    yield
    redact_mod.forget_secrets()


@pytest.fixture
def write_config(tmp_path):
    """Write a config file (mode 0600 unless told) and return its path."""

    def write(text: str, name: str = "config.yaml", mode: int = 0o600) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        path.chmod(mode)
        return path

    return write


@pytest.fixture
def secret_file(tmp_path):
    """Write a secret file with a given mode and return its path."""

    def write(value: str, mode: int = 0o600, name: str = "token") -> Path:
        path = tmp_path / name
        path.write_text(value)
        path.chmod(mode)
        return path

    return write


@pytest.fixture
def use_keyring(monkeypatch):
    """Install a keyring backend for one test; the previous one comes back afterwards."""

    def install(backend: keyring.backend.KeyringBackend) -> None:
        monkeypatch.setattr(keyring.core, "_keyring_backend", keyring.core._keyring_backend)
        keyring.set_keyring(backend)

    return install


def _error(text: str, write_config, env: dict[str, str] | None = None) -> str:
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env=env or {})
    return str(info.value)


def _endpoint_config(endpoint_yaml: str) -> str:
    body = textwrap.indent(textwrap.dedent(endpoint_yaml), " " * 8)
    return f"contexts:\n  prod:\n    endpoints:\n      prometheus:\n{body}"


# ------------------------------------------------------------------ shipped configs --
def test_example_config_loads_without_secrets_present():
    settings = load_settings(REPO / "config" / "example.yaml", env={})
    assert list(settings.contexts) == ["staging", "prod-eu"]
    assert settings.warnings == []
    prod = settings.context("prod-eu")
    assert prod.read_only and prod.protected and prod.color == "red"
    kinds = {e.auth.kind for c in settings.contexts.values() for _, e in c.configured_endpoints()}
    assert kinds == {"none", "basic", "bearer", "bearer_file"}
    assert prod.endpoints.prometheus.tls.cert_file is not None
    assert prod.endpoint("loki").tenant == "team-ml|team-platform"
    presets = {s.preset for c in settings.contexts.values() for s in c.services}
    assert "vllm" in presets and None in presets  # one preset, one with explicit queries


def test_local_stack_config_loads():
    settings = load_settings(REPO / "config" / "local-stack.yaml", env={})
    context = settings.context()
    assert context.name == "local-stack"
    assert [k for k, _ in context.configured_endpoints()] == ["prometheus", "alertmanager"]
    assert context.endpoints.prometheus.url == "http://127.0.0.1:19090"
    assert context.endpoints.alertmanager.url == "http://127.0.0.1:19093"
    assert {s.name: s.preset for s in context.services} == {
        "fraud-scorer": "model-server",
        "llm-chat": "vllm",
        "search-embedder": "generic-http",
    }
    assert context.service("llm-chat").selector == {"service": "llm-chat"}


# ---------------------------------------------------------------------- file lookup --
def test_no_default_file_gives_empty_settings(tmp_path):
    settings = load_settings(env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert settings.contexts == {} and settings.source_path is None
    with pytest.raises(ConfigError, match="no contexts configured"):
        settings.context()


def test_xdg_path_and_precedence(tmp_path, write_config):
    xdg = tmp_path / "xdg"
    default = xdg / "oncall-tui" / "config.yaml"
    default.parent.mkdir(parents=True)
    default.write_text("theme: from-xdg\n")
    default.chmod(0o600)
    named = write_config("theme: from-env-var\n", name="named.yaml")
    explicit = write_config("theme: from-flag\n", name="explicit.yaml")
    assert default_config_path({"XDG_CONFIG_HOME": str(xdg)}) == default
    assert default_config_path({"HOME": "/home/a"}) == Path("/home/a/.config/oncall-tui/config.yaml")
    env = {"XDG_CONFIG_HOME": str(xdg)}
    assert load_settings(env=env).theme == "from-xdg"
    assert load_settings(env=env).source_path == default
    env["ONCALL_TUI_CONFIG"] = str(named)
    assert load_settings(env=env).theme == "from-env-var"
    assert load_settings(explicit, env=env).theme == "from-flag"


def test_explicit_missing_file_is_an_error(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="nope.yaml: config file not found"):
        load_settings(missing, env={})
    with pytest.raises(ConfigError, match="nope.yaml"):
        load_settings(env={"ONCALL_TUI_CONFIG": str(missing)})


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_config_writable_by_others_is_refused(write_config, mode):
    path = write_config("theme: x\n", mode=mode)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert f"chmod go-w {path}" in str(info.value)


def test_config_readable_by_others_is_fine(write_config):
    assert load_settings(write_config("theme: x\n", mode=0o644), env={}).theme == "x"


# ---------------------------------------------------------------------- error texts --
def test_yaml_syntax_error_names_the_line(write_config):
    text = "theme: x\ncontexts:\n  prod: [\n    endpoints: {\n"
    message = _error(text, write_config)
    assert "config.yaml:" in message and "YAML syntax error" in message
    assert message.split("config.yaml:")[1].split(":")[0] in {"4", "5"}


def test_wrong_type_names_file_line_key_and_expectation(write_config):
    text = _endpoint_config("url: https://p.example.com\ntimeout: soon\n")
    message = _error(text, write_config)
    assert "config.yaml:6:18: contexts.prod.endpoints.prometheus.timeout: expected a number" in message


def test_bound_error(write_config):
    message = _error(_endpoint_config("url: https://p\nconnect_timeout: 0\n"), write_config)
    assert "prometheus.connect_timeout: expected a number greater than 0" in message


def test_unknown_key_suggests_the_closest(write_config):
    message = _error(_endpoint_config("url: https://p\ntimout: 3\n"), write_config)
    assert "config.yaml:6:9: contexts.prod.endpoints.prometheus.timout" in message
    assert "unknown key 'timout' (did you mean 'timeout'?)" in message
    message = _error("contexts:\n  a:\n    endpoints:\n      prometheous: {url: https://p}\n", write_config)
    assert "did you mean 'prometheus'?" in message


def test_missing_key_points_at_the_parent(write_config):
    message = _error("contexts:\n  a:\n    endpoints:\n      loki:\n        timeout: 3\n", write_config)
    assert "config.yaml:5:9: contexts.a.endpoints.loki.url: required key is missing" in message


def test_every_problem_is_listed_one_per_line(write_config, tmp_path):
    text = "refresh_seconds: -1\ntheme: [x]\ncontexts: {a: {colour: red}}\n"
    lines = _error(text, write_config).splitlines()
    assert lines[0].startswith(f"{tmp_path}/config.yaml:1:18: refresh_seconds: expected a number")
    assert "theme: expected a string" in lines[1]
    assert "unknown key 'colour' (did you mean 'color'?)" in lines[2]


def test_duplicate_key_is_an_error(write_config):
    message = _error("theme: a\ntheme: b\n", write_config)
    assert "config.yaml:2:1: theme: duplicate key (first written on line 1)" in message


def test_top_level_must_be_a_mapping(write_config):
    assert "expected a mapping" in _error("- a\n- b\n", write_config)


@pytest.mark.parametrize(
    "endpoint",
    [
        f"url: https://p\ntimeout: {CANARY}\n",
        f"url: https://p\nauth: {CANARY}\n",
        f"url: https://p\nheaders: {CANARY}\n",
        f"url: {CANARY}\n",
        f"url: https://u:{CANARY}@p\nauth: {{bearer: {{env: T}}}}\n",
        f"url: https://p\nauth: {{bearer: [{CANARY}]}}\n",
        f"url: https://p\nauth: {{bearer: {CANARY}, basic: {{username: u, password: {CANARY}}}}}\n",
        f"url: https://p\nauth: {{bearer: {{env: {CANARY}}}}}\n",
        f"url: https://p\nauth: {{bearer: {{{CANARY}: x}}}}\n",
        f"url: https://p\nauth: {{basic: {{username: [{CANARY}], password: x1234}}}}\n",
        f"url: https://p\nheaders: {{Authorization: {CANARY}}}\nauth: {{bearer: {{env: T}}}}\n",
        f"url: https://p\nheaders: {{X-Scope-OrgID: '{CANARY}|x'}}\n",
        f"url: https://p\nproxy: {CANARY}\n",
        f"url: https://p\ntls: {{key_password: {CANARY}}}\n",
    ],
)
def test_canary_secret_never_appears_in_errors(write_config, endpoint):
    path = write_config(_endpoint_config(endpoint))
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert CANARY not in str(info.value)
    assert CANARY not in repr(info.value)
    assert info.value.__cause__ is None or CANARY not in str(info.value.__cause__)


def test_canary_in_broken_yaml_is_not_quoted(write_config):
    message = _error(f'contexts:\n  a:\n    x: "{CANARY}\n', write_config)
    assert "YAML syntax error" in message and CANARY not in message


# --------------------------------------------------------------------- auth shapes --
@pytest.mark.parametrize(
    ("auth", "first", "second"),
    [
        ("{basic: {username: u, password: {env: P}}, bearer: {env: T}}", "basic", "bearer"),
        ("{basic: {username: u, password: {env: P}}, bearer_file: /t}", "basic", "bearer_file"),
        ("{bearer: {env: T}, bearer_file: /t}", "bearer", "bearer_file"),
    ],
)
def test_two_auth_kinds_are_rejected_naming_both(write_config, auth, first, second):
    message = _error(_endpoint_config(f"url: https://p\nauth: {auth}\n"), write_config)
    assert "ambiguous auth" in message
    assert f"'{first}'" in message and f"'{second}'" in message
    assert "contexts.prod.endpoints.prometheus.auth" in message


def test_unknown_auth_key_is_rejected(write_config):
    message = _error(_endpoint_config("url: https://p\nauth: {beare: {env: T}}\n"), write_config)
    assert "unknown key 'beare' (did you mean 'bearer'?)" in message


def test_userinfo_with_auth_is_rejected(write_config):
    text = _endpoint_config("url: https://u:pw12345@p.example.com\nauth: {bearer: {env: T}}\n")
    message = _error(text, write_config)
    assert "contexts.prod.endpoints.prometheus.url: ambiguous auth: user-info in the URL" in message
    assert "pw12345" not in message


@pytest.mark.parametrize("header", ["Authorization", "authorization", "Cookie"])
def test_credential_header_with_auth_is_rejected(write_config, header):
    text = _endpoint_config(
        f"url: https://p\nheaders: {{{header}: Bearer abcdef}}\nauth: {{bearer: {{env: T}}}}\n"
    )
    message = _error(text, write_config)
    assert f"prometheus.headers.{header}: ambiguous auth" in message
    assert "abcdef" not in message


def test_userinfo_becomes_basic_auth_with_a_warning(write_config):
    path = write_config(_endpoint_config(f"url: https://alice:{CANARY}@p.example.com/prom\n"))
    settings = load_settings(path, env={})
    endpoint = settings.context().endpoint("prometheus")
    assert endpoint.url == "https://p.example.com/prom"
    resolved = endpoint.resolve_auth()
    assert resolved.kind == "basic" and resolved.username == "alice"
    assert resolved.password.get_secret_value() == CANARY
    assert redact_mod.redact(f"x {CANARY} y") == "x *** y"
    [warning] = settings.warnings
    assert "config.yaml:5:14: contexts.prod.endpoints.prometheus.url: user-info" in warning
    assert CANARY not in warning
    assert CANARY not in repr(settings)


def test_inline_secret_warns_without_the_value(write_config):
    path = write_config(_endpoint_config(f"url: https://p\nauth: {{bearer: {CANARY}}}\n"))
    settings = load_settings(path, env={})
    [warning] = settings.warnings
    assert "config.yaml:6:24: contexts.prod.endpoints.prometheus.auth.bearer: inline secret" in warning
    assert CANARY not in warning
    endpoint = settings.context().endpoint("prometheus")
    assert endpoint.describe_auth() == "bearer token from inline (in config file)"
    assert endpoint.resolve_auth().token.get_secret_value() == CANARY


def test_secret_ref_needs_exactly_one_source(write_config):
    text = _endpoint_config("url: https://p\nauth: {bearer: {env: T, file: /x}}\n")
    message = _error(text, write_config)
    assert "'env' and 'file'" in message and "auth.bearer" in message
    message = _error(_endpoint_config("url: https://p\nauth: {bearer: {keyring: nouser}}\n"), write_config)
    assert "auth.bearer.keyring: expected SERVICE/USER" in message


def test_tls_cert_needs_key(write_config):
    message = _error(_endpoint_config("url: https://p\ntls: {cert_file: /c.pem}\n"), write_config)
    assert "prometheus.tls.key_file: key_file is required when cert_file is set" in message


def test_tenant_header_is_validated(write_config):
    bad = _error(_endpoint_config("url: https://p\nheaders: {X-Scope-OrgID: 'a b'}\n"), write_config)
    assert "prometheus.headers.X-Scope-OrgID: expected tenant id" in bad
    multi = _error(_endpoint_config("url: https://p\nheaders: {X-Scope-OrgID: 'a|b'}\n"), write_config)
    assert "multi_tenant: true" in multi
    path = write_config(
        _endpoint_config("url: https://p\nheaders: {X-Scope-OrgID: 'a|b'}\nmulti_tenant: true\n")
    )
    assert load_settings(path, env={}).context().endpoint("prometheus").tenant == "a|b"


def test_url_must_be_http(write_config):
    message = _error(_endpoint_config("url: file:///etc/passwd\n"), write_config)
    assert "prometheus.url: expected an http:// or https:// URL" in message


def test_service_needs_preset_or_queries(write_config):
    message = _error("contexts:\n  a:\n    services:\n      - name: x\n", write_config)
    assert "contexts.a.services[0]: a service needs a preset" in message
    assert "queries" in message
    path = write_config("contexts:\n  a:\n    services:\n      - {name: x, queries: {traffic: up}}\n")
    service = load_settings(path, env={}).context().services[0]
    assert service.selector == {"service": "x"} and service.queries.traffic == "up"


def test_context_lookup(write_config):
    settings = load_settings(write_config(BASE), env={})
    assert settings.context().name == "staging"
    assert settings.context("prod-eu").name == "prod-eu"
    with pytest.raises(ConfigError, match="unknown context 'nope'; known contexts: staging, prod-eu"):
        settings.context("nope")


def test_unknown_current_context_is_an_error(write_config):
    message = _error("current_context: nope\ncontexts: {a: {}}\n", write_config)
    assert "config.yaml:1:18: current_context: unknown context 'nope'; known contexts: a" in message


def test_configured_endpoints_follow_kind_order(write_config):
    text = "contexts:\n  a:\n    endpoints:\n      tempo: {url: http://t}\n      prometheus: {url: http://p}\n"
    context = load_settings(write_config(text), env={}).context()
    assert [k for k, _ in context.configured_endpoints()] == ["prometheus", "tempo"]
    assert [k for k, _ in context.endpoints] == ["prometheus", "tempo"]
    assert ENDPOINT_KINDS == ("prometheus", "alertmanager", "loki", "tempo", "grafana")


# ------------------------------------------------------------------ env overrides --
def test_env_url_and_token_beat_the_file(write_config):
    env = {
        "ONCALL_TUI_PROMETHEUS_URL": "https://override.example.com",
        "ONCALL_TUI_PROMETHEUS_TOKEN": CANARY,
    }
    settings = load_settings(write_config(BASE), env=env)
    endpoint = settings.context().endpoint("prometheus")
    assert endpoint.url == "https://override.example.com"
    assert endpoint.describe_auth() == "bearer token from env ONCALL_TUI_PROMETHEUS_TOKEN (override)"
    assert endpoint.resolve_auth().token.get_secret_value() == CANARY
    assert settings.warnings == []


def test_env_basic_auth_and_tenant(write_config):
    env = {
        "ONCALL_TUI_PROMETHEUS_USERNAME": "bob",
        "ONCALL_TUI_PROMETHEUS_PASSWORD": "hunter22",
        "ONCALL_TUI_PROMETHEUS_TENANT": "team-a",
    }
    endpoint = load_settings(write_config(BASE), env=env).context().endpoint("prometheus")
    assert endpoint.describe_auth() == "basic bob, password from env ONCALL_TUI_PROMETHEUS_PASSWORD (override)"
    assert endpoint.resolve_auth().password.get_secret_value() == "hunter22"
    assert endpoint.headers == {"X-Scope-OrgID": "team-a"}


def test_env_auth_conflicts_are_errors(write_config):
    path = write_config(BASE)
    env = {"ONCALL_TUI_PROMETHEUS_TOKEN": "abcd1234", "ONCALL_TUI_PROMETHEUS_PASSWORD": "x1234"}
    with pytest.raises(ConfigError, match="ONCALL_TUI_PROMETHEUS_TOKEN and ONCALL_TUI_PROMETHEUS_PASSWORD"):
        load_settings(path, env=env)
    with pytest.raises(ConfigError, match="needs ONCALL_TUI_PROMETHEUS_PASSWORD"):
        load_settings(path, env={"ONCALL_TUI_PROMETHEUS_USERNAME": "bob"})


def test_env_bad_tenant_names_the_variable(write_config):
    with pytest.raises(ConfigError) as info:
        load_settings(write_config(BASE), env={"ONCALL_TUI_PROMETHEUS_TENANT": "a b"})
    assert str(info.value).startswith(
        "environment ONCALL_TUI_PROMETHEUS_TENANT: contexts.staging.endpoints.prometheus.headers.X-Scope-OrgID"
    )


def test_env_generic_nested_path(write_config):
    env = {
        "ONCALL_TUI_CONTEXTS__PROD_EU__ENDPOINTS__PROMETHEUS__TIMEOUT": "60",
        "ONCALL_TUI_CONTEXTS__PROD_EU__READ_ONLY": "false",
        "ONCALL_TUI_CONTEXTS__PROD_EU__SERVICES__LLM_CHAT__PRESET": "tgi",
        "ONCALL_TUI_KEYMAP__REFRESH": "ctrl+r,f5",
        "ONCALL_TUI_THEME": "light",
    }
    settings = load_settings(write_config(BASE), env=env)
    prod = settings.context("prod-eu")
    assert prod.endpoints.prometheus.timeout == 60.0
    assert prod.read_only is False
    assert prod.services[0].preset == "tgi"
    assert settings.keymap == {"refresh": "ctrl+r,f5"}
    assert settings.theme == "light"


def test_env_generic_error_names_the_variable(write_config):
    env = {"ONCALL_TUI_CONTEXTS__PROD_EU__ENDPOINTS__PROMETHEUS__TIMEOUT": "soon"}
    with pytest.raises(ConfigError) as info:
        load_settings(write_config(BASE), env=env)
    assert str(info.value) == (
        "environment ONCALL_TUI_CONTEXTS__PROD_EU__ENDPOINTS__PROMETHEUS__TIMEOUT: "
        "contexts.prod-eu.endpoints.prometheus.timeout: expected a number"
    )


def test_env_unmatched_variables_are_ignored_or_warned(write_config):
    env = {
        "ONCALL_TUI_CONFIG_DEBUG": "1",
        "ONCALL_TUI_CONTEXTS__NOPE__COLOR": "red",
        "OTHER_VAR": "x",
    }
    settings = load_settings(write_config(BASE), env=env)
    assert settings.warnings == [
        "environment ONCALL_TUI_CONTEXTS__NOPE__COLOR: no key 'NOPE' under contexts; ignored"
    ]


def test_env_context_read_only_and_refresh(write_config):
    env = {
        "ONCALL_TUI_CONTEXT": "prod-eu",
        "ONCALL_TUI_READ_ONLY": "yes",
        "ONCALL_TUI_REFRESH_SECONDS": "2.5",
    }
    settings = load_settings(write_config(BASE), env=env)
    assert settings.context().name == "prod-eu"
    assert all(c.read_only for c in settings.contexts.values())
    assert settings.refresh_seconds == 2.5


def test_env_overrides_apply_to_the_selected_context(write_config):
    env = {"ONCALL_TUI_CONTEXT": "prod-eu", "ONCALL_TUI_PROMETHEUS_URL": "https://x.example.com"}
    settings = load_settings(write_config(BASE), env=env)
    assert settings.context("prod-eu").endpoints.prometheus.url == "https://x.example.com"
    assert settings.context("staging").endpoints.prometheus.url == "https://prom.staging.example.com"


def test_env_errors_name_the_variable(write_config):
    path = write_config(BASE)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={"ONCALL_TUI_CONTEXT": "nope"})
    assert str(info.value).startswith("environment ONCALL_TUI_CONTEXT: current_context: unknown context")
    with pytest.raises(ConfigError, match="environment ONCALL_TUI_REFRESH_SECONDS: refresh_seconds"):
        load_settings(path, env={"ONCALL_TUI_REFRESH_SECONDS": "fast"})
    with pytest.raises(ConfigError, match="environment ONCALL_TUI_READ_ONLY"):
        load_settings(path, env={"ONCALL_TUI_READ_ONLY": "maybe"})


def test_env_only_without_a_file(tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path), "ONCALL_TUI_PROMETHEUS_URL": "http://127.0.0.1:19090"}
    settings = load_settings(env=env)
    context = settings.context()
    assert context.name == "default" and settings.source_path is None
    assert context.endpoints.prometheus.url == "http://127.0.0.1:19090"
    with pytest.raises(ConfigError, match="environment ONCALL_TUI_ALERTMANAGER_URL: .*alertmanager.url"):
        load_settings(env={**env, "ONCALL_TUI_ALERTMANAGER_URL": "not a url"})
    named = load_settings(env={**env, "ONCALL_TUI_CONTEXT": "lab", "ONCALL_TUI_READ_ONLY": "1"})
    assert named.context().name == "lab" and named.context().read_only


def test_env_inline_secret_via_generic_path_is_not_flagged(write_config):
    env = {"ONCALL_TUI_CONTEXTS__PROD_EU__ENDPOINTS__PROMETHEUS__AUTH__BEARER": CANARY}
    settings = load_settings(write_config(BASE), env=env)
    endpoint = settings.context("prod-eu").endpoint("prometheus")
    var = "ONCALL_TUI_CONTEXTS__PROD_EU__ENDPOINTS__PROMETHEUS__AUTH__BEARER"
    assert endpoint.describe_auth() == f"bearer token from inline (from environment {var})"
    assert settings.warnings == []
    assert redact_mod.redact(CANARY) == "***"


def test_env_token_without_endpoint_warns(write_config):
    settings = load_settings(write_config(BASE), env={"ONCALL_TUI_LOKI_TOKEN": "abcd1234"})
    assert settings.context().endpoint("loki") is None
    [warning] = settings.warnings
    assert "ONCALL_TUI_LOKI_TOKEN" in warning and "ONCALL_TUI_LOKI_URL" in warning
    assert "abcd1234" not in warning


# ----------------------------------------------------------------- secret sources --
def test_env_secret_is_registered_for_redaction():
    value = SecretRef(env="PROM_TOKEN").resolve(env={"PROM_TOKEN": CANARY})
    assert value.get_secret_value() == CANARY
    assert redact_mod.redact(f"x {CANARY} y") == "x *** y"


def test_missing_env_secret_names_the_variable():
    with pytest.raises(SecretUnavailable, match="environment variable PROM_TOKEN is not set"):
        SecretRef(env="PROM_TOKEN").resolve(env={})


def test_short_secret_is_refused():
    with pytest.raises(SecretUnavailable, match="too short to be a real secret"):
        SecretRef(env="T").resolve(env={"T": "abc"})


def test_secret_file_0600_is_read(secret_file):
    path = secret_file(f"{CANARY}\n")
    ref = SecretRef(file=str(path))
    assert ref.describe() == f"file {path}"
    assert ref.resolve().get_secret_value() == CANARY
    assert redact_mod.redact(CANARY) == "***"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_secret_file_open_to_others_is_refused(secret_file, mode):
    path = secret_file(CANARY, mode=mode)
    with pytest.raises(SecretUnavailable) as info:
        SecretRef(file=str(path)).resolve()
    assert f"chmod 600 {path}" in str(info.value)
    assert CANARY not in str(info.value)


def test_secret_file_missing_or_not_regular(tmp_path):
    with pytest.raises(SecretUnavailable, match="does not exist"):
        read_secret_file(tmp_path / "absent")
    with pytest.raises(SecretUnavailable, match="not a regular file"):
        read_secret_file(tmp_path)


def test_secret_file_tilde_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "tok").write_text("abcd1234")
    (tmp_path / "tok").chmod(0o600)
    ref = SecretRef(file="~/tok")
    assert ref.describe() == "file ~/tok"
    assert ref.resolve().get_secret_value() == "abcd1234"


def test_bearer_file_auth_checks_permissions(write_config, secret_file):
    token = secret_file(CANARY, mode=0o644)
    path = write_config(_endpoint_config(f"url: https://p\nauth: {{bearer_file: {token}}}\n"))
    endpoint = load_settings(path, env={}).context().endpoint("prometheus")
    assert endpoint.describe_auth().startswith(f"bearer token from file {token}")
    with pytest.raises(SecretUnavailable, match=f"chmod 600 {token}"):
        endpoint.resolve_auth()
    token.chmod(0o600)
    resolved = endpoint.resolve_auth()
    assert resolved.kind == "bearer_file" and resolved.token_file == token
    assert redact_mod.redact(CANARY) == "***"


def test_describe_never_shows_values():
    assert SecretRef(env="X").describe() == "env X"
    assert SecretRef(keyring="oncall-tui/prod-prom").describe() == "keyring oncall-tui/prod-prom"
    assert SecretRef.model_validate(CANARY).describe() == "inline (in config file)"
    assert CANARY not in repr(SecretRef.model_validate(CANARY))


# ------------------------------------------------------------------------- keyring --
class _SlowKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service, username):
        time.sleep(60)
        return "never"

    def set_password(self, service, username, password):
        raise NotImplementedError

    def delete_password(self, service, username):
        raise NotImplementedError


class _LockedKeyring(_SlowKeyring):
    def get_password(self, service, username):
        raise keyring.errors.KeyringLocked("locked")


class _MemoryKeyring(_SlowKeyring):
    def get_password(self, service, username):
        return {("oncall-tui", "prom"): CANARY}.get((service, username))


class PlaintextKeyring(_MemoryKeyring):
    """Named like keyrings.alt's plaintext store."""


def _keyring_endpoint(write_config):
    text = _endpoint_config("url: https://p\nauth: {bearer: {keyring: oncall-tui/prom}}\n")
    return load_settings(write_config(text), env={}).context().endpoint("prometheus")


def _assert_helpful(message: str) -> None:
    assert "no usable keyring on this host" in message
    assert "ONCALL_TUI_PROMETHEUS_TOKEN" in message
    assert "{file: PATH}" in message and "0600" in message


def test_fail_backend_gives_remediation(write_config, use_keyring, monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    use_keyring(keyring.backends.fail.Keyring())
    endpoint = _keyring_endpoint(write_config)
    assert endpoint.describe_auth() == "bearer token from keyring oncall-tui/prom"
    with pytest.raises(SecretUnavailable) as info:
        endpoint.resolve_auth()
    _assert_helpful(str(info.value))
    assert "no secure credential store" in str(info.value)


def test_bogus_backend_module_gives_remediation(write_config, monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "bogus.Module")
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    with pytest.raises(SecretUnavailable) as info:
        _keyring_endpoint(write_config).resolve_auth()
    _assert_helpful(str(info.value))


def test_hung_keyring_times_out(write_config, use_keyring):
    use_keyring(_SlowKeyring())
    endpoint = _keyring_endpoint(write_config)
    started = time.monotonic()
    with pytest.raises(SecretUnavailable) as info:
        endpoint.resolve_auth(keyring_timeout=0.5)
    assert time.monotonic() - started < 3
    _assert_helpful(str(info.value))
    assert "did not answer within 0.5 s" in str(info.value)
    hung = [t for t in threading.enumerate() if t.name == "oncall-tui-keyring"]
    assert hung and all(t.daemon for t in hung)  # cannot block interpreter exit


def test_locked_keyring_gives_remediation(write_config, use_keyring):
    use_keyring(_LockedKeyring())
    with pytest.raises(SecretUnavailable) as info:
        _keyring_endpoint(write_config).resolve_auth()
    _assert_helpful(str(info.value))
    assert "KeyringLocked" in str(info.value)


def test_null_and_plaintext_backends_are_not_secure(write_config, use_keyring):
    endpoint = _keyring_endpoint(write_config)
    for backend in (keyring.backends.null.Keyring(), PlaintextKeyring()):
        use_keyring(backend)
        with pytest.raises(SecretUnavailable, match="no secure credential store") as info:
            endpoint.resolve_auth()
        _assert_helpful(str(info.value))


def test_keyring_value_and_not_found(write_config, use_keyring):
    use_keyring(_MemoryKeyring())
    endpoint = _keyring_endpoint(write_config)
    assert endpoint.resolve_auth().token.get_secret_value() == CANARY
    assert redact_mod.redact(CANARY) == "***"
    with pytest.raises(SecretUnavailable, match="not found in keyring"):
        SecretRef(keyring="oncall-tui/other").resolve()


def test_basic_keyring_hint_names_password_variable(write_config, use_keyring):
    use_keyring(keyring.backends.fail.Keyring())
    text = _endpoint_config(
        "url: https://p\nauth: {basic: {username: u, password: {keyring: svc/u}}}\n"
    ).replace("prometheus", "loki")
    endpoint = load_settings(write_config(text), env={}).context().endpoint("loki")
    with pytest.raises(SecretUnavailable, match="ONCALL_TUI_LOKI_PASSWORD"):
        endpoint.resolve_auth()


# -------------------------------------------------------------------------- layering --
def test_settings_never_import_textual_or_clients():
    code = (
        "import sys, oncall_tui.settings; "
        "bad = [m for m in sys.modules if m.startswith(('textual', 'oncall_tui.clients'))]; "
        "assert not bad, bad"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONCALL_TUI_")}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env=env)


# ------------------------------------------------------------------- write-side settings --
def _rollback_config(rollback_yaml: str) -> str:
    body = textwrap.indent(textwrap.dedent(rollback_yaml), " " * 10)
    return f"contexts:\n  a:\n    services:\n      - name: llm\n        preset: vllm\n        rollback:\n{body}"


@pytest.mark.parametrize(
    ("rollback", "where", "expected"),
    [
        ("argv: kubectl rollout undo deploy/x\n", "rollback.argv", "never one string for a shell"),
        ("argv: [kubectl, rollout, undo, 'deploy/{labels.deployment']\n", "rollback", None),
        ("argv: [kubectl, '{lables.ns}']\n", "rollback", "placeholder '{lables.ns}' in argv[1]"),
        ("argv: [sh, -c, 'kubectl rollout undo {labels.x}']\n", "rollback", "needs shell: true"),
        ("shell: true\nargv: [sh, -c, 'kubectl undo {labels.x}']\n", "rollback.argv[2]", "never in the script text"),
        ("argv: [kubectl]\nenv: {LD_PRELOAD: /tmp/x.so}\n", "rollback.env.LD_PRELOAD", "may be set for the child"),
        ("argv: [kubectl]\nplaceholders: {labels.ns: '[a-'}\n", "rollback.placeholders.labels.ns", "regular expression"),
        ("{}\n", "rollback", "exactly one of argv (a command) or http (a request)"),
        ("argv: [kubectl]\nversion_lookback: soon\n", "rollback.version_lookback", "expected a duration"),
    ],
)
def test_rollback_config_errors_name_the_key(write_config, rollback, where, expected):
    message = _error(_rollback_config(rollback), write_config)
    assert f"contexts.a.services[0].{where}" in message
    if expected:
        assert expected in message


def test_rollback_http_and_silence_and_runbook_settings_load(write_config):
    text = _rollback_config(
        """\
        http:
          endpoint: {url: https://argocd.example.com, auth: {bearer: {env: ARGO_TOKEN}}}
          path: /api/v1/applications/{service}/rollback
          body: {id: 0}
          dry_run_body: {id: 0, dryRun: true}
        """
    ) + "silences: {ack_duration: 5m, ticket_pattern: 'INC-\\\\d+'}\nrunbooks: {dir: /srv/runbooks, allowed_hosts: [Wiki.Example.com]}\n"
    settings = load_settings(write_config(text), env={})
    rollback = settings.context().services[0].rollback
    assert rollback is not None and rollback.has_dry_run and rollback.http is not None
    assert rollback.http.endpoint.url == "https://argocd.example.com"
    assert settings.silences.ack_duration == "5m" and settings.runbooks.allowed_hosts == ["wiki.example.com"]


def test_bad_silence_duration_names_the_key(write_config):
    message = _error("silences: {ack_duration: 15 minutes}\n", write_config)
    assert "config.yaml:1:" in message and "silences.ack_duration" in message and "15m" in message
