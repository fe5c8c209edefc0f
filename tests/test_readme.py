"""The README's library example runs and prints what the README says it prints."""

import pathlib
import re
import subprocess
import sys

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_example_recovers():
    example = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    result = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "alice got: realtime" in result.stdout
    assert "recovered: True same id: True" in result.stdout
