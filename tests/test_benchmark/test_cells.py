# Copyright (c) medvlp contributors. All rights reserved.
"""Spec features of the benchmark runner: task method lists, tests of the pre-trained
model, quick settings, and the order in which parallel cells start (no training here)."""
import json
import os
import threading
import time

import pytest

from medvlp.benchmark import BenchmarkRunner, load_spec, plan_cells
from medvlp.benchmark.cells import apply_quick
from medvlp.utils.cli import UserError

CLS = 'configs/benchmarks/classification/covid/vit-tiny-p16_ft_1xb16-60_covid-demo.py'
PRE = 'configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py'
SPEC = f"""
methods = dict(random=None, a=dict(config='{PRE}', cfg_options=['x=1']),
               b=dict(config='{PRE}'))
tasks = dict(
    cls=dict(configs={{1.0: '{CLS}'}}, metrics=['cls/auc'], test_in_train=True),
    ret=dict(on_pretrained=True, methods=['a'], metrics=['retrieval/i2t_R@1']))
seeds = [0, 1]
quick = dict(seeds=[0], method_options=['train_cfg.max_epochs=1'],
             task_options=['train_cfg.max_iters=4'])
"""


def _spec(tmp_path, text=SPEC):
    path = tmp_path / 'spec.py'
    path.write_text(text)
    return str(path)


def test_task_methods_and_tests_of_the_pretrained_model(tmp_path, repo_root):
    cells = plan_cells(load_spec(_spec(tmp_path), str(repo_root)))
    ids = [c.id for c in cells]
    # pre-training seed-major, then downstream; 'ret' only for method a
    assert ids[:4] == ['pretrain/a/seed0', 'pretrain/b/seed0', 'pretrain/a/seed1',
                       'pretrain/b/seed1']
    assert [i for i in ids if i.startswith('ret/')] == ['ret/a/100pct/seed0',
                                                        'ret/a/100pct/seed1']
    ret = next(c for c in cells if c.id == 'ret/a/100pct/seed0')
    assert ret.config == PRE  # the method's own config is tested
    cls = next(c for c in cells if c.id == 'cls/b/100pct/seed1')
    assert cls.task.test_in_train and cls.config == CLS


def test_quick_settings(tmp_path, repo_root):
    spec = apply_quick(load_spec(_spec(tmp_path), str(repo_root)))
    assert spec.seeds == [0]
    assert spec.methods.a.cfg_options == ['x=1', 'train_cfg.max_epochs=1']
    assert spec.methods.random is None
    assert spec.tasks.cls.cfg_options == ['train_cfg.max_iters=4']
    assert len([c for c in plan_cells(spec) if c.kind == 'pretrain']) == 2
    no_quick = SPEC[:SPEC.index('quick =')]
    with pytest.raises(UserError, match='no quick settings'):
        apply_quick(load_spec(_spec(tmp_path, no_quick), str(repo_root)))


@pytest.mark.parametrize('change, message', [
    ("tasks['ret']['methods'] = ['zz']", r"methods \['zz'\] are not in the spec"),
    ("tasks['ret']['methods'] = ['random']", 'no pre-training config to test'),
    (f"tasks['ret']['configs'] = {{1.0: '{CLS}'}}", 'takes no configs'),
    ("tasks['cls']['test_after'] = True", r"unknown keys \['test_after'\]"),
])
def test_bad_task_settings_are_named(tmp_path, repo_root, change, message):
    with pytest.raises(UserError, match=message):
        load_spec(_spec(tmp_path, SPEC + change + '\n'), str(repo_root))


def test_parallel_cells_wait_for_their_pretraining(tmp_path, repo_root, monkeypatch):
    runner = BenchmarkRunner(_spec(tmp_path), str(tmp_path / 'work'), root=str(repo_root),
                             jobs=2, log=lambda _: None)
    if 'OMP_NUM_THREADS' not in os.environ:  # each of 2 jobs gets half the cores
        assert runner.env['OMP_NUM_THREADS'] == str(max(1, (os.cpu_count() or 1) // 2))
    events, lock = [], threading.Lock()

    def fake_run_cell(cell):
        with lock:
            events.append(('start', cell.id))
        time.sleep(0.05 if cell.kind == 'downstream' else 0.2)
        with lock:
            events.append(('end', cell.id))
        record = dict(id=cell.id, kind=cell.kind, status='done', wall_s=0.1,
                      method=cell.method.name, seed=cell.seed, fraction=cell.fraction,
                      task=cell.task.name if cell.task else None, metrics={})
        runner._write_record(cell, record)
        return record

    monkeypatch.setattr(runner, 'run_cell', fake_run_cell)
    runner.run()
    order = {event: i for i, event in enumerate(events)}
    for cell in runner.cells:
        if cell.kind == 'downstream' and cell.method.pretrains:
            pre = f'pretrain/{cell.method.name}/seed{cell.seed}'
            assert order[('start', cell.id)] > order[('end', pre)], cell.id
    # two at a time: some cell started while another was running
    running, most = 0, 0
    for kind, _ in events:
        running += 1 if kind == 'start' else -1
        most = max(most, running)
    assert most == 2
    runs = [json.loads(line) for line in
            (tmp_path / 'work' / 'runs.jsonl').read_text().splitlines()]
    assert len(runs) == 1 and runs[0]['cells_run'] == len(runner.cells)
    assert runs[0]['jobs'] == 2 and runs[0]['code'] and runs[0]['wall_s'] > 0


def test_eta_counts_each_kind_of_cell_at_its_own_pace(tmp_path, repo_root):
    from medvlp.benchmark.runner import _eta
    cells = plan_cells(load_spec(_spec(tmp_path), str(repo_root)))
    pre = [c for c in cells if c.kind == 'pretrain']
    cls = [c for c in cells if c.kind == 'downstream' and c.task.name == 'cls']
    ret = [c for c in cells if c.kind == 'downstream' and c.task.name == 'ret']
    spent = {'pretrain/a': [600.0], 'cls': [20.0, 40.0]}
    # b's pre-training and the retrieval cells have no finished cell of their kind: the
    # mean of all finished cells (220 s) stands in for them
    assert _eta(spent, pre[1:2] + cls[:3] + ret[:1]) == pytest.approx(220 + 3 * 30 + 220)
    assert _eta(spent, [pre[0]]) == pytest.approx(600)
    assert _eta({}, cls) == 0
