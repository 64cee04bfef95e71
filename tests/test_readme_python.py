"""The README's "Use from Python" snippet runs as written (in a scratch folder), so it cannot go stale."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_snippet() -> str:
    section = README.read_text().split("## Use from Python", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_use_from_python_snippet_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(python_snippet(), "README.md (Use from Python)", "exec"), namespace)
    assert namespace["happy"].shape == (4, 48, 48, 1)
    assert namespace["happy"].min() >= -1.0 and namespace["happy"].max() <= 1.0
    assert len(namespace["written"]["written"]) == 1 and Path(namespace["written"]["written"][0]).exists()
    report = namespace["report"]
    assert report["translations"] == 50 * 6 and 0.0 <= report["transfer_accuracy"] <= 1.0
    assert report["ground_truth_l1"]["translation"] > 0  # synthetic data: scored against the true translations
    assert (tmp_path / "runs" / "from-python" / "generator.keras").exists()
