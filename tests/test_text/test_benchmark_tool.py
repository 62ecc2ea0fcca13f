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
                     r'\(steady state, median of 3 runs\) / [\d,]+ \(repeat, upper bound\)',
                     proc.stdout)
    # the steady-state runs time the half of the reports not processed before, in turn
    halves = re.findall(r'^steady state \d, unseen half after the other: (\d+) reports',
                        proc.stdout, re.M)
    assert halves == ['30', '30', '30']
    assert len(re.findall(r'^repeat \d, the same reports again: 60 reports', proc.stdout,
                          re.M)) == 2
    assert 'MeSH match + negation' in proc.stdout
    breakdown = proc.stdout.split('stage breakdown')[1]
    assert len(re.findall(r'^  garbage collection +\d+\.\d$', breakdown, re.M)) == 2
    assert re.search(r'^steady state 1 beside the stages \(CPU us per report\):\n'
                     r'  garbage collection +\d+\.\d\n'
                     r'  rest \(records, stages report by report\) +-?\d+\.\d$',
                     breakdown, re.M)
    assert len(re.findall(r'garbage collection \d+\.\d us per report\)$', proc.stdout,
                          re.M)) == 6  # cold, 3 steady-state runs, 2 repeats


def test_gc_timer_times_collections_only_while_active():
    import gc

    from .helpers import load_tool
    tool = load_tool('analysis_tools/benchmark_text_pipeline.py')
    callbacks = list(gc.callbacks)
    with tool.GcTimer() as timer:
        garbage = [[] for _ in range(200000)]
        for item in garbage:
            item.append(item)  # cycles: only the collector frees them
        del garbage, item
        gc.collect()
    assert timer.seconds > 0 and gc.callbacks == callbacks
    spent = timer.seconds
    gc.collect()
    assert timer.seconds == spent


def test_benchmark_needs_two_reports(openi_path):
    proc = run_tool_process('analysis_tools/benchmark_text_pipeline.py', '--reports',
                            openi_path, '--limit', '1')
    assert proc.returncode == 1 and 'at least 2 reports' in proc.stderr


def test_benchmark_missing_input(tmp_path):
    proc = run_tool_process('analysis_tools/benchmark_text_pipeline.py', '--reports',
                            tmp_path / 'missing.jsonl')
    assert proc.returncode == 1 and 'not found' in proc.stderr


def test_benchmark_pins_to_the_first_inherited_cpu(monkeypatch):
    """Under ``taskset -c 1`` the tool stays on CPU 1 (it never re-pins to CPU 0)."""
    import os

    from .helpers import load_tool
    tool = load_tool('analysis_tools/benchmark_text_pipeline.py')
    pinned = []
    monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: {1, 3}, raising=False)
    monkeypatch.setattr(os, 'sched_setaffinity', lambda pid, cpus: pinned.append(cpus),
                        raising=False)
    assert tool.pin_to_one_cpu() == 'pinned to CPU 1'
    assert pinned == [{1}]
