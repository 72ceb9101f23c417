"""Configuration: YAML contexts, endpoints, services and secret references.

Never imports Textual or the clients; secrets are resolved lazily and never printed.
"""

from oncall_tui.settings.endpoint import (
    ENDPOINT_KINDS,
    Auth,
    BasicAuth,
    Endpoint,
    ResolvedAuth,
    TLSConfig,
    override_env_name,
)
from oncall_tui.settings.actions import (
    AnnotationSettings,
    HttpRequestAction,
    RollbackConfig,
    RunbookSettings,
    SilenceSettings,
    duration_seconds,
)
from oncall_tui.settings.errors import ConfigError, ConfigProblem, SecretUnavailable
from oncall_tui.settings.loader import default_config_path, load_settings
from oncall_tui.settings.model import PRESETS, SLO, Context, GoldenQueries, Service, Settings
from oncall_tui.settings.secrets import SecretRef, read_secret_file

__all__ = [
    "ENDPOINT_KINDS",
    "PRESETS",
    "SLO",
    "AnnotationSettings",
    "HttpRequestAction",
    "RollbackConfig",
    "RunbookSettings",
    "SilenceSettings",
    "duration_seconds",
    "Auth",
    "BasicAuth",
    "ConfigError",
    "ConfigProblem",
    "Context",
    "Endpoint",
    "GoldenQueries",
    "ResolvedAuth",
    "SecretRef",
    "SecretUnavailable",
    "Service",
    "Settings",
    "TLSConfig",
    "default_config_path",
    "load_settings",
    "override_env_name",
    "read_secret_file",
]
