"""Sphinx configuration of the contacts dashboard's documentation (`make docs`).

The build fetches nothing from the network: no intersphinx, no remote images, and Furo serves
its own fonts, styles and scripts from the built site.
"""

project = "Contacts dashboard"
author = "The contacts dashboard's maintainers"
copyright = "the contacts dashboard's maintainers"

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# Headings up to ### get anchors, so pages can link to a section: [text](page.md#anchor).
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

html_theme = "furo"
html_title = "Contacts dashboard"
html_static_path: list[str] = []
html_show_sphinx = False
html_copy_source = False
html_show_sourcelink = False
# Links between pages stay relative and work from the files themselves (file://).
html_theme_options = {"navigation_with_keys": True}
