"""Send a product to ds9 / TOPCAT / Aladin over SAMP (astropy.samp) when a hub runs.
Qt-free; call it in a worker (connecting may take a moment)."""

from __future__ import annotations

import os
from pathlib import Path


def send_fits(path: str | os.PathLike, *, table: bool = False, timeout: float = 3.0) -> str:
    """Broadcast ``image.load.fits`` (or ``table.load.fits``) for ``path``; return what
    happened in words. Never raises: no hub gives a clear message."""
    import warnings

    try:
        with warnings.catch_warnings():  # astropy >= 8 deprecates astropy.samp in favour of pyvo.samp
            warnings.simplefilter("ignore")
            from astropy.samp import SAMPHubError, SAMPIntegratedClient
    except ImportError:  # pragma: no cover - astropy is a dependency
        return "SAMP is not available (astropy.samp missing)"
    p = Path(path).resolve()
    if not p.is_file():
        return f"cannot send {p.name}: file not found"
    client = SAMPIntegratedClient(name="reflexng", description="reflexng data reduction")
    try:
        client.connect(pool_size=1)
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
