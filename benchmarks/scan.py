"""Benchmark of the FITS header scan (issue 3, "Scan").

A 20,000-file ESO-like header-only corpus (~300 cards per primary header, HIERARCH ESO
keywords, NAXIS = 0; six header layouts of different templates, interleaved as in a night, with
one file in ten carrying an extra card so layouts vary). Measured in one run, page cache warm:

- the walk alone (list the folders, stat every file: an unchanged folder's check);
- our scanner, 1 and 2 worker processes, no SQLite cache (the reader itself);
- the first scan into an empty SQLite cache, and the cached re-scan (target < 0.3 s);
- astropy ``getheader`` on a sample, extrapolated to the corpus (stated in the table);
- the raw-read floor: open + pread of the header bytes + close, in Python and in a tiny C
  program (when a C compiler is present);
- cold page cache (``sync; echo 3 > /proc/sys/vm/drop_caches``) when permitted.

    python benchmarks/scan.py [--files 20000] [--dir DIR] [--sample 1000]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KEYWORDS = ["DPR.CATG", "DPR.TYPE", "DPR.TECH", "DET.BINX", "DET.BINY", "DET.READ.CLOCK",
            "INS.MODE", "INS.FILT1.NAME", "INS.GRAT1.WLEN", "TPL.START", "OBS.NAME", "PRO.CATG",
            "EXPTIME", "MJD-OBS", "DATE-OBS", "INSTRUME", "ARCFILE", "TEL.AIRM.START"]  # fmt: skip
TEMPLATES = [("BIAS", "CALIB", 0), ("FLAT", "CALIB", 1), ("DARK", "CALIB", 2),
             ("LAMP,WAVE", "CALIB", 3), ("OBJECT", "SCIENCE", 4), ("STD", "CALIB", 5)]  # fmt: skip
GROUPS = ["ADA", "DET", "DET OUT1", "DET WIN1", "INS", "INS FILT1", "INS GRAT1", "OBS", "OCS",
          "TEL", "TEL AMBI", "TPL", "SEQ"]  # fmt: skip


def card(key: str, value: object, comment: str = "") -> str:
    if isinstance(value, bool):
        text = "T" if value else "F"
    elif isinstance(value, str):
        text = "'" + value.replace("'", "''").ljust(8) + "'"
    else:
        text = repr(value)
    if len(key) <= 8 and not key.startswith("HIERARCH"):
        image = f"{key:<8}= {text:>20}" if not isinstance(value, str) else f"{key:<8}= {text:<20}"
    else:
        image = f"{key} = {text}"
    if comment and len(image) < 77:
        image += " / " + comment
    return image[:80].ljust(80)


def template(kind: int) -> tuple[bytes, dict[str, int]]:
    """A header with placeholders; returns the bytes and the offsets of the patched fields."""
    rng = random.Random(kind)
    dpr, catg, _ = TEMPLATES[kind]
    cards = [
        card("SIMPLE", True, "Standard FITS"),
        card("BITPIX", 16, "# of bits per pix value"),
        card("NAXIS", 0, "# of axes in data array"),
        card("EXTEND", True, "Extensions may be present"),
        card("ORIGIN", "ESO-PARANAL", "European Southern Observatory"),
        card("DATE", "2026-03-04T10:11:12.000", "UT date when this file was written"),
        card("TELESCOP", "ESO-VLT-U2", "ESO Telescope Name"),
        card("INSTRUME", "BENCHSPEC", "Instrument used."),
        card("OBJECT", dpr, "Original target."),
        card("RA", 123.456789, "08:13:49.6 RA (J2000) pointing"),
        card("DEC", -45.678901, "-45:40:44.0 DEC (J2000) pointing"),
        card("EQUINOX", 2000.0, "Standard FK5 (years)"),
        card("RADESYS", "FK5", "Coordinate reference frame"),
        card("EXPTIME", 1234.5678, "Integration time"),
        card("MJD-OBS", 61000.00000001, "Obs start"),
        card("DATE-OBS", "2026-03-04T99:99:99.999", "Observing date"),
        card("UTC", 12345.0, "03:25:45.000 UTC"),
        card("LST", 23456.789, "06:30:56.789 LST"),
        card("PI-COI", "UNKNOWN", "PI-COI name."),
        card("OBSERVER", "UNKNOWN", "Name of observer."),
        card("ARCFILE", "BENCH.2026-03-04T99:99:99.999.fits", "Archive File Name"),
        card("HIERARCH ESO DPR CATG", catg, "Observation category"),
        card("HIERARCH ESO DPR TYPE", dpr, "Observation type"),
        card("HIERARCH ESO DPR TECH", "ECHELLE", "Observation technique"),
    ]
    n = 0
    while len(cards) < 290 + 3 * kind:
        g = GROUPS[(n * 7 + kind) % len(GROUPS)]
        value = rng.choice([n, n * 0.25 + 0.5, f"setting {n}", n % 2 == 0])
        cards.append(card(f"HIERARCH ESO {g} P{n + kind} VAL", value, "parameter of the template"))
        n += 1
        if n == 90:
            cards.append(card("HIERARCH ESO DET BINX", 9, "Binning factor along X"))
            cards.append(card("HIERARCH ESO DET BINY", 9, "Binning factor along Y"))
            cards.append(card("HIERARCH ESO DET READ CLOCK", "225kHz,2x2,low", "Readout clock"))
        if n == 150:
            cards.append(card("HIERARCH ESO INS MODE", "RED580", "Instrument mode"))
            cards.append(card("HIERARCH ESO INS FILT1 NAME", "HER_5", "Filter name"))
            cards.append(card("HIERARCH ESO INS GRAT1 WLEN", 580.0, "Central wavelength"))
        if n == 220:
            cards.append(card("HIERARCH ESO TPL START", "2026-03-04T99:99:99", "TPL start"))
            cards.append(card("HIERARCH ESO OBS NAME", f"Calibration {dpr}", "OB name"))
            cards.append(card("HIERARCH ESO TEL AIRM START", 1.234, "Airmass at start"))
    cards.append(card("HIERARCH ESO EXTRA FLAG", True, "only in some files"))  # removed per file
    cards.append("END".ljust(80))
    text = "".join(cards)
    blob = text.encode("ascii")
    marks = {
        "date": blob.index(b"2026-03-04T99:99:99.999"),
        "mjd": blob.index(b"61000.00000001"),
        "exptime": blob.index(b"1234.5678"),
        "binx": blob.index(b"HIERARCH ESO DET BINX = 9") + 24,
        "tpl": blob.index(b"2026-03-04T99:99:99'"),
        "extra": blob.index(b"HIERARCH ESO EXTRA FLAG"),
    }
    return blob, marks


def make_corpus(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    done = folder / ".complete"
    if done.exists() and done.read_text() == str(n):
        return
    templates = [template(k) for k in range(len(TEMPLATES))]
    per_night = 1000
    for i in range(n):
        kind = (i * 7 // 3) % len(TEMPLATES)
        blob, m = templates[kind]
        b = bytearray(blob)
        sec = i * 13
        stamp = f"2026-03-{4 + i // per_night % 25:02d}T{sec // 3600 % 24:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}.{i % 1000:03d}"
        b[m["date"] : m["date"] + 23] = stamp.encode()
        b[m["tpl"] : m["tpl"] + 19] = stamp[:19].encode()
        b[m["mjd"] : m["mjd"] + 14] = f"{61000 + i / 1000:14.8f}".encode()
        b[m["exptime"] : m["exptime"] + 9] = f"{(i % 97) * 1.5:9.4f}".encode()
        b[m["binx"]] = ord("1") if i % 3 else ord("2")
        if i % 10:  # nine files in ten lack the extra card: the END card moves up
            e = m["extra"]
            b[e : e + 160] = b"END".ljust(80) + b" " * 80
        b += b" " * (-len(b) % 2880)
        night = folder / f"night{i // per_night:02d}"
        if i % per_night == 0:
            night.mkdir(exist_ok=True)
        (night / f"BENCH.{stamp}.fits").write_bytes(bytes(b))
    done.write_text(str(n))


def files_of(folder: Path) -> list[str]:
    """The corpus in inode order (the order the scanner reads in: fewest seeks when cold)."""
    return sorted((str(p) for p in folder.rglob("*.fits")), key=lambda p: os.stat(p).st_ino)


def warm(files: list[str]) -> None:
    for f in files:
        with open(f, "rb") as fh:
            fh.read()


def drop_caches() -> str | None:
    """Drop the page cache; None when it worked, otherwise why not."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return None
    except OSError as exc:
        return f"dropping the page cache was refused ({exc})"


def python_floor(files: list[str], nbytes: int) -> float:
    t0 = time.perf_counter()
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        os.pread(fd, nbytes, 0)
        os.close(fd)
    return time.perf_counter() - t0


C_FLOOR = r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    static char buf[1 << 16], path[8192];
    size_t want = (size_t)atol(argv[1]);
    long n = 0;
    while (fgets(path, sizeof path, stdin)) {
        path[strcspn(path, "\n")] = 0;
        int fd = open(path, O_RDONLY);
        if (fd < 0) continue;
        posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
        if (pread(fd, buf, want, 0) > 0) n++;
        close(fd);
    }
    printf("%ld\n", n);
    return 0;
}
"""


def c_floor(files: list[str], nbytes: int, tmp: Path, repeat: int = 2) -> float | None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    src, exe = tmp / "floor.c", tmp / "floor"
    if not exe.exists():
        src.write_text(C_FLOOR)
        subprocess.run([cc, "-O2", "-o", str(exe), str(src)], check=True)
    listing = "\n".join(files).encode()
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = subprocess.run([str(exe), str(nbytes)], input=listing, capture_output=True)
        dt = time.perf_counter() - t0
        assert int(out.stdout) == len(files)
        best = dt if best is None else min(best, dt)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--dir", type=Path, help="corpus folder (kept; reused when complete)")
    ap.add_argument("--sample", type=int, default=1000, help="files read with astropy")
    ap.add_argument("--no-cold", action="store_true", help="do not drop the page cache")
    args = ap.parse_args()

    from astropy.io import fits

    from reflexng.fits import scan

    tmp = Path(tempfile.mkdtemp(prefix="reflexng-scan-bench-"))
    corpus = args.dir or tmp / "corpus"
    rows: list[tuple[str, float, float, int, str]] = []  # label, wall s, CPU s, files, note

    t0 = time.perf_counter()
    make_corpus(corpus, args.files)
    files = files_of(corpus)
    gen = time.perf_counter() - t0
    n = len(files)
    hdr_bytes = max(os.path.getsize(f) for f in files[:50])
    print(f"corpus: {n} files in {corpus} ({gen:.1f} s to make or find), "
          f"header {hdr_bytes} bytes, {hdr_bytes // 80} card slots")  # fmt: skip
    load0 = os.getloadavg()[0]

    def measure(fn) -> tuple[float, float, object]:
        """(wall s, CPU s of this process and its children, result)."""
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        p0, t = time.process_time(), time.perf_counter()
        out = fn()
        wall, cpu = time.perf_counter() - t, time.process_time() - p0
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu += c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime
        return wall, cpu, out

    def timed(label: str, fn, note: str = "", repeat: int = 3) -> None:
        best = None
        for _ in range(repeat):
            wall, cpu, out = measure(fn)
            if out is not None and hasattr(out, "__len__"):
                assert len(out) == n, (label, len(out))
            if best is None or wall < best[0]:
                best = (wall, cpu)
        rows.append((label, best[0], best[1], n, note))

    warm(files)
    # correctness spot check against astropy on a sample
    sample = random.Random(0).sample(files, min(args.sample, n))
    res = {f.path: f for f in scan([corpus], KEYWORDS, workers=2)}
    wall, cpu, _ = measure(lambda: [fits.getheader(f) for f in sample])
    for f in sample[:200]:
        h = fits.getheader(f)
        want = {k: h[("HIERARCH ESO " + k.replace(".", " ")) if "." in k else k] for k in KEYWORDS
                if (("HIERARCH ESO " + k.replace(".", " ")) if "." in k else k) in h}  # fmt: skip
        assert res[f].values == want, (f, res[f].values, want)
    k = n / len(sample)
    rows.append((f"astropy getheader, 1 process ({len(sample)} files, extrapolated)",
                 wall * k, cpu * k, n, "reference"))  # fmt: skip

    timed("raw-read floor, Python open+pread+close", lambda: python_floor(files, hdr_bytes),
          "1 process", repeat=2)  # fmt: skip
    if c_floor(files, hdr_bytes, tmp, 1) is not None:
        timed("raw-read floor, C open+pread+close", lambda: c_floor(files, hdr_bytes, tmp, 1),
              "1 process", repeat=2)  # fmt: skip
    from reflexng.fits.walk import walk

    timed("walk: list the folders, stat every file", lambda: walk([corpus]),
          "unchanged-folder check", repeat=3)  # fmt: skip
    timed("reflexng.fits.scan, 1 worker", lambda: scan([corpus], KEYWORDS, workers=1),
          "no SQLite cache", repeat=2)  # fmt: skip
    timed("reflexng.fits.scan, 2 workers", lambda: scan([corpus], KEYWORDS, workers=2),
          "no SQLite cache")  # fmt: skip
    db = tmp / "reflexng.sqlite"

    def first_scan():
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        return scan([corpus], KEYWORDS, cache_db=db, workers=2)

    timed("scan into an empty SQLite cache, 2 workers", first_scan, "writes all rows", repeat=2)
    timed("re-scan, all files cached", lambda: scan([corpus], KEYWORDS, cache_db=db),
          "target < 0.3 s")  # fmt: skip

    why = "skipped (--no-cold)" if args.no_cold else drop_caches()
    if why is None:
        wall, cpu, _ = measure(lambda: scan([corpus], KEYWORDS, workers=2))
        rows.append(("COLD: reflexng.fits.scan, 2 workers", wall, cpu, n, ""))
        drop_caches()
        wall, cpu, _ = measure(lambda: scan([corpus], KEYWORDS, workers=1))
        rows.append(("COLD: reflexng.fits.scan, 1 worker", wall, cpu, n, ""))
        drop_caches()
        wall, cpu, _ = measure(lambda: python_floor(files, hdr_bytes))
        rows.append(("COLD: raw-read floor, Python", wall, cpu, n, "1 process"))
        drop_caches()
        wall, cpu, out = measure(lambda: c_floor(files, hdr_bytes, tmp, 1))
        if out is not None:
            rows.append(("COLD: raw-read floor, C", wall, cpu, n, "1 process"))
        cold = "measured (page cache dropped before each COLD row)"
    else:
        cold = f"not measured: {why}"

    print()
    print(f"{'what':62} {'wall s':>7} {'files/s':>9} {'CPU s':>7} {'files/CPU-s':>11}  note")
    for label, sec, cpu, count, note in rows:
        print(f"{label:62} {sec:7.3f} {count / sec:9.0f} {cpu:7.3f} {count / max(cpu, 1e-9):11.0f}"
              f"  {note}")  # fmt: skip
    print(f"\ncold page cache: {cold}")
    print(
        f"machine: {os.cpu_count()} cores, load average {load0:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end (other work on the machine slows wall times)"
    )
    shutil.rmtree(tmp, ignore_errors=True)  # a --dir corpus is kept
    return 0


if __name__ == "__main__":
    sys.exit(main())
