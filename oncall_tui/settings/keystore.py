"""Keyring look-ups that cannot hang or crash the app (SECURITY.md R2.2, R2.4).

On a headless host reached over SSH there is usually no secret service: keyring raises
``NoKeyringError`` on every call, and a locked store can block forever. Every call here runs
in a daemon thread (so a hung backend cannot keep the interpreter alive at exit) and gives up
after a timeout. Backends that store nothing (``fail``, ``null``) or store in plain text are
treated as "no secure credential store".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class KeyringUnusable(Exception):
    """No usable, secure keyring on this host; ``reason`` says why (never a secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_INSECURE_MODULES = ("keyring.backends.fail", "keyring.backends.null")


def _is_insecure(backend: Any) -> bool:
    cls = type(backend)
    module = cls.__module__ or ""
    if module in _INSECURE_MODULES:
        return True
    return "plaintext" in f"{module}.{cls.__name__}".lower()


def _check_backend(backend: Any) -> None:
    """Raise :class:`KeyringUnusable` unless ``backend`` is a secure store."""
    cls = type(backend)
    name = f"{cls.__module__}.{cls.__name__}"
    children = getattr(backend, "backends", None)
    if cls.__name__ == "ChainerBackend" and children is not None:
        if not [b for b in children if not _is_insecure(b)]:
            raise KeyringUnusable(f"no secure credential store (keyring backend {name} has none)")
        return
    if _is_insecure(backend):
        raise KeyringUnusable(f"no secure credential store (keyring backend {name})")


def _lookup(service: str, user: str) -> str | None:
    import keyring  # imported lazily: the import itself may probe D-Bus

    _check_backend(keyring.get_keyring())
    return keyring.get_password(service, user)


def _run_with_timeout(fn: Callable[[], Any], timeout: float) -> Any:
    """Run ``fn`` in a daemon thread; raise ``TimeoutError`` if it takes over ``timeout`` s."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def worker() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=worker, name="oncall-tui-keyring", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError
    if "error" in box:
        raise box["error"]
    return box.get("value")


def keyring_get(service: str, user: str, *, timeout: float = 5.0) -> str | None:
    """Return the stored password, or ``None`` when the keyring has no such entry.

    Raises :class:`KeyringUnusable` when there is no usable secure keyring: no backend,
    a fail/null/plaintext backend, a locked store, a backend error, or no answer within
    ``timeout`` seconds.
    """
    try:
        value = _run_with_timeout(lambda: _lookup(service, user), timeout)
    except KeyringUnusable:
        raise
    except TimeoutError:
        raise KeyringUnusable(f"the keyring did not answer within {timeout:g} s") from None
    except Exception as exc:  # NoKeyringError, KeyringLocked, InitError, KeyringError, RuntimeError...
        raise KeyringUnusable(f"keyring error {type(exc).__name__}") from None
    if value is not None and not isinstance(value, str):
        raise KeyringUnusable("the keyring backend returned a value that is not text")
    return value
