# Copyright (c) medvlp contributors. All rights reserved.
"""``tools/benchmark.py --preset quick`` end to end on the real covid-cxr data.

One run of the preset (random init and one MedIM demo epoch; COVID-19-vs-other fine-tune
AUC, a few iterations), then a second invocation that must run nothing, then a spec with a
broken method whose cell fails while the others stay.
"""
import csv
import json

import pytest

pytestmark = pytest.mark.slow


def _records(work):
    return {p.parent.relative_to(work / 'cells').as_posix(): json.loads(p.read_text())
            for p in (work / 'cells').rglob('record.json')}


def test_quick_preset_resume_and_failed_cell(shared_data, run_tool, tmp_path):
    work = tmp_path / 'bench'
    env = {'MEDVLP_SHARED_DATA': str(shared_data)}
    proc = run_tool('benchmark.py', '--preset', 'quick', '--work-dir', work, env=env)
    assert 'benchmark: 3 cells, 0 already done, 3 to run' in proc.stdout
    assert '[3/3]' in proc.stdout and 'ETA' in proc.stdout
    records = _records(work)
    assert {r['status'] for r in records.values()} == {'done'}, \
        {k: r.get('error') for k, r in records.items()}
    pre = records['pretrain/medim/seed0']
    assert len(pre['checkpoint_sha256']) == 64
    ft = records['covid_ft/medim/100pct/seed0']
    assert ft['init_checkpoint_sha256'] == pre['checkpoint_sha256']
    assert ft['seed'] == 0 and ft['wall_s'] > 0 and len(ft['config_sha256']) == 64
    assert 'randomness.seed=0' in ft['commands'][0]
    assert records['covid_ft/random/100pct/seed0']['init_checkpoint'] is None
    md = (work / 'results.md').read_text()
    assert '## covid_ft: cls/auc' in md
    rows = [line for line in md.splitlines() if line.startswith(('| random |', '| medim |'))]
    assert len(rows) == 2 and all('(n=1)' in r for r in rows), md
    assert (work / 'results.png').stat().st_size > 10_000
    table = list(csv.DictReader((work / 'results.csv').open()))
    assert {(r['task'], r['method']) for r in table if r['metric'] == 'cls/auc'} == \
        {('covid_ft', 'random'), ('covid_ft', 'medim')}

    # a second invocation runs no cell again
    stamps = {k: r['finished_at'] for k, r in records.items()}
    proc = run_tool('benchmark.py', '--preset', 'quick', '--work-dir', work, env=env)
    assert 'benchmark: 3 cells, 3 already done, 0 to run' in proc.stdout
    assert {k: r['finished_at'] for k, r in _records(work).items()} == stamps

    # a method whose checkpoint is not a checkpoint: its cell fails, the table says so,
    # and the finished cells are neither rerun nor lost
    bad = tmp_path / 'not_a_checkpoint.pth'
    bad.write_text('no weights here\n')
    spec = tmp_path / 'with_broken.py'
    spec.write_text(f"_base_ = ['{run_tool.__globals__['REPO_ROOT']}/configs/benchmarks/"
                    f"specs/quick_demo.py']\nmethods = dict(broken=dict(checkpoint='{bad}'))\n")
    proc = run_tool('benchmark.py', spec, '--work-dir', work, env=env)
    assert 'benchmark: 4 cells, 3 already done, 1 to run' in proc.stdout
    assert 'covid_ft/broken/100pct/seed0: failed: train.py exited 2' in proc.stdout
    assert '1 cell(s) failed' in proc.stdout
    md = (work / 'results.md').read_text()
    assert '| broken | failed (1) |' in md
    assert {k: r['finished_at'] for k, r in _records(work).items() if k in stamps} == stamps
