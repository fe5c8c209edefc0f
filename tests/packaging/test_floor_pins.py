""".ci/floor_pins.py: the pins of the floor-version CI step are pyproject's lower bounds."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("floor_pins", ROOT / ".ci" / "floor_pins.py")
assert _spec is not None and _spec.loader is not None
floor_pins = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(floor_pins)


@pytest.mark.parametrize(("spec", "lowest"), [
    ("python-socketio==5.18.*", "5.18.0"),
    ("python-engineio>=4.15.1,<5", "4.15.1"),
    ("uvicorn[standard]>=0.52.1", "0.52.1"),
    ("attrs~=23.1", "23.1"),
    ("pkg>=1.2,>=1.10", "1.10"),
])
def test_the_lowest_version_is_the_lower_bound(spec, lowest):
    assert floor_pins.lowest(Requirement(spec)) == lowest


@pytest.mark.parametrize("spec", ["bidict", "bidict<1", "x>=2,<1.5"])
def test_a_dependency_without_a_usable_lower_bound_stops_the_step(spec):
    with pytest.raises(SystemExit):
        floor_pins.lowest(Requirement(spec))


def test_every_dependency_and_extra_of_pyproject_has_a_floor_to_install():
    """A dependency added without a lower bound fails here, not only in the CI step."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + [spec for specs in project["optional-dependencies"].values()
                                       for spec in specs]
    pins = floor_pins.pins()
    for spec in specs:
        requirement = Requirement(spec)
        pin = Requirement(pins[canonicalize_name(requirement.name)])
        assert requirement.specifier.contains(next(iter(pin.specifier)).version), (spec, pin)
