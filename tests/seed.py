"""Where the reference lab is: ``shared/seed/kubelabs-pods101/`` beside the repository (as CI lays it
out), or beside the folder of worktrees that holds it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pods101() -> Path:
    """The Pods101 lab's folder, as its authors publish it (read as data, never copied here)."""
    for base in (ROOT.parent, ROOT.parent.parent):
        folder = base / "shared" / "seed" / "kubelabs-pods101"
        if folder.is_dir():
            return folder
    raise FileNotFoundError(f"shared/seed/kubelabs-pods101 is neither beside {ROOT} nor beside {ROOT.parent}")
