"""The committed sample files are exactly what examples/data/make_samples.py makes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "examples" / "data"


def test_samples_are_reproducible(tmp_path: Path) -> None:
    """Running the generator from an empty folder rewrites both files byte for byte."""
    subprocess.run(
        [sys.executable, str(DATA / "make_samples.py"), str(tmp_path)],
        cwd=tmp_path,
        check=True,
        timeout=60,
    )
    for name in ("community-upload.csv", "marketing-contacts.csv"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name
