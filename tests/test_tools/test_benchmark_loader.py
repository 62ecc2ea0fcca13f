# Copyright (c) medvlp contributors. All rights reserved.
"""tools/analysis_tools/benchmark_loader.py prints per-stage costs and loader rates."""
import re

import pytest

from tool_calls import call_tool

pytestmark = pytest.mark.slow


def test_loader_benchmark_table():
    proc = call_tool('analysis_tools/benchmark_loader.py', '--num-samples', 12,
                     '--workers', 0, 1, '--size', 128, '--batch-size', 2)
    out = proc.stdout
    assert '12 real demo reports, JPEGs with a 128 px short side' in out
    stages = dict(re.findall(r'^(LoadCXRImage|CXRRandomResizedCrop|TokenizeReport|'
                             r'PackImageReportInputs)\s+(\d+)$', out, re.M))
    assert set(stages) == {'LoadCXRImage', 'CXRRandomResizedCrop', 'TokenizeReport',
                           'PackImageReportInputs'}
    assert all(int(v) > 0 for v in stages.values())
    rates = re.findall(r'DataLoader, (\d) worker\(s\)\s+(\d+) samples/s', out)
    assert [w for w, _ in rates] == ['0', '1'] and all(int(r) > 0 for _, r in rates)
