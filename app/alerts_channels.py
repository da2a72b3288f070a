"""Alert channels ([N] 1): apprise URLs kept encrypted in <data>/alerts.json, and one blocking send.

A channel URL carries tokens and passwords, so it is treated like an MT5 password: stored only as a
Fernet token made with the vault's key (multi_user/credentials.py), shown masked (``mask_url``), never
logged. apprise's own log lines can name URLs: its logger does not reach the app's log; a failed send's
reason is taken from its warnings with every piece of the URL scrubbed out.

File shape: ``{"version": 1, "next_id": N, "channels": [{"id", "url_encrypted", "masked", "label",
"events" (null: every category), "added"}]}``, written whole (0600, fsync, rename).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from multi_user.alert_rules import CATEGORIES
from multi_user.credentials import MT5CredentialManager, write_private_temp
from multi_user.errors import BadInput

log = logging.getLogger("mt5desk.alerts")

CHANNELS_FILE = "alerts.json"
MAX_URL = 4096
NOTIFY_TYPES = {"info": "info", "success": "success", "warning": "warning", "error": "failure"}


def channels_path(data_dir: Path) -> Path:
    return Path(data_dir) / CHANNELS_FILE


def load_store(data_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads(channels_path(data_dir).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"version": 1, "next_id": 1, "channels": []}
    except (OSError, ValueError) as exc:
        raise BadInput(f"{channels_path(data_dir)} is unreadable ({exc}); fix or remove it") from None
    channels = [c for c in data.get("channels") or [] if isinstance(c, dict) and "url_encrypted" in c]
    return {"version": 1, "next_id": int(data.get("next_id") or 1), "channels": channels}


def save_store(data_dir: Path, store: dict[str, Any]) -> None:
    path = channels_path(data_dir)
    tmp = write_private_temp(path, json.dumps(store, indent=1, sort_keys=True).encode("utf-8"))
    try:
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def parse_events(text: str | list[str] | None) -> list[str] | None:
    """'guard,job' -> ['guard', 'job']; None/'' / 'all' -> None (every category)."""
    if text is None:
        return None
    items = [s.strip().lower() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    if not items or items == ["all"]:
        return None
    unknown = [s for s in items if s not in CATEGORIES]
    if unknown:
        raise BadInput(f"unknown alert event(s) {', '.join(unknown)}: choose from {', '.join(CATEGORIES)} or all",
                       field="events")
    return list(dict.fromkeys(items))


def check_url(url: str) -> str:
    """The URL stripped, or BadInput (never echoing the URL: it may carry a token)."""
    url = (url or "").strip()
    if not url:
        raise BadInput("No channel URL given", field="url")
    if len(url) > MAX_URL or any(c.isspace() for c in url) or "://" not in url:
        raise BadInput("That is not a channel URL (SCHEME://…, e.g. tgram://, ntfys://, mailto://; "
                       "see docs/ALERTS.md)", field="url")
    apprise = _apprise()
    if not apprise.Apprise(asset=_asset(apprise)).add(url):
        scheme = url.split("://", 1)[0][:20]
        raise BadInput(f"apprise does not accept this {scheme}:// URL (a wrong form or a missing part; "
                       "see docs/ALERTS.md)", field="url")
    return url


def add_channel(data_dir: Path, creds: MT5CredentialManager, url: str, events: list[str] | None = None,
                label: str | None = None) -> dict[str, Any]:
    """Check, encrypt and store a channel; returns its public record (no URL)."""
    url = check_url(url)
    store = load_store(data_dir)
    rec = {"id": store["next_id"], "url_encrypted": creds.encrypt(url), "masked": mask_url(url),
           "label": (label or "").strip()[:80] or None, "events": events, "added": time.time()}
    store["channels"].append(rec)
    store["next_id"] += 1
    save_store(data_dir, store)
    return public(rec)


def remove_channel(data_dir: Path, channel_id: int) -> dict[str, Any]:
    store = load_store(data_dir)
    rec = next((c for c in store["channels"] if int(c.get("id", 0)) == channel_id), None)
    if rec is None:
        raise BadInput(f"no alert channel #{channel_id} (alerts list shows them)", field="id")
    store["channels"].remove(rec)
    save_store(data_dir, store)
    return public(rec)


def public(rec: dict[str, Any]) -> dict[str, Any]:
    """What may be shown or printed of a channel: never the URL."""
    return {"id": int(rec["id"]), "masked": str(rec.get("masked") or "?"), "label": rec.get("label"),
            "events": rec.get("events"), "added": rec.get("added")}


def mask_url(url: str) -> str:
    """'tgram://***/…', 'mailto://***@gmail.com', 'ntfys://ntfy.sh/…': the kind and where, no secret."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            port = parts.port
        except ValueError:
            port = None
    except ValueError:
        return url.split("://", 1)[0][:20] + "://***"
    shown = host if _real_host(host) else "***"
    user = "***@" if (parts.username or parts.password) and shown != "***" else ""
    rest = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{user}{shown}{f':{port}' if port and shown != '***' else ''}{rest}"


def _real_host(host: str) -> bool:
    if host == "localhost" or re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", host) or ":" in host:
        return True
    labels = host.split(".")
    return len(labels) >= 2 and all(0 < len(p) <= 24 and not re.search(r"\d{5}", p) for p in labels)


def secrets_of(url: str) -> list[str]:
    """Every piece of a URL that may be secret (user, password, path parts, query values, a token-like host)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    host = parts.hostname or ""
    pieces = re.split(r"[/:@?&=#,]", url.split("://", 1)[-1])
    found = {p for p in pieces if len(p) >= 4 and p != host and not p.isdigit()}
    found |= {unquote(p) for p in found}
    if not _real_host(host) and host:
        found.add(host)
    return sorted(found, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    for piece in secrets_of(url):
        text = text.replace(piece, "***")
    return text


# ---- sending (blocking: a sender thread only) ----------------------------------------------------------
class _Capture(logging.Handler):
    """apprise's warnings during one send (the reason it failed)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


# apprise may log from its own threads, so a send's warnings are told apart by sending one at a time
_SENDING = threading.Lock()


def _apprise() -> Any:
    import apprise

    logger = logging.getLogger("apprise")
    if logger.propagate:  # its debug lines name URLs: they never reach the app's log file
        logger.propagate = False
        logger.setLevel(logging.WARNING)
        logger.addHandler(logging.NullHandler())
    return apprise


def _asset(apprise: Any) -> Any:
    # one service at a time, in the calling thread (apprise >= 2.3 would otherwise wait on a process-wide
    # pool of its own that is never shut down; the sockets' own timeouts bound a send), nothing on disk
    try:
        return apprise.AppriseAsset(async_mode=False, storage_mode="memory", service_timeout=0)
    except Exception:  # an apprise without service_timeout
        return apprise.AppriseAsset(async_mode=False, storage_mode="memory")


def send(url: str, title: str, body: str, level: str = "warning") -> tuple[bool, str]:
    """Send one message to one channel. Blocking (seconds with a slow server). (ok, reason if not)."""
    apprise = _apprise()
    obj = apprise.Apprise(asset=_asset(apprise))
    if not obj.add(url):
        return False, "apprise does not accept this channel URL"
    capture = _Capture()
    logger = logging.getLogger("apprise")
    with _SENDING:
        logger.addHandler(capture)
        try:
            ok = bool(obj.notify(title=title, body=body, notify_type=NOTIFY_TYPES.get(level, "info")))
        except Exception as exc:  # a plugin's own bug must not kill the sender
            ok, capture.lines = False, [f"{type(exc).__name__}: {exc}"]
        finally:
            logger.removeHandler(capture)
    if ok:
        return True, ""
    reason = "; ".join(dict.fromkeys(capture.lines)) or "the service did not accept the message"
    return False, scrub(reason, url)[:500]
