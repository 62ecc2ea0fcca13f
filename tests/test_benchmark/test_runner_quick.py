# Copyright (c) medvlp contributors. All rights reserved.
"""``tools/benchmark.py --preset cxr-mini --quick`` end to end on the real covid-cxr data.

One quick run of the preset (every method and task, one seed, two cells at a time, tools
forked from the runner), then a second invocation that must run nothing, then a spec with
a broken method (new interpreters, one cell at a time) whose cells fail while the others
stay.
"""
import csv
import json

import pytest

pytestmark = pytest.mark.slow

METHODS = ('random', 'mae', 'medim', 'medim_random_masks', 'mrm', 'joimternet')
TASKS = ('covid_linear_probe', 'covid_finetune', 'lung_frozen', 'lung_finetune')
RETRIEVAL = ('medim', 'medim_random_masks', 'joimternet')
CELLS = len(METHODS) - 1 + len(METHODS) * len(TASKS) + len(RETRIEVAL)


def _records(work):
    return {p.parent.relative_to(work / 'cells').as_posix(): json.loads(p.read_text())
            for p in (work / 'cells').rglob('record.json')}


def test_quick_preset_resume_and_failed_cell(shared_data, run_tool, repo_root, tmp_path):
    work = tmp_path / 'bench'
    env = {'MEDVLP_SHARED_DATA': str(shared_data)}
    quick = ('--preset', 'cxr-mini', '--quick', '--work-dir', work)
    proc = run_tool('benchmark.py', *quick, '--jobs', '2', env=env)
    assert f'benchmark: {CELLS} cells, 0 already done, {CELLS} to run' in proc.stdout
    assert f'[{CELLS}/{CELLS}]' in proc.stdout and 'ETA' in proc.stdout
    records = _records(work)
    assert len(records) == CELLS
    assert {r['status'] for r in records.values()} == {'done'}, \
        {k: r.get('error') for k, r in records.items() if r['status'] != 'done'}
    pre = records['pretrain/medim/seed0']
    assert len(pre['checkpoint_sha256']) == 64
    ft = records['covid_finetune/medim/100pct/seed0']
    assert ft['init_checkpoint_sha256'] == pre['checkpoint_sha256']
    assert ft['seed'] == 0 and ft['wall_s'] > 0 and len(ft['config_sha256']) == 64
    assert '--test-out' in ft['commands'][0] and len(ft['commands']) == 1
    assert 'randomness.seed=0' in ft['commands'][0]
    assert records['covid_finetune/random/100pct/seed0']['init_checkpoint'] is None
    # retrieval tests the pre-trained checkpoint itself, on the held-out pairs
    ret = records['retrieval/joimternet/100pct/seed0']
    assert ret['tested_checkpoint_sha256'] == \
        records['pretrain/joimternet/seed0']['checkpoint_sha256']
    assert 0 <= ret['metrics']['retrieval/i2t_R@10'] <= 100
    assert 'retrieval/mae/100pct/seed0' not in records
    assert 0 < records['lung_frozen/mae/100pct/seed0']['metrics']['fg_dice'] <= 100
    md = (work / 'results.md').read_text()
    for task in TASKS:
        assert f'## {task}:' in md
    rows = [line for line in md.splitlines() if line.startswith('| ')]
    for method in METHODS:
        assert sum(r.startswith(f'| {method} |') and '(n=1)' in r for r in rows) >= 4, md
    assert (work / 'results.png').stat().st_size > 10_000
    table = list(csv.DictReader((work / 'results.csv').open()))
    assert {r['method'] for r in table if r['metric'] == 'cls/auc'} == set(METHODS)

    # a second invocation runs no cell again
    stamps = {k: r['finished_at'] for k, r in records.items()}
    proc = run_tool('benchmark.py', *quick, env=env)
    assert f'benchmark: {CELLS} cells, {CELLS} already done, 0 to run' in proc.stdout
    assert {k: r['finished_at'] for k, r in _records(work).items()} == stamps

    # a method whose checkpoint is not a checkpoint: its cells fail, the table says so,
    # and the finished cells are neither rerun nor lost
    bad = tmp_path / 'not_a_checkpoint.pth'
    bad.write_text('no weights here\n')
    spec = tmp_path / 'with_broken.py'
    lung_frozen = ('configs/benchmarks/cxr_mini/'
                   'seg_upernet_vit-tiny-p16_frozen_1xb8-120it_cxr-mini.py')
    spec.write_text(
        f"_base_ = ['{repo_root}/configs/benchmarks/specs/cxr_mini.py']\n"
        f"methods = dict(_delete_=True, random=None, broken=dict(checkpoint='{bad}'))\n"
        f"tasks = dict(_delete_=True, lung_frozen=dict(configs={{1.0: '{lung_frozen}'}}, "
        "metrics=['fg_dice'], test_in_train=True))\n"
        "prepare = []\n")  # the data is there from the first run
    proc = run_tool('benchmark.py', spec, '--quick', '--work-dir', work, '--no-fork',
                    env=env)
    assert 'benchmark: 2 cells, 1 already done, 1 to run' in proc.stdout
    assert 'lung_frozen/broken/100pct/seed0: failed: train.py exited 2' in proc.stdout
    assert '1 cell(s) failed' in proc.stdout
    md = (work / 'results.md').read_text()
    assert '| broken | failed (1) |' in md
    assert {k: r['finished_at'] for k, r in _records(work).items() if k in stamps} == stamps
