# Copyright (c) medvlp contributors. All rights reserved.
"""tools/analysis_tools/benchmark_train.py prints its table (shape, not speeds)."""
import pytest

from tool_calls import call_tool

pytestmark = pytest.mark.slow
COLUMNS = ['model', 'step ms', 'img/s', 'GFLOP/img', 'vs MAE', 'MFU', 'syncs', 'peak MiB',
           'max batch']


def test_cpu_table_for_algorithms_and_mae():
    proc = call_tool('analysis_tools/benchmark_train.py', '--models', 'mrm', 'joimternet',
                     'mae', '--batch-size', 2, '--iters', 1, '--warmup', 0, '--words', 10,
                     '--peak-tflops', 1.0, '--mlm-select', 'static')
    lines = proc.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith('benchmark_train:'))
    assert 'tiny size, 96 px ViT input, 10 words, batch 2, CPU' in lines[start]
    assert lines[start - 1].startswith('machine: ') and 'torch' in lines[start - 1]
    header = lines[start + 1]
    for name in COLUMNS:
        assert name in header, name
    rows = {line.split()[0]: line.split()[1:] for line in lines[start + 2:start + 5]}
    assert set(rows) == {'mrm', 'joimternet', 'mae'}
    for name, cells in rows.items():
        step_ms, img_s, gflop, ratio, mfu, syncs, peak_mib, max_batch = cells
        assert float(step_ms) > 0 and float(img_s) > 0 and float(gflop) > 0, name
        assert mfu.endswith('%') and peak_mib == '-' and max_batch == '-', name
        assert (ratio == '-') == (name == 'mae'), name
        assert int(syncs) == 0, f'{name} synchronises the host {syncs} times per step'
    # the algorithms with a text branch cost more FLOPs per image than MAE
    assert float(rows['mrm'][2]) > float(rows['mae'][2])


def test_unknown_model_is_a_usage_error():
    proc = call_tool('analysis_tools/benchmark_train.py', '--models', 'clip', check=False)
    assert proc.returncode == 2 and "unknown models ['clip']" in proc.stderr
