# Copyright (c) medvlp contributors. All rights reserved.
"""tools/analysis_tools/benchmark_text_pipeline.py runs end to end and reports reports/s."""
import re

import pytest

from .helpers import run_tool_process


@pytest.mark.slow
def test_benchmark_prints_reports_per_second(openi_path):
    proc = run_tool_process('analysis_tools/benchmark_text_pipeline.py', '--reports',
                            openi_path, '--limit', '60', '--batch-size', '16')
    assert proc.returncode == 0, proc.stderr
    assert 'text pipeline benchmark: 60 reports' in proc.stdout
    assert re.search(r'reports/s per core: [\d,]+ \(cold\) / [\d,]+ '
                     r'\(warm, median of 3 passes\)', proc.stdout)
    assert 'MeSH match + negation' in proc.stdout


def test_benchmark_missing_input(tmp_path):
    proc = run_tool_process('analysis_tools/benchmark_text_pipeline.py', '--reports',
                            tmp_path / 'missing.jsonl')
    assert proc.returncode == 1 and 'not found' in proc.stderr
