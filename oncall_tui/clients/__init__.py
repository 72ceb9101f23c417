"""Async, typed clients: one per backend, each over one reused ``httpx.AsyncClient``."""

from oncall_tui.clients.alertmanager import AlertmanagerClient
from oncall_tui.clients.errors import (
    AuthFailed,
    BackendError,
    MalformedResponse,
    NotFound,
    QueryRejected,
    RateLimited,
    RedirectRefused,
    ResponseTooLarge,
    SourceUnavailable,
    Timeout,
)
from oncall_tui.clients.http import ApiClient, RetryPolicy
from oncall_tui.clients.prometheus import PrometheusClient, PromResult

__all__ = [
    "AlertmanagerClient",
    "ApiClient",
    "AuthFailed",
    "BackendError",
    "MalformedResponse",
    "NotFound",
    "PromResult",
    "PrometheusClient",
    "QueryRejected",
    "RateLimited",
    "RedirectRefused",
    "ResponseTooLarge",
    "RetryPolicy",
    "SourceUnavailable",
    "Timeout",
]
