"""The engine never imports Streamlit (or Plotly): the writer knows nothing of the viewer."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import gancore


def test_importing_every_engine_module_loads_no_viewer_library() -> None:
    modules = [m.name for m in pkgutil.walk_packages(gancore.__path__, "gancore.")]
    code = ("import importlib, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "print(sorted(m for m in ('streamlit', 'plotly') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "gancore.evaluate.evaluator" in modules and "gancore.__main__" in modules
    assert result.stdout.strip() == "[]"
