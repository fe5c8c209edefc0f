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
    assert BINDER_ONLY <= set(environment)


def test_the_same_version_bounds_and_extras():
    _, environment = environment_yml()
    for name, wanted in requirements_txt().items():
        assert environment[name].specifier == wanted.specifier, name
        assert environment[name].extras == wanted.extras, name


def test_binder_has_redis_server_for_the_step_9_notebook():
    environment, _ = environment_yml()
    conda = {entry for entry in environment["dependencies"] if isinstance(entry, str)}
    assert BINDER_PROGRAMS <= conda


def test_a_pinned_python_from_conda_forge():
    environment, _ = environment_yml()
    assert environment["channels"] == ["conda-forge"]
    pythons = [entry for entry in environment["dependencies"]
               if isinstance(entry, str) and re.fullmatch(r"python=\d+\.\d+", entry)]
    assert len(pythons) == 1


def test_binder_installs_the_repository_itself():
    post_build = (ROOT / "postBuild").read_text()
    assert re.search(r"pip install .*-e \.$", post_build, re.MULTILINE)


def test_the_runtime_set_is_what_the_package_declares():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [Requirement(spec) for spec in project["dependencies"]]
    for extra in ("redis", "flask"):
        declared += [Requirement(spec) for spec in project["optional-dependencies"][extra]]
    runtime = requirements_txt(ROOT / "requirements" / "runtime.txt")
    assert {normalize(r.name): r.specifier for r in declared} == {
        name: r.specifier for name, r in runtime.items()}


def test_the_lessons_install_hint_names_the_conda_package_binder_installs():
    from chatlib.lesson.texts import CATALOGS

    for language, catalog in CATALOGS.items():
        conda = re.findall(r"conda install -c conda-forge ([\w-]+)", catalog["local_redis"]["missing"])
        assert conda and set(conda) <= BINDER_PROGRAMS, (language, conda)
