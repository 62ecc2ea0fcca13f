# Copyright (c) medvlp contributors. All rights reserved.
"""Benchmark scripts name the machine (CPU model, CPUs, torch threads) before their figures."""
import pytest

from medvlp.utils.sysinfo import cpu_model, machine_summary
from tool_calls import call_tool


def test_machine_summary_names_the_cpu_and_threads():
    summary = machine_summary()
    assert summary.startswith(cpu_model()) and 'CPUs usable' in summary
    assert 'thread(s)' in summary and cpu_model() != ''


@pytest.mark.slow
def test_mask_generator_benchmark_prints_the_machine_first():
    proc = call_tool('analysis_tools/benchmark_mask_generator.py', '--batch', 2, '--words', 8,
                     '--patches', 16, '--warmup', 0, '--repeats', 1, '--calls', 1)
    first = proc.stdout.splitlines()[0]
    assert first.startswith(f'machine: {cpu_model()}, ') and 'torch' in first
