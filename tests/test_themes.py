"""Themes: the shipped YAML files, validation errors, switching themes in a running app, NO_COLOR."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from textual.app import App, ComposeResult
from textual.color import Color
from textual.css.errors import UnresolvedVariableError
from textual.css.stylesheet import StylesheetParseError
from textual.theme import BUILTIN_THEMES
from textual.widgets import Static

from oncall_tui import themes as themes_module
from oncall_tui.themes import registry as themes_registry
from oncall_tui.themes import (
    DEFAULT_THEME,
    MONO_THEME,
    THEME_VARIABLES,
    ThemeError,
    apply_theme,
    choose_theme,
    contrast_ratio,
    default_theme_variables,
    load_theme_file,
    load_themes,
    mono_theme,
    no_color,
    register_themes,
    themes_dir,
    user_themes_dir,
)

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "oncall_tui"
SHIPPED_DIR = REPO / "themes"
SHIPPED = sorted(SHIPPED_DIR.glob("*.yaml"))
SHIPPED_NAMES = ["oncall-dark", "oncall-light", "oncall-high-contrast", "oncall-colorblind"]


@pytest.fixture(autouse=True)
def _isolated_theme_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real user themes, no NO_COLOR and no themes-folder override from the caller's shell."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("ONCALL_TUI_THEMES_DIR", raising=False)


def _write(directory: Path, filename: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename
    path.write_text(text, encoding="utf-8")
    return path


def _shipped_yaml(name: str) -> str:
    return (SHIPPED_DIR / f"{name}.yaml").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------
# The shipped themes


def test_the_four_shipped_themes_are_there() -> None:
    assert sorted(p.stem for p in SHIPPED) == sorted(SHIPPED_NAMES)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_theme_loads_and_defines_every_variable(path: Path) -> None:
    spec = load_theme_file(path)
    assert spec.name == path.stem  # file name and theme name agree
    defined = spec.theme_variables()
    assert set(THEME_VARIABLES) <= set(defined), set(THEME_VARIABLES) - set(defined)
    for name in THEME_VARIABLES:
        Color.parse(defined[name])
    theme = spec.to_theme()
    theme.to_color_system().generate()  # Textual can build its colour system from it
    assert isinstance(theme.dark, bool)


def test_shipped_theme_names_are_unique_and_do_not_clash_with_textual() -> None:
    names = [load_theme_file(p).name for p in SHIPPED]
    assert len(names) == len(set(names))
    assert not set(names) & set(BUILTIN_THEMES)
    loaded = load_themes(include_user=False)
    assert set(loaded) == set(SHIPPED_NAMES) | {MONO_THEME}
    assert all(theme.name == key for key, theme in loaded.items())


def test_light_is_light_and_the_others_are_dark() -> None:
    loaded = load_themes(include_user=False)
    assert loaded["oncall-light"].dark is False
    assert all(loaded[n].dark for n in SHIPPED_NAMES if n != "oncall-light")


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_app_colours_are_legible_on_the_background(name: str) -> None:
    theme = load_themes(include_user=False)[name]
    minimum = 7.0 if name == "oncall-high-contrast" else 4.5
    background = theme.to_color_system().generate()["background"]
    low = {
        var: round(contrast_ratio(theme.variables[var], background), 2)
        for var in THEME_VARIABLES
        if contrast_ratio(theme.variables[var], background) < minimum
    }
    assert not low, f"{name}: below {minimum}:1 against the background: {low}"


# Machado, Oliveira & Fernandes (2009) dichromacy simulation matrices (severity 1.0), linear RGB.
_CVD = {
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216),
                   (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413),
                     (-0.011820, 0.042940, 0.968881)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602),
                   (0.004733, 0.691367, 0.303900)),
}


def _linear(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _lab_as_seen(colour: str, matrix: tuple[tuple[float, ...], ...]) -> tuple[float, float, float]:
    rgb = [_linear(v) for v in Color.parse(colour).rgb]
    r, g, b = (min(1.0, max(0.0, sum(m * c for m, c in zip(row, rgb)))) for row in matrix)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def _delta_e(a: str, b: str, matrix: tuple[tuple[float, ...], ...]) -> float:
    la, lb = _lab_as_seen(a, matrix), _lab_as_seen(b, matrix)
    return sum((p - q) ** 2 for p, q in zip(la, lb)) ** 0.5


@pytest.mark.parametrize("deficiency", sorted(_CVD))
def test_colorblind_theme_keeps_states_apart_for_dichromats(deficiency: str) -> None:
    variables = load_themes(include_user=False)["oncall-colorblind"].variables
    matrix = _CVD[deficiency]
    good_vs_bad = [
        ("level-ok", "level-crit"),
        ("source-fresh", "source-down"),
        ("severity-info", "severity-critical"),
        ("state-pending", "state-firing"),
    ]
    for a, b in good_vs_bad:
        assert _delta_e(variables[a], variables[b], matrix) >= 30, (a, b)
    ladder = ["severity-critical", "severity-error", "severity-warning", "severity-info"]
    for i, a in enumerate(ladder):
        for b in ladder[i + 1 :]:
            assert _delta_e(variables[a], variables[b], matrix) >= 15, (a, b)


def test_mono_theme_is_greys_only_and_brightest_for_the_most_urgent() -> None:
    mono = load_themes(include_user=False)[MONO_THEME]
    colours = [
        getattr(mono, field)
        for field in ("primary", "secondary", "accent", "foreground", "background", "surface",
                      "panel", "boost", "warning", "error", "success")
        if getattr(mono, field) is not None
    ] + [mono.variables[name] for name in THEME_VARIABLES]
    for value in colours:
        r, g, b = Color.parse(value).rgb
        assert r == g == b, value
    background = mono.background
    assert background is not None
    for name in THEME_VARIABLES:
        assert contrast_ratio(mono.variables[name], background) >= 4.5, name
    assert contrast_ratio(mono.variables["severity-critical"], background) > contrast_ratio(
        mono.variables["severity-none"], background
    )
    # Also from any base, e.g. a light one.
    light = mono_theme(BUILTIN_THEMES["textual-light"])
    assert all(len(set(Color.parse(v).rgb)) == 1 for v in light.variables.values())


# ------------------------------------------------------------------------------------------
# Broken files


def test_bad_colour_names_file_and_key(tmp_path: Path) -> None:
    text = _shipped_yaml("oncall-dark").replace(
        'severity-critical: "#FF5C6A"', 'severity-critical: "#GG0000"'
    )
    path = _write(tmp_path, "broken.yaml", text)
    with pytest.raises(ThemeError) as info:
        load_theme_file(path)
    message = str(info.value)
    assert "broken.yaml" in message
    assert "variables.severity-critical" in message
    assert info.value.file == path
    assert info.value.key == "variables.severity-critical"
    # The position of the key in the file is given too.
    line = text.splitlines().index('  severity-critical: "#GG0000"') + 1
    assert f"broken.yaml:{line}:" in message


def test_bad_base_colour_names_file_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.yaml", 'name: x\ndark: true\nprimary: "not-a-colour"\n')
    with pytest.raises(ThemeError, match=r"x\.yaml:3:1: primary: .*not a colour"):
        load_theme_file(path)


def test_unknown_top_level_key_is_rejected(tmp_path: Path) -> None:
    text = _shipped_yaml("oncall-dark") + "\nbackgroud: \"#000000\"\n"
    path = _write(tmp_path, "typo.yaml", text)
    with pytest.raises(ThemeError) as info:
        load_theme_file(path)
    assert "typo.yaml" in str(info.value)
    assert "backgroud: unknown key" in str(info.value)
    assert info.value.key == "backgroud"


def test_unknown_variable_is_rejected(tmp_path: Path) -> None:
    text = _shipped_yaml("oncall-dark").replace("  severity-none:", "  severity-nonee:")
    path = _write(tmp_path, "var.yaml", text)
    with pytest.raises(ThemeError) as info:
        load_theme_file(path)
    assert "var.yaml" in str(info.value)
    assert "variables.severity-nonee: unknown key" in str(info.value)


def test_textual_variables_may_be_set(tmp_path: Path) -> None:
    text = (
        'name: t\ndark: true\nprimary: "#336699"\nvariables:\n'
        '  footer-key-foreground: "#88C0D0"\n'
        '  input-selection-background: "#81A1C1 35%"\n'
        "  block-cursor-text-style: none\n"
    )
    spec = load_theme_file(_write(tmp_path, "t.yaml", text))
    assert spec.theme_variables()["input-selection-background"] == "#81A1C1 35%"
    bad = text.replace("#81A1C1 35%", "#81A1C1 lots")
    with pytest.raises(ThemeError, match="variables.input-selection-background"):
        load_theme_file(_write(tmp_path, "t.yaml", bad))


def test_unquoted_hex_is_explained(tmp_path: Path) -> None:
    # An unquoted # starts a YAML comment: the value is null.
    path = _write(tmp_path, "q.yaml", "name: q\ndark: true\nprimary: #336699\n")
    with pytest.raises(ThemeError, match=r"q\.yaml.*primary: .*quote hex colours"):
        load_theme_file(path)


def test_invalid_yaml_and_wrong_shapes(tmp_path: Path) -> None:
    with pytest.raises(ThemeError, match=r"bad\.yaml:\d+:\d+: invalid YAML"):
        load_theme_file(_write(tmp_path, "bad.yaml", "name: [unclosed\n"))
    with pytest.raises(ThemeError, match=r"list\.yaml.*mapping"):
        load_theme_file(_write(tmp_path, "list.yaml", "- a\n- b\n"))
    with pytest.raises(ThemeError, match=r"s\.yaml.*dark"):
        load_theme_file(_write(tmp_path, "s.yaml", 'name: s\ndark: "yes"\nprimary: "#336699"\n'))
    with pytest.raises(ThemeError, match=r"n\.yaml.*name: a theme name has no spaces or commas"):
        load_theme_file(_write(tmp_path, "n.yaml", 'name: "a, b"\ndark: true\nprimary: "#336699"\n'))
    with pytest.raises(ThemeError, match=r"m\.yaml.*name: .*required"):
        load_theme_file(_write(tmp_path, "m.yaml", 'dark: true\nprimary: "#336699"\n'))


def test_a_broken_file_in_a_folder_fails_the_load(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    _write(extra, "ok.yaml", 'name: ok\ndark: true\nprimary: "#336699"\n')
    _write(extra, "nope.yml", 'name: nope\ndark: true\nprimary: "#33669"\n')
    with pytest.raises(ThemeError, match=r"nope\.yml"):
        load_themes([extra], include_user=False)


def test_two_files_with_one_name_in_a_folder(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    _write(extra, "a.yaml", 'name: same\ndark: true\nprimary: "#336699"\n')
    _write(extra, "b.yaml", 'name: same\ndark: true\nprimary: "#663399"\n')
    with pytest.raises(ThemeError, match=r"b\.yaml: name: theme 'same' is also defined in .*a\.yaml"):
        load_themes([extra], include_user=False)


# ------------------------------------------------------------------------------------------
# Where themes come from


def test_themes_dir_defaults_to_the_checkout_and_env_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert themes_dir() == SHIPPED_DIR
    monkeypatch.setenv("ONCALL_TUI_THEMES_DIR", str(tmp_path / "mine"))
    assert themes_dir() == tmp_path / "mine"
    with pytest.raises(ThemeError, match="does not exist"):
        load_themes(include_user=False)
    _write(tmp_path / "mine", "only.yaml", 'name: only\ndark: true\nprimary: "#336699"\n')
    assert set(load_themes(include_user=False)) == {"only", MONO_THEME}


def test_user_themes_follow_xdg_and_override_builtins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert user_themes_dir() == tmp_path / "cfg" / "oncall-tui" / "themes"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_themes_dir() == tmp_path / "home" / ".config" / "oncall-tui" / "themes"

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    override = _shipped_yaml("oncall-dark").replace('primary: "#4F9FE6"', 'primary: "#AA00AA"')
    _write(user_themes_dir(), "my-dark.yaml", override)
    _write(user_themes_dir(), "mine.yml", 'name: mine\ndark: false\nprimary: "#336699"\n')
    loaded = load_themes()
    assert loaded["oncall-dark"].primary == "#AA00AA"
    assert "mine" in loaded
    assert load_themes(include_user=False)["oncall-dark"].primary == "#4F9FE6"


def test_missing_extra_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ThemeError, match="does not exist"):
        load_themes([tmp_path / "nowhere"], include_user=False)


def test_missing_builtin_folder_still_gives_mono_and_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # As from a wheel without the YAML: themes/ is not next to the package.
    monkeypatch.setattr(themes_registry, "themes_dir", lambda environ=None: tmp_path / "none")
    loaded = load_themes(include_user=False)
    assert set(loaded) == {MONO_THEME}
    defaults = default_theme_variables()
    assert set(defaults) == set(THEME_VARIABLES)
    assert choose_theme(None, [*loaded, *BUILTIN_THEMES]) == "textual-dark"


# ------------------------------------------------------------------------------------------
# Variables and defaults


def test_default_theme_variables_are_the_dark_theme_values() -> None:
    defaults = default_theme_variables()
    assert tuple(defaults) == THEME_VARIABLES
    dark = load_themes(include_user=False)[DEFAULT_THEME]
    assert defaults == {name: dark.variables[name] for name in THEME_VARIABLES}


@pytest.mark.parametrize("name", sorted(BUILTIN_THEMES))
def test_defaults_derive_from_any_textual_theme(name: str) -> None:
    defaults = default_theme_variables(BUILTIN_THEMES[name])
    assert set(defaults) == set(THEME_VARIABLES)
    for value in defaults.values():
        assert Color.parse(value).a == 1.0  # concrete, opaque colours: no "$error" references


# ------------------------------------------------------------------------------------------
# In a running app

_CSS = "\n".join(
    f"#{name} {{ color: ${name}; background: ${name} 10%; border: tall ${name}; }}"
    for name in THEME_VARIABLES
)


class ThemedApp(App[None]):
    CSS = _CSS

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return default_theme_variables(self.current_theme)

    def compose(self) -> ComposeResult:
        for name in THEME_VARIABLES:
            yield Static(name, id=name)


class NoDefaultsApp(App[None]):
    CSS = _CSS

    def compose(self) -> ComposeResult:
        yield Static("x", id="severity-critical")


async def test_css_without_defaults_fails_to_parse() -> None:
    """Why default_theme_variables exists: Textual's own themes lack our variables."""
    app = NoDefaultsApp()
    with pytest.raises((StylesheetParseError, UnresolvedVariableError)):
        async with app.run_test():
            pass


async def test_every_theme_applies_without_css_errors() -> None:
    app = ThemedApp()
    async with app.run_test(size=(80, 30)) as pilot:
        names = register_themes(app, include_user=False)
        assert set(names) == set(SHIPPED_NAMES) | {MONO_THEME}
        for name in [*names, "nord", "textual-light"]:
            app.theme = name
            await pilot.pause()
            assert app.current_theme.name == name
            theme = app.current_theme
            for var in THEME_VARIABLES:
                expected = theme.variables.get(var) or default_theme_variables(theme)[var]
                assert app.theme_variables[var] == expected
                widget = app.query_one(f"#{var}", Static)
                assert widget.styles.color == Color.parse(expected), (name, var)
        assert app.return_code is None


async def test_apply_theme_uses_the_requested_theme() -> None:
    app = ThemedApp()
    async with app.run_test() as pilot:
        assert apply_theme(app, "oncall-light", include_user=False) == "oncall-light"
        await pilot.pause()
        assert app.theme == "oncall-light"
        assert apply_theme(app, "no-such-theme", include_user=False) == DEFAULT_THEME
        assert app.theme == DEFAULT_THEME


# ------------------------------------------------------------------------------------------
# NO_COLOR


def test_no_color_needs_a_non_empty_value(monkeypatch: pytest.MonkeyPatch) -> None:
    assert no_color() is False
    monkeypatch.setenv("NO_COLOR", "")
    assert no_color() is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert no_color() is True
    assert no_color({"NO_COLOR": "0"}) is True  # any non-empty value counts
    assert no_color({}) is False


def test_choose_theme(monkeypatch: pytest.MonkeyPatch) -> None:
    names = [*SHIPPED_NAMES, MONO_THEME, *BUILTIN_THEMES]
    assert choose_theme(None, names) == DEFAULT_THEME
    assert choose_theme("oncall-light", names) == "oncall-light"
    assert choose_theme("nope", names) == DEFAULT_THEME
    assert choose_theme("oncall-light", names, environ={"NO_COLOR": "1"}) == MONO_THEME
    monkeypatch.setenv("NO_COLOR", "1")
    assert choose_theme("oncall-light", names) == MONO_THEME


async def test_no_color_selects_the_mono_theme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = ThemedApp()  # Textual reads NO_COLOR when the app is created
    assert app.no_color is True
    async with app.run_test() as pilot:
        assert apply_theme(app, "oncall-colorblind", include_user=False) == MONO_THEME
        await pilot.pause()
        assert app.theme == MONO_THEME
        r, g, b = app.query_one("#severity-critical", Static).styles.color.rgb
        assert r == g == b


# ------------------------------------------------------------------------------------------
# Colour literals live only in themes/*.yaml

_LITERAL = re.compile(r"#[0-9a-fA-F]{6}(?:[0-9a-fA-F]{2})?\b|\b(?:rgba?|hsla?)\(")


def test_literal_pattern_catches_what_it_should() -> None:
    for sample in ('color: #FF0000;', "x = '#12ab34cc'", "rgb(1, 2, 3)", "background: hsl(0,0%,0%)"):
        assert _LITERAL.search(sample), sample
    for sample in ("$severity-critical", "see issue #1234", "rgbx", "#abc"):
        assert not _LITERAL.search(sample), sample


def test_no_colour_literals_in_the_package() -> None:
    files = [*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.tcss")]
    assert files
    hits = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if _LITERAL.search(line):
                hits.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not hits, "colour literals belong in themes/*.yaml:\n" + "\n".join(hits)


def test_the_yaml_holds_the_literals() -> None:
    for path in SHIPPED:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert all(Color.parse(v) for v in data["variables"].values())


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_start_up_reading_of_shipped_themes_equals_the_validated_one(path: Path) -> None:
    """Packaged themes are read without pydantic at start-up; the result must be the same."""
    fast = themes_registry._packaged_theme(path)
    assert vars(fast) == vars(themes_module.load_theme_file(path).to_theme())


def test_an_odd_packaged_theme_falls_back_to_the_validating_loader(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ndark: true\nprimary: '#123456'\nprimray: '#000000'\n")
    with pytest.raises(ThemeError, match=r"bad.yaml:4.*primray.*unknown key"):
        themes_registry._load_dir(tmp_path, packaged=True)


def test_an_overridden_themes_dir_is_validated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "x.yaml").write_text("name: x\ndark: true\nprimary: '#123456'\nvariables:\n  severity-critical: notacolour\n")
    monkeypatch.setenv("ONCALL_TUI_THEMES_DIR", str(tmp_path))
    with pytest.raises(ThemeError, match="severity-critical"):
        themes_module.load_themes(include_user=False)
