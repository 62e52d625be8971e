"""Every Python block of the README runs, as a user would paste it, against a sandbox with the
demo account: a README example that breaks fails this test."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, List

import pytest

from conftest import ROOT

# Appended to a block that defines `async def main()`, as its user would run it.
RUN_MAIN = "\n\nimport asyncio as _asyncio\nif 'main' in globals():\n    _asyncio.run(main())\n"


def python_blocks() -> List[str]:
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"^```python\n(.*?)^```", readme, flags=re.S | re.M)


def test_the_readme_has_python_examples() -> None:
    assert len(python_blocks()) >= 3


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_readme_python_block_runs(index: int, start_sandbox: Any, tmp_path: Path) -> None:
    block = python_blocks()[index]
    sandbox = start_sandbox("--rate-limits", "off", "--seed-data", "demo")
    env = {**os.environ, "KLAVIYO_API_KEY": sandbox.key, "KLAVIYO_BASE_URL": sandbox.url}
    script = tmp_path / f"test_readme_block_{index}.py"
    if "def test_" in block:
        # A block that shows pytest tests runs under pytest, with the package's fixtures.
        script.write_text(block)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(script)]
    else:
        script.write_text(block + RUN_MAIN)
        command = [sys.executable, str(script)]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"README python block {index} failed:\n{block}\n---\n{done.stdout}\n{done.stderr}"
