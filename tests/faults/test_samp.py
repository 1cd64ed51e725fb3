"""SAMP: loopback only, no listening socket, no request to any outside host (checked with audit hooks
in a real child process talking to a real astropy hub)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import warnings

import pytest

from reflexng.recipes.builtin.testing import write_header_fits

CHILD = textwrap.dedent("""
    import json, sys
    events = []
    def hook(event, args):
        if event in ("socket.connect", "socket.bind", "urllib.Request", "socket.getaddrinfo",
                     "socket.gethostbyaddr", "socket.gethostbyname"):
            a = args[1] if event in ("socket.connect", "socket.bind") else args[0]
            events.append([event, str(a[0] if isinstance(a, tuple) else a)])
    sys.addaudithook(hook)
    from reflexng.gui.samp import send_fits
    msg = send_fits(sys.argv[1], timeout=20)
    print(json.dumps({"msg": msg, "events": events}))
""")


def _send(path, env):
    res = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, timeout=120,
                         env=env)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def _env(tmp_path, lockfile):
    import os

    return dict(os.environ, HOME=str(tmp_path), SAMP_HUB=f"std-lockurl:{lockfile.as_uri()}")


def test_samp_send_stays_on_loopback_and_opens_no_socket(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from astropy.samp import SAMPHubServer, SAMPIntegratedClient, conf
    lockfile = tmp_path / "samp.lock"
    with conf.set_temp("use_internet", False):
        hub = SAMPHubServer(web_profile=False, lockfile=str(lockfile), mode="multiple", addr="127.0.0.1")
        hub.start()
    try:
        with conf.set_temp("use_internet", False):
            receiver = SAMPIntegratedClient(name="viewer", addr="127.0.0.1")
        receiver.connect(hub=hub)
        got = threading.Event()

        def on_call(private_key, sender_id, msg_id, mtype, params, extra):
            got.set()
            receiver.reply(msg_id, {"samp.status": "samp.ok", "samp.result": {}})

        receiver.bind_receive_call("image.load.fits", on_call)
        p = tmp_path / "y.fits"
        write_header_fits(p, {"OBJECT": "X"})
        out = _send(p, _env(tmp_path, lockfile))
        assert out["msg"] == "sent y.fits over SAMP (image.load.fits) to 1 client(s)", out
        assert got.is_set()
        kinds = {e for e, _a in out["events"]}
        assert "urllib.Request" not in kinds, out["events"]  # no internet_on() probe
        assert "socket.bind" not in kinds, out["events"]  # no callback server: nothing listens
        assert {a for e, a in out["events"] if e in ("socket.connect", "socket.getaddrinfo")} <= {"127.0.0.1"}, out
        receiver.disconnect()
    finally:
        hub.stop()


@pytest.mark.parametrize("url", ["http://192.0.2.7:21012/xmlrpc", "http://example.org:21012/xmlrpc",
                                 "http://[2001:db8::1]:21012/xmlrpc"])
def test_a_hub_address_off_loopback_is_refused_without_contacting_it(url, tmp_path):
    lockfile = tmp_path / "samp.lock"
    lockfile.write_text(f"samp.secret=abc\nsamp.hub.xmlrpc.url={url}\nsamp.profile.version=1.3\n")
    p = tmp_path / "y.fits"
    write_header_fits(p, {"OBJECT": "X"})
    out = _send(p, _env(tmp_path, lockfile))
    assert out["msg"].startswith("SAMP hub refused") and "loopback" in out["msg"], out
    assert not [e for e in out["events"] if e[0] in ("socket.connect", "urllib.Request", "socket.getaddrinfo")], out
