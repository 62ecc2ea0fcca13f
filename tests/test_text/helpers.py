# Copyright (c) medvlp contributors. All rights reserved.
"""Shared constants and helpers of the report-text tests."""
import importlib.util
import os
import pathlib
import subprocess
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]

#: A report in MIMIC-CXR's raw .txt layout (banner, indented headers, blank-line paragraphs).
MIMIC_REPORT = (
    '                                 FINAL REPORT\n'
    ' EXAMINATION:  CHEST (PA AND LAT)\n'
    ' \n'
    ' INDICATION:  ___F with new onset ascites  // eval for infection\n'
    ' \n'
    ' COMPARISON:  ___\n'
    ' \n'
    ' FINDINGS: \n'
    ' \n'
    ' PA and lateral views of the chest provided.   There is no focal consolidation,\n'
    ' effusion, or pneumothorax.  The cardiomediastinal silhouette is normal.  Imaged\n'
    ' osseous structures are intact.  No free air below the right hemidiaphragm is\n'
    ' seen.\n'
    ' \n'
    ' IMPRESSION: \n'
    ' \n'
    ' 1. Small left pleural effusion.  2. No pneumothorax.\n')


def load_tool(relative_path: str):
    """Import a script from tools/ as a module (its main(argv) returns the exit status)."""
    path = REPO_ROOT / 'tools' / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool_process(relative_path: str, *args, timeout: int = 300):
    """Run a script from tools/ in a subprocess; return the CompletedProcess."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, str(REPO_ROOT / 'tools' / relative_path)]
                          + [str(arg) for arg in args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
