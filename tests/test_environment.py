"""environment.yml (Binder) installs what requirements.txt installs, with the same bounds."""

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent

#: in environment.yml only: what Binder needs on top of a local install
BINDER_ONLY = {"jupyter-server-proxy"}
#: conda packages of environment.yml that are programs, not Python packages: conda-forge's
#: "redis-server" is the server the step-9 notebook starts (pip's "redis" is the client library)
BINDER_PROGRAMS = {"redis-server"}


def normalize(name: str) -> str:
    """PEP 503: case, '-', '_' and '.' do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements_txt(path: Path = ROOT / "requirements.txt") -> dict[str, Requirement]:
    """The packages a requirements file installs, following its ``-r`` includes."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found.update(requirements_txt(path.parent / line[3:].strip()))
        elif line:
            requirement = Requirement(line)
            found[normalize(requirement.name)] = requirement
    return found


def environment_yml() -> tuple[dict, dict[str, Requirement]]:
    """The parsed file, and its packages (conda and pip sections together) by name."""
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    found = {}
    for entry in environment["dependencies"]:
        if isinstance(entry, dict):
            specs = entry["pip"]
        elif re.fullmatch(r"(python|pip)([=<>!].*)?", entry):
            continue  # the interpreter and the installer, not packages of requirements.txt
        elif entry in BINDER_PROGRAMS:
            continue
        else:
            specs = [entry]
        for spec in specs:
            requirement = Requirement(spec)
            found[normalize(requirement.name)] = requirement
    return environment, found


def test_the_same_packages_as_requirements_txt():
    _, environment = environment_yml()
    assert set(environment) - BINDER_ONLY == set(requirements_txt())
    assert set(environment) >= BINDER_ONLY


def test_the_same_version_bounds_and_extras():
    _, environment = environment_yml()
    for name, wanted in requirements_txt().items():
        assert environment[name].specifier == wanted.specifier, name
        assert environment[name].extras == wanted.extras, name


def test_binder_has_redis_server_for_the_step_9_notebook():
    environment, _ = environment_yml()
    conda = {entry for entry in environment["dependencies"] if isinstance(entry, str)}
    assert conda >= BINDER_PROGRAMS


def test_a_pinned_python_from_conda_forge():
    environment, _ = environment_yml()
    assert environment["channels"] == ["conda-forge"]
    pythons = [entry for entry in environment["dependencies"]
               if isinstance(entry, str) and re.fullmatch(r"python=\d+\.\d+", entry)]
    assert len(pythons) == 1


def test_binder_installs_the_repository_itself():
    post_build = (ROOT / "postBuild").read_text()
    assert re.search(r"pip install .*-e \.$", post_build, re.MULTILINE)


def declared() -> tuple[list[Requirement], dict[str, list[Requirement]]]:
    """pyproject.toml's dependencies, and its extras' by extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = {extra: [Requirement(spec) for spec in specs]
              for extra, specs in project["optional-dependencies"].items()}
    return [Requirement(spec) for spec in project["dependencies"]], extras


def test_the_runtime_set_is_what_the_package_declares():
    """runtime.txt: the dependencies and the extras of the asyncio client and the Redis store."""
    dependencies, extras = declared()
    library = dependencies + extras["asyncio-client"] + extras["redis"]
    runtime = requirements_txt(ROOT / "requirements" / "runtime.txt")
    assert {normalize(r.name): (r.specifier, r.extras) for r in library} == {
        name: (r.specifier, r.extras) for name, r in runtime.items()}
    # and every extra (the jupyter one's in tutorial.txt) with its bounds, for the tests
    installed = requirements_txt()
    for extra, requirements in extras.items():
        for requirement in requirements:
            assert installed[normalize(requirement.name)].specifier == requirement.specifier, extra


def test_the_server_alone_installs_no_client_store_widget_or_uvicorn_speed_ups():
    dependencies, _ = declared()
    assert {normalize(r.name) for r in dependencies} == {
        "python-socketio", "python-engineio", "bidict", "uvicorn", "websockets"}
    assert all(not r.extras for r in dependencies), "uvicorn[standard] brings five packages"


def test_each_extra_an_import_error_names_is_one_pip_installs():
    from chatlib._extras import EXTRA_MODULES

    _, extras = declared()
    # normalized names (PEP 685): older pips match "asyncio-client" but not "asyncio_client"
    assert all(extra == normalize(extra) for extra in extras)
    assert set(EXTRA_MODULES) == set(extras)


def test_the_lessons_install_hint_names_the_conda_package_binder_installs():
    from chatlib.lesson.texts import CATALOGS

    for language, catalog in CATALOGS.items():
        conda = re.findall(r"conda install -c conda-forge ([\w-]+)", catalog["local_redis"]["missing"])
        assert conda and set(conda) <= BINDER_PROGRAMS, (language, conda)
