"""The drift check: generated_client/ is exactly what ./generate.sh makes from openapi.yaml, a
second run changes nothing, and a property added to the spec reaches the model with no other step.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.spec_schema import load_spec, seed_example

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "generated_client"
PACKAGE = "llamacloud_batch_api"
# What generate.sh reads; a copy of these is a fresh clone as far as generation goes.
GENERATOR_INPUTS = (
    "generate.sh",
    "openapi.yaml",
    "openapi-python-client.yaml",
    "pyproject.toml",
    "generator_templates",
)
GENERATE_TIMEOUT_S = 300.0


def _tool_env() -> dict[str, str]:
    """This interpreter's environment first on PATH, so generate.sh finds its pinned tools."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _run(args: list[str], *, cwd: Path) -> str:
    result = subprocess.run(
        args,
        cwd=cwd,
        env=_tool_env(),
        capture_output=True,
        text=True,
        timeout=GENERATE_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, (
        f"{' '.join(args)} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result.stdout


def _generate(*args: str, root: Path = ROOT) -> None:
    _run([str(root / "generate.sh"), *args], cwd=root)


def _files(root: Path) -> dict[str, bytes]:
    # Bytecode appears whenever the editable install imports the package; it is never committed.
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def tree_differences(committed: Path, generated: Path) -> list[str]:
    """One line per file that differs between the two trees, naming it, with a short diff."""
    have, want = _files(committed), _files(generated)
    only_generated, only_committed = sorted(want.keys() - have), sorted(have.keys() - want)
    problems = [f"missing (generated, not committed): {name}" for name in only_generated]
    problems += [f"extra (committed, not generated): {name}" for name in only_committed]
    for name in sorted(have.keys() & want.keys()):
        if have[name] != want[name]:
            diff = difflib.unified_diff(
                have[name].decode(errors="replace").splitlines(),
                want[name].decode(errors="replace").splitlines(),
                "committed/" + name,
                "generated/" + name,
                lineterm="",
                n=1,
            )
            excerpt = "\n    ".join(list(diff)[:20])
            problems.append(f"differs: {name}\n    {excerpt}")
    return problems


def check_types_strictly(package: Path, scratch: Path) -> None:
    """mypy --strict on a generated package outside the checkout (the committed one is checked
    by `make typecheck`); a cache in `scratch` keeps the run from touching the checkout's."""
    _run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(scratch / "mypy_cache"),
            str(package),
        ],
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def fresh_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    _generate("--output", str(out))
    return out


def test_committed_client_is_what_the_spec_generates(fresh_output: Path) -> None:
    problems = tree_differences(COMMITTED, fresh_output)
    assert not problems, (
        "generated_client/ differs from what ./generate.sh makes of openapi.yaml; "
        "run ./generate.sh (or make generate) and commit the result:\n" + "\n".join(problems)
    )


def test_generated_folder_says_it_is_generated(fresh_output: Path) -> None:
    readme = (fresh_output / "README.md").read_text(encoding="utf-8")
    assert "./generate.sh" in readme
    assert "do not edit" in readme.lower()
    assert (fresh_output / PACKAGE / "py.typed").is_file()


# The committed package is type-checked by `make typecheck` (mypy --strict), and the test above
# proves it byte-for-byte equal to fresh output, so checking fresh output again would only repeat
# it (about 4 s of a cold mypy run). The spec-changed output below is what nothing else checks.


def test_tree_differences_names_missing_extra_and_differing_files(tmp_path: Path) -> None:
    committed, generated = tmp_path / "committed", tmp_path / "generated"
    for root in (committed, generated):
        (root / "pkg" / "__pycache__").mkdir(parents=True)
        (root / "pkg" / "same.py").write_text("x = 1\n")
    (committed / "pkg" / "changed.py").write_text("a = 1\n")
    (generated / "pkg" / "changed.py").write_text("a = 2\n")
    (committed / "pkg" / "hand_written.py").write_text("")
    (generated / "pkg" / "new_model.py").write_text("")
    (committed / "pkg" / "__pycache__" / "same.cpython-311.pyc").write_bytes(b"\0")

    problems = tree_differences(committed, generated)

    assert [line.splitlines()[0] for line in problems] == [
        "missing (generated, not committed): pkg/new_model.py",
        "extra (committed, not generated): pkg/hand_written.py",
        "differs: pkg/changed.py",
    ]
    assert "-a = 1" in problems[2]
    assert "+a = 2" in problems[2]
    assert tree_differences(committed, committed) == []


def _git(clone: Path, *args: str) -> str:
    identity = ["-c", "user.name=drift-test", "-c", "user.email=drift-test@localhost"]
    return _run(["git", *identity, "-c", "commit.gpgsign=false", *args], cwd=clone)


def test_generating_twice_in_place_leaves_git_status_clean(tmp_path: Path) -> None:
    """Runs the in-place mode (the one `make generate` uses) in a throwaway clone, never in the
    working tree, so the test cannot rewrite anyone's checkout."""
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in GENERATOR_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, clone / name)
        else:
            shutil.copy2(ROOT / name, clone / name)
    shutil.copytree(
        COMMITTED, clone / "generated_client", ignore=shutil.ignore_patterns("__pycache__")
    )
    _git(clone, "init", "--quiet")
    _git(clone, "add", "--all")
    _git(clone, "commit", "--quiet", "--message", "committed state")

    for run in (1, 2):
        _generate(root=clone)
        status = _git(
            clone, "status", "--porcelain", "--untracked-files=all", "--", "generated_client"
        )
        assert status == "", f"after run {run} of ./generate.sh, git status shows:\n{status}"


NEW_PROPERTY = "queue_position"


def test_property_added_to_job_reaches_the_generated_model(tmp_path: Path) -> None:
    spec = load_spec()
    spec["components"]["schemas"]["Job"]["properties"][NEW_PROPERTY] = {
        "type": ["integer", "null"],
        "format": "int64",
        "description": "Jobs ahead of this one in the queue.",
    }
    spec_path = tmp_path / "openapi.yaml"
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"

    _generate("--spec", str(spec_path), "--output", str(out))

    changed = [line.splitlines()[0] for line in tree_differences(COMMITTED, out)]
    assert changed == [f"differs: {PACKAGE}/models/job.py"]

    # A subprocess, because this process has already imported the installed package.
    payload = seed_example()
    payload["job"][NEW_PROPERTY] = 3
    probe = (
        "import json, sys\n"
        f"import {PACKAGE} as package\n"
        f"from {PACKAGE}.models import BatchGetStatusResponse\n"
        "parsed = BatchGetStatusResponse.from_dict(json.loads(sys.argv[1]))\n"
        "print(json.dumps({'file': package.__file__,\n"
        f"    'value': parsed.job.{NEW_PROPERTY},\n"
        "    'extra': parsed.job.additional_properties,\n"
        f"    'dumped': parsed.to_dict()['job']['{NEW_PROPERTY}']}}))\n"
    )
    env_path = [str(out), os.environ.get("PYTHONPATH", "")]
    result = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(payload)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, env_path))},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert Path(seen["file"]).is_relative_to(out)
    assert seen == {"file": seen["file"], "value": 3, "extra": {}, "dumped": 3}

    # The spec-changed package must still pass mypy --strict.
    check_types_strictly(out / PACKAGE, tmp_path)
