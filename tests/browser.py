"""Headless Chromium for the tests that look at a page as a browser shows it, with the network
disabled: in a network namespace of its own (``unshare -rn``: only a loopback, nothing
routes out) where the kernel allows it, and always with every host name resolving to
nothing, so a page that still needs a CDN renders as it would offline. ``net_log`` returns the
URLs Chromium tried to fetch (its own update pings excluded), to show which resources a page
wanted from the network."""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Chromium's own background calls (component updater, clock check): not the page's
CHROMIUM_OWN = ("clients2.google.com", "update.googleapis.com", "edgedl.me.gvt1.com",
                "redirector.gvt1.com", "accounts.google.com", "safebrowsing.googleapis.com")


@cache
def _netns() -> list[str]:
    """``unshare -rn`` when this kernel lets an unprivileged process have its own network."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-rn", "true"], capture_output=True).returncode == 0:
        return [unshare, "-rn"]
    return []


def chromium(tmp: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Headless Chromium with nothing that reaches the network."""
    return subprocess.run(
        [*_netns(), CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--proxy-server=http://127.0.0.1:9", f"--user-data-dir={tmp / 'profile'}", *args],
        capture_output=True, text=True, timeout=timeout, check=True,
    )


def offline_isolation() -> str:
    return "own network namespace" if _netns() else "host names resolve to nothing"


def net_log(path: Path) -> list[str]:
    """The http(s) URLs in a ``--log-net-log`` file, Chromium's own calls left out."""
    text = path.read_text(errors="replace")
    try:
        events = json.loads(text).get("events", [])
    except json.JSONDecodeError:  # Chromium killed before it closed the JSON
        events = []
    urls = set()
    for event in events:
        url = (event.get("params") or {}).get("url")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            urls.add(url)
    if not events:
        import re

        urls = set(re.findall(r'"url":"(https?://[^"]+)"', text))
    return sorted(u for u in urls if not any(f"//{host}" in u for host in CHROMIUM_OWN))
