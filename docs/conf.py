"""Sphinx configuration: MyST Markdown pages, the furo theme, autodoc from docstrings."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import provisioning  # noqa: E402 - after the path set-up above

project = "provisioning"
author = "The provisioning authors"
copyright = "2026, The provisioning authors"
release = provisioning.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "rule_catalog",
    "template_columns",
]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "README.md"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"provisioning {release}"

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}
# attrs classes and re-exported names resolve through the public package.
nitpicky = False
suppress_warnings = ["myst.xref_missing"]
