"""The layout is the architecture: imports point down the layers only (docs/architecture.md),
and the command line answers --help without loading the heavy libraries."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parent.parent / "sim"

# Lowest first. A module may import from its own layer or a lower one.
LAYERS = {
    "sim": 0, "sim.errors": 0, "sim.data": 0,
    "sim.config": 1, "sim.theory.exact": 1,
    "sim.model": 2,
    "sim.results": 3,
    "sim.experiments": 4,
    "sim.planning": 5, "sim.theory.validation": 5,
    "sim.cli": 6,
}


def layer(module: str) -> int:
    """Rank of a dotted module: the longest prefix named in LAYERS."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        if name in LAYERS:
            return LAYERS[name]
    raise KeyError(f"{module} is in no layer of LAYERS")


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(SIM.rglob("*.py")):
        rel = path.relative_to(SIM.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out.append((".".join(parts), path))
    return out


def imported(path: Path) -> set[str]:
    """Every sim.* module that the file imports (at any depth of the file)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and (node.module == "sim" or node.module.startswith("sim.")):
            for alias in node.names:  # `from sim.model import routing` imports sim.model.routing
                sub = f"{node.module}.{alias.name}"
                found.add(sub if (SIM.parent / sub.replace(".", "/")).with_suffix(".py").exists()
                          else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name == "sim" or a.name.startswith("sim.")}
    return found


@pytest.mark.parametrize("module,path", modules(), ids=[m for m, _ in modules()])
def test_imports_point_down_the_layers(module, path):
    upward = sorted(m for m in imported(path) if layer(m) > layer(module))
    assert not upward, (f"{module} (layer {layer(module)}) imports from higher layers: "
                        + ", ".join(f"{m} (layer {layer(m)})" for m in upward))


def test_help_loads_no_heavy_library():
    """`run_sim.py --help` and `run --help` import neither pandas, matplotlib, scipy, dask,
    simpy nor pydantic (measured import sets, not times)."""
    heavy = ("pandas", "matplotlib", "scipy", "dask", "simpy", "pydantic", "numpy")
    code = ("import sys; from sim.cli import main\n"
            "for argv in (['--help'], ['run', '--help'], ['compare', '--help'], ['plot', '--help']):\n"
            "    try: main(argv)\n"
            "    except SystemExit: pass\n"
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=SIM.parent, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]", (
        f"heavy libraries imported by --help: {out.stdout.strip().splitlines()[-1]}")
