"""Print the lowest versions pyproject.toml allows, as pins for pip: ``python-socketio==5.18.0``.

    python3 .ci/floor_pins.py                          # the runtime dependencies and the extras
    python3 .ci/floor_pins.py --extra redis            # ... and only these extras
    python3 .ci/floor_pins.py --tools requirements/test.txt pytest pytest-asyncio

Each dependency's lower bound is its ``>=``, ``~=`` or ``==`` version (``==5.18.*``
gives 5.18.0); a dependency without one is an error, since nothing would prove
the oldest release it accepts. ``--tools`` adds test tools from a requirements
file as they are written there (their newest releases: they are not chatlib's
dependencies). pip has no "lowest" resolution, so .ci/floors installs these pins.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def lowest(requirement: Requirement) -> str:
    """The lowest version ``requirement`` allows, from its lower bound."""
    bounds = []
    for spec in requirement.specifier:
        if spec.operator in (">=", "~=", "==", "==="):
            bounds.append(spec.version.removesuffix(".*") + (".0" if spec.version.endswith(".*") else ""))
    if not bounds:
        raise SystemExit(f"{requirement}: no lower bound in pyproject.toml to install")
    floor = max(bounds, key=Version)
    if not requirement.specifier.contains(floor, prereleases=True):
        raise SystemExit(f"{requirement}: its lower bound {floor} is not allowed by the rest")
    return floor


def pins(extras: list[str] | None = None) -> dict[str, str]:
    """``{name: "name==version"}`` for the dependencies and ``extras`` (None: every extra)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional = project.get("optional-dependencies", {})
    wanted = list(optional) if extras is None else extras
    found: dict[str, str] = {}
    for spec in project["dependencies"] + [spec for extra in wanted for spec in optional[extra]]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
        pin = f"{name}{extras}=={lowest(requirement)}"
        if found.setdefault(name, pin) != pin:
            raise SystemExit(f"{name}: two different lower bounds in pyproject.toml")
    return found


def tools(path: Path, names: list[str]) -> list[str]:
    """The lines of requirements file ``path`` that install ``names``."""
    lines = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            lines[canonicalize_name(Requirement(line).name)] = line
    missing = [name for name in names if canonicalize_name(name) not in lines]
    if missing:
        raise SystemExit(f"{path}: no line for {', '.join(missing)}")
    return [lines[canonicalize_name(name)] for name in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--extra", action="append", help="only these extras (default: all)")
    parser.add_argument("--tools", nargs="+", metavar=("FILE", "NAME"),
                        help="also these packages, as a requirements file writes them")
    args = parser.parse_args()
    lines = sorted(pins(args.extra).values())
    if args.tools:
        lines += tools(ROOT / args.tools[0], args.tools[1:])
    sys.stdout.write("".join(line + "\n" for line in lines))


if __name__ == "__main__":
    main()
