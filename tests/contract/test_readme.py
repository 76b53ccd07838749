"""The README's Python examples: every block compiles, and the self-contained ones run.

A block that builds its own `Sandbox()` needs no account, so it is executed as written;
the others talk to the real service and are only compiled.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_compiles(source: str) -> None:
    compile(source, str(README), "exec")


RUNNABLE = [block for block in BLOCKS if "Sandbox()" in block]


@pytest.mark.parametrize("source", RUNNABLE, ids=[f"sandbox{i}" for i in range(len(RUNNABLE))])
def test_readme_sandbox_example_runs(source: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(source, str(README), "exec"), {"__name__": "readme_example"})
    assert capsys.readouterr().out.strip(), "each runnable example prints what it shows"
