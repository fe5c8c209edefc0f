"""Fetch the tests of the installed python-socketio's source release (run by .ci/run).

``python3 -m tests.upstream.fetch`` asks pip for the sdist of exactly the
installed version and keeps only its ``tests/`` folder (and the
``pyproject.toml`` that configures pytest for them) in
``tests/upstream/_suite/<version>/``, which git ignores: the tests
are python-socketio's, never vendored. Run again, it does nothing.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITES = HERE / "_suite"
DISTRIBUTION = "python-socketio"
_KEPT = ("tests/", "pyproject.toml")  # inside the sdist's top folder


def installed_version() -> str:
    return importlib.metadata.version(DISTRIBUTION)


def suite(version: str | None = None) -> Path:
    """Where the tests of ``version`` (default: the installed one) are kept."""
    return SUITES / (version or installed_version())


def fetch(version: str) -> Path:
    """Download the sdist of ``version`` and keep its tests; returns their folder."""
    target = suite(version)
    if (target / "tests").is_dir():
        return target
    with tempfile.TemporaryDirectory() as scratch:
        scratch_path = Path(scratch)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:",
                        "--no-deps", f"{DISTRIBUTION}=={version}", "-d", str(scratch_path)],
                       check=True, timeout=300)
        archives = list(scratch_path.glob("*.tar.gz"))
        if len(archives) != 1:
            raise RuntimeError(f"expected one sdist from pip, got {archives}")
        staging = scratch_path / "staging"
        with tarfile.open(archives[0]) as archive:
            top = archive.getnames()[0].split("/", 1)[0]
            members = [member for member in archive.getmembers()
                       if member.name.removeprefix(top + "/").startswith(_KEPT)]
            archive.extractall(staging, members=members, filter="data")
        SUITES.mkdir(exist_ok=True)
        # one rename, so a half-extracted folder is never taken for a fetched suite
        shutil.move(str(staging / top), str(target))
    return target


def main() -> None:
    version = installed_version()
    target = fetch(version)
    count = len(list((target / "tests").rglob("test_*.py")))
    print(f"python-socketio {version}: {count} test files of its source release in {target}")


if __name__ == "__main__":
    main()
