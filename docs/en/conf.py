# Sphinx configuration for medvlp's documentation:
#   pip install -r requirements/docs.txt && sphinx-build -b html docs/en docs/en/_build/html
import os.path as osp
import re

project = 'medvlp'
author = 'medvlp contributors'
copyright = '2026, medvlp contributors'
with open(osp.join(osp.dirname(__file__), '..', '..', 'medvlp', 'version.py')) as f:
    release = re.search(r"__version__ = '([^']+)'", f.read()).group(1)

extensions = ['myst_parser']
source_suffix = {'.md': 'markdown'}
master_doc = 'index'
exclude_patterns = ['_build']
myst_heading_anchors = 3
html_theme = 'alabaster'
