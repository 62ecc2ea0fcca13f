# Copyright (c) medvlp contributors. All rights reserved.
"""tools/analysis_tools/benchmark_train.py prints its table (shape, not speeds), and
tools/analysis_tools/gpu_throughput.sh runs it as the GPU measurement would."""
import gzip
import json
import re

import pytest

from tool_calls import call_tool

pytestmark = pytest.mark.slow
COLUMNS = ['model', 'step ms', 'img/s', 'GFLOP/img', 'vs MAE', 'MFU', 'syncs', 'peak MiB',
           'max batch']


def test_cpu_table_for_algorithms_and_mae(tmp_path):
    proc = call_tool('analysis_tools/benchmark_train.py', '--models', 'mrm', 'joimternet',
                     'mae', '--batch-size', 2, '--iters', 1, '--warmup', 0, '--words', 10,
                     '--peak-tflops', 1.0, '--mlm-select', 'static', '--markdown',
                     '--profile', tmp_path / 'traces', '--profile-steps', 1, '--top', 3)
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
    # a line per model as it ends (kept when a time limit stops the run)
    assert re.findall(r'^benchmark_train: (\S+) measured in \d+ s: [\d.]+ ms per step',
                      proc.stderr, re.M) == ['mrm', 'joimternet', 'mae']
    _check_markdown(lines, rows)
    _check_profiles(proc.stdout, tmp_path / 'traces', ['mrm', 'joimternet', 'mae'], top=3)


def _check_markdown(lines, rows):
    """The rows of docs/en/benchmarks.md's GPU table, from the same figures."""
    start = lines.index('| GPU | algorithm | batch | img/s | MFU | peak memory | commit |')
    assert lines[start + 1] == '| --- | --- | --- | --- | --- | --- | --- |'
    for line, (name, cells) in zip(lines[start + 2:start + 5], rows.items()):
        device, algorithm, batch, img_s, mfu, memory, commit = line.strip('|').split(' | ')
        assert (device.strip(), algorithm, batch, memory) == ('CPU', f'{name} (fp32)', '2',
                                                                '-'), line
        assert abs(int(img_s) - float(cells[1])) <= 0.55 and mfu == cells[4][:-1] + ' %', line
        assert re.fullmatch(r'[0-9a-f]{7,}(-dirty)?|unknown', commit.strip()), line


def _check_profiles(out, folder, names, top, steps=1):
    """Per model: the step's wall time, the operators' share of it, the top operators, and
    a trace Perfetto can read."""
    for name in names:
        block = out.split(f'profile {name}: {steps} steps, ')[1].split('\nprofile ')[0]
        wall = float(block.split(' ms per step')[0])
        busy, share = re.search(r'CPU operators: ([\d.]+) ms per step, (\d+) % of the step',
                                block).groups()
        assert 0 < float(busy) <= wall * 1.05 and abs(100 * float(busy) / wall -
                                                       int(share)) <= 1, block
        ops = re.findall(r'^    (\S+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)%$', block, re.M)
        assert len(ops) == top and any(op[0].startswith('aten::') for op in ops), block
        times = [float(op[2]) for op in ops]
        assert times == sorted(times, reverse=True), block
        with gzip.open(folder / f'{name}.json.gz', 'rt') as f:
            events = json.load(f)['traceEvents']
        assert any(e.get('name', '').startswith('aten::') for e in events)


def test_unknown_model_is_a_usage_error():
    proc = call_tool('analysis_tools/benchmark_train.py', '--models', 'clip', check=False)
    assert proc.returncode == 2 and "unknown models ['clip']" in proc.stderr


def test_gpu_script_dry_run_on_the_cpu(run_tool, tmp_path):
    """The prepared GPU script, its parts and files, on the CPU with a tiny model."""
    out = tmp_path / 'gpu'
    proc = run_tool('analysis_tools/gpu_throughput.sh', out, env=dict(
        DEVICE='cpu', SIZE='tiny', BATCH='2', MODELS='mae', ITERS='1', WARMUP='0',
        PARTS='eager max-batch nonsense'), check=False)
    assert proc.returncode == 1, proc.stdout  # the unknown part, only
    assert "unknown part 'nonsense'" in proc.stdout
    assert '== done: ' in proc.stdout and '1 part(s) failed' in proc.stdout
    eager = (out / 'eager.txt').read_text()
    assert 'amp=bf16' in eager and '| CPU | mae (bf16) | 2 |' in eager
    _check_profiles(eager, out / 'traces', ['mae'], top=12, steps=3)
    assert 'max batch' in (out / 'max-batch.txt').read_text()
    assert (out / 'commit.txt').read_text().strip()
    assert (out / 'nvidia-smi.txt').exists()
