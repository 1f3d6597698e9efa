"""Execute every example notebook top to bottom; any cell error fails the test.

The kernel is started with this interpreter (``sys.executable``), through a
kernel spec written to a temporary directory, so the notebooks see the same
environment as the tests whatever kernels are installed for the user.
"""

from __future__ import annotations

import json
import pathlib
import sys

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

pytestmark = pytest.mark.slow  # a Jupyter kernel per notebook (make test-fast leaves it out)

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[2] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
KERNEL = "appstats-test"
CELL_TIMEOUT = 120


@pytest.fixture(scope="session")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    root = tmp_path_factory.mktemp("kernels")
    spec = root / KERNEL
    spec.mkdir()
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "appstats (test)",
                "language": "python",
                # The notebooks pick their own backend; keep a stray plt.show() headless too.
                "env": {"MPLBACKEND": "Agg"},
            }
        ),
        encoding="utf-8",
    )
    return root


def test_notebooks_exist() -> None:
    names = {p.name for p in PATHS}
    assert {"baidu.ipynb", "mta.ipynb", "tim.ipynb", "tour.ipynb"} <= names


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs(path: pathlib.Path, kernel_dir: pathlib.Path) -> None:
    nb = nbformat.read(path, as_version=4)
    # Stored without outputs, so the diff stays readable.
    stored = [c for c in nb.cells if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not stored, f"{path.name}: clear the outputs before committing"

    km = KernelManager(
        kernel_name=KERNEL, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)])
    )
    client = nbclient.NotebookClient(
        nb,
        km=km,
        timeout=CELL_TIMEOUT,
        allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert not errors
