# Copyright (c) medvlp contributors. All rights reserved.
"""tools/analysis_tools/benchmark_loader.py prints per-stage costs and loader rates."""
import re

import pytest

from tool_calls import call_tool

pytestmark = pytest.mark.slow


@pytest.mark.parametrize('fmt,kind', [('jpeg', 'JPEGs'), ('pgm', 'PGMs')])
def test_loader_benchmark_table(fmt, kind):
    proc = call_tool('analysis_tools/benchmark_loader.py', '--num-samples', 12,
                     '--workers', 0, 1, '--size', 128, '--batch-size', 2, '--passes', 3,
                     '--format', fmt)
    out = proc.stdout
    size = re.search(f'12 real demo reports, {kind} with a 128 px short side '
                     r'\((\d+\.\d) KB per file\)', out)
    # a greymap holds every pixel (at least 128 x 128 bytes); a JPEG is far smaller
    assert (float(size.group(1)) > 16.0) == (fmt == 'pgm'), size.group(0)
    assert '3 timed passes' in out
    stages = {name: (int(median), int(low), int(high)) for name, median, low, high in
              re.findall(r'^(LoadCXRImage|CXRRandomResizedCrop|TokenizeReport|'
                         r'PackImageReportInputs)\s+(\d+) \((\d+)-(\d+)\)$', out, re.M)}
    assert set(stages) == {'LoadCXRImage', 'CXRRandomResizedCrop', 'TokenizeReport',
                           'PackImageReportInputs'}
    assert all(0 < low <= median <= high for median, low, high in stages.values())
    rows = re.findall(r'^(\d) worker\(s\)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$', out, re.M)
    assert [row[0] for row in rows] == ['0', '1']
    (_, rate0, worker0, per_cpu0, main0), (_, rate1, worker1, per_cpu1, main1) = rows
    assert int(worker0) == 0 and int(main0) > 0  # no worker: the main process works
    assert int(worker1) > 0 and all(int(v) > 0 for v in (rate0, rate1, per_cpu0, per_cpu1))
    # a worker's CPU per sample and its rate per CPU second are the same figure
    assert abs(1e6 / int(worker1) - int(per_cpu1)) <= 0.01 * int(per_cpu1) + 1


def test_loader_benchmark_needs_a_timed_epoch():
    proc = call_tool('analysis_tools/benchmark_loader.py', '--loader-epochs', 1, check=False)
    assert proc.returncode != 0 and '--loader-epochs must be at least 2' in proc.stderr
