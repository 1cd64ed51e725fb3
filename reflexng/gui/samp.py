"""Send a product to ds9 / TOPCAT / Aladin over SAMP (astropy.samp) when a hub runs.
Qt-free; call it in a worker (connecting may take a moment).

Loopback only, no network: the hub's lock file is read from this machine (``$SAMP_HUB`` as a
``std-lockurl:file:`` URL, else ``~/.samp``) and its address is accepted only when it is a
loopback address (``127.x.x.x``, ``::1`` or ``localhost``); the client opens no listening
socket (it only calls the hub, which waits for each viewer's reply) and never probes the
internet (astropy's ``internet_on`` check is switched off)."""

from __future__ import annotations

import ipaddress
import os
import urllib.parse
from pathlib import Path

LOOPBACK = "127.0.0.1"


class HubRefused(Exception):
    """The SAMP hub (or its lock file) is not on this machine's loopback interface."""


def _lockfile() -> Path:
    env = os.environ.get("SAMP_HUB", "").strip()
    if env:
        if not env.startswith("std-lockurl:"):
            raise HubRefused(f"SAMP_HUB={env!r} is not a std-lockurl: lock file")
        url = urllib.parse.urlparse(env[len("std-lockurl:"):])
        if url.scheme != "file" or url.netloc not in ("", "localhost"):
            raise HubRefused(f"SAMP_HUB={env!r}: reflexng reads the SAMP lock file only from this machine "
                             "(a file: URL)")
        return Path(urllib.parse.unquote(url.path))
    return Path.home() / ".samp"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (no name is looked up)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def hub_params() -> dict[str, str]:
    """The running hub's lock-file entries; OSError when there is none, HubRefused when its
    address is not loopback."""
    path = _lockfile()
    params: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("#") or "=" not in line:
                continue
            key, value = line.split("=", 1)
            params[key.strip()] = value.strip()
    url = params.get("samp.hub.xmlrpc.url", "").replace("\\", "")
    host = urllib.parse.urlparse(url).hostname or ""
    if not url or not params.get("samp.secret"):
        raise HubRefused(f"{path}: not a SAMP lock file (no hub address or secret)")
    if not is_loopback(host):
        raise HubRefused(f"the SAMP hub in {path} listens on {host!r}, not on this machine's loopback address; "
                         f"reflexng talks only to a local hub (start it on {LOOPBACK})")
    params["samp.hub.xmlrpc.url"] = url
    return params


def send_fits(path: str | os.PathLike, *, table: bool = False, timeout: float = 3.0) -> str:
    """Broadcast ``image.load.fits`` (or ``table.load.fits``) for ``path``; return what
    happened in words. Never raises: no hub gives a clear message."""
    import warnings

    try:
        with warnings.catch_warnings():  # astropy >= 8 deprecates astropy.samp in favour of pyvo.samp
            warnings.simplefilter("ignore")
            from astropy.samp import SAMPHubError, SAMPIntegratedClient, conf
    except ImportError:  # pragma: no cover - astropy is a dependency
        return "SAMP is not available (astropy.samp missing)"
    p = Path(path).resolve()
    if not p.is_file():
        return f"cannot send {p.name}: file not found"
    try:
        params = hub_params()
    except HubRefused as exc:
        return f"SAMP hub refused: {exc}"
    except OSError:
        return "no SAMP hub is running (start ds9, TOPCAT or Aladin first)"
    client = SAMPIntegratedClient(name="reflexng", description="reflexng data reduction", addr=LOOPBACK,
                                  callable=False)
    try:
        with conf.set_temp("use_internet", False):  # no internet_on() probe (the client is made on connect)
            client.connect(hub_params=params, pool_size=1)
    except (SAMPHubError, OSError, ConnectionError) as exc:
        return f"no SAMP hub is running (start ds9, TOPCAT or Aladin first): {exc}"
    except Exception as exc:  # any other hub trouble
        return f"SAMP hub not reachable: {exc}"
    try:
        mtype = "table.load.fits" if table else "image.load.fits"
        message = {"samp.mtype": mtype, "samp.params": {"url": p.as_uri(), "name": p.name}}
        # a call per subscribed client, waiting for its reply: a notification is dropped by the
        # hub when the sender disconnects before the hub's delivery thread runs
        recipients = list(client.get_subscribed_clients(mtype))
        if not recipients:
            return f"no SAMP client takes {mtype} (start ds9, TOPCAT or Aladin)"
        ok, failed = [], []
        for rid in recipients:
            try:
                client.call_and_wait(rid, message, str(max(1, int(timeout))))
                ok.append(rid)
            except Exception as exc:  # one viewer not answering must not stop the others
                failed.append(f"{rid}: {exc}")
        if not ok:
            return f"SAMP send failed: {'; '.join(failed)}"
        return f"sent {p.name} over SAMP ({mtype}) to {len(ok)} client(s)"
    except Exception as exc:
        return f"SAMP send failed: {exc}"
    finally:
        try:
            client.disconnect()
        except Exception:
            pass
