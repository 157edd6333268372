#!/usr/bin/env python3
"""Set up and run utilipay from a fresh clone, with nothing but python3 and pip.

    python3 dev.py demo     # the main job: the hub and a customer's journey through its API
    python3 dev.py test     # lint, type-check and the whole test suite (two pytest workers)
    python3 dev.py fuzz     # fuzz the whole HTTP API: at least 100,000 requests, no 5xx
    python3 dev.py screenshots   # the browser tests, refreshing docs/console/*.png, docs/h5/*.png
    python3 dev.py vendor   # fetch the console's vendored JS again (npm) and check its SHA-256
    python3 dev.py <cmd>    # any other `utilipay` command (serve, check, bench, …)

The first run creates .venv and installs the project with the pinned versions of
constraints.txt; later runs reinstall only when pyproject.toml or constraints.txt change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def _create_venv() -> None:
    made = subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=False)
    if made.returncode != 0 or not PYTHON.exists():
        # Debian-like systems without python3-venv's ensurepip: make the venv bare
        # and let the outer pip install into it.
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--clear", str(VENV)],
                       check=True)


def _pip(*args: str) -> None:
    has_pip = subprocess.run([str(PYTHON), "-m", "pip", "--version"], capture_output=True,
                             check=False).returncode == 0
    base = [str(PYTHON), "-m", "pip"] if has_pip else [
        sys.executable, "-m", "pip", "--python", str(PYTHON)]
    subprocess.run([*base, "--disable-pip-version-check", "-q", *args], check=True)


def ensure_environment() -> None:
    stamp = VENV / ".utilipay-installed"
    if stamp.exists() and stamp.read_text() == _fingerprint() and PYTHON.exists():
        return
    if not PYTHON.exists():
        print("creating .venv …", flush=True)
        _create_venv()
    print("installing utilipay and its pinned dependencies into .venv …", flush=True)
    _pip("install", "-c", str(ROOT / "constraints.txt"), "-e", f"{ROOT}[dev]")
    stamp.write_text(_fingerprint())


def run(*command: str, env: dict[str, str] | None = None) -> int:
    with subprocess.Popen(command, cwd=ROOT, env=env) as child:
        try:
            return child.wait()
        except KeyboardInterrupt:  # the child had Ctrl-C too (one terminal): let it stop
            return child.wait()


def test(extra: list[str]) -> int:
    steps = [
        (str(PYTHON), "-m", "ruff", "check", "src", "tests"),
        (str(PYTHON), "-m", "ruff", "format", "--check", "src", "tests"),
        (str(PYTHON), "-m", "mypy"),
        (str(BIN / "lint-imports"),),  # the dependency contracts of pyproject.toml
        # Two workers, each with its own database: about 30 % less wall time than one on
        # a 2-core machine (BENCHMARKS.md, "Test suite wall time"); `-n 0` runs serially.
        (str(PYTHON), "-m", "pytest", "-n", "2", *extra),
    ]
    for step in steps:
        print(f"$ {' '.join(Path(step[0]).name if i == 0 else s for i, s in enumerate(step))}",
              flush=True)
        code = run(*step)
        if code != 0:
            return code
    return 0


def fuzz(extra: list[str]) -> int:
    """The long run of tests/web/test_fuzz.py; it prints operations, requests and 5xx."""
    env = {"UTILIPAY_FUZZ_REQUESTS": "100000", "UTILIPAY_FUZZ_EXAMPLES": "200", **os.environ}
    return run(str(PYTHON), "-m", "pytest", "tests/web/test_fuzz.py", "-q", "-s",
               "-p", "no:cacheprovider", *extra, env=env)


def screenshots(extra: list[str]) -> int:
    env = {**os.environ, "UTILIPAY_SCREENSHOTS": "1", "UTILIPAY_REQUIRE_BROWSER": "1"}
    pages = ("tests/console", "tests/h5")
    return run(str(PYTHON), "-m", "pytest", *pages, "-q", "-n", "0", *extra, env=env)


VENDORED = ROOT / "src" / "utilipay" / "console" / "static" / "vendor"


def vendor() -> int:
    """Fetch each file of VENDORED.md's table from its npm package (``npm pack``), check it
    against the SHA-256 the table records, and put it in place: the console serves these
    itself and needs no CDN."""
    import re
    import tarfile
    import tempfile

    row = re.compile(r"^\| (\S+) \| (\S+) \((\S+)\) \| (\S+) \| \S+ \| ([0-9a-f]{64}) \|$")
    wanted = [m.groups() for m in map(row.match, (VENDORED / "VENDORED.md").read_text(
        encoding="utf-8").splitlines()) if m]
    with tempfile.TemporaryDirectory() as scratch:
        for name, package, inside, version, sha in wanted:
            subprocess.run(["npm", "pack", f"{package}@{version}", "--pack-destination", scratch],
                           check=True, capture_output=True)
            tarball = next(Path(scratch).glob(f"{package.replace('/', '-')}-{version}.tgz"))
            with tarfile.open(tarball) as archive:
                member = archive.extractfile(f"package/{inside}")
                data = member.read() if member else b""
            if hashlib.sha256(data).hexdigest() != sha:
                print(f"{name}: {package}@{version} {inside} does not match its SHA-256")
                return 1
            (VENDORED / name).write_bytes(data)
            print(f"{name}: {package}@{version} ok")
    return 0


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    ensure_environment()
    if argv[0] == "test":
        return test(argv[1:])
    if argv[0] == "fuzz":
        return fuzz(argv[1:])
    if argv[0] == "screenshots":
        return screenshots(argv[1:])
    if argv[0] == "vendor":
        return vendor()
    return run(str(PYTHON), "-m", "utilipay", *argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
