# Copyright (c) medvlp contributors. All rights reserved.
"""Benchmark specs, cell planning and the mean ± std tables (no training here)."""
import csv

import pytest
from mmengine.config import Config

from medvlp.benchmark import aggregate, load_spec, plan_cells, write_reports
from medvlp.utils.cli import UserError

CLS = 'configs/benchmarks/classification/covid/vit-tiny-p16_ft_1xb16-60_covid-demo.py'
PRE = 'configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py'


def _spec(tmp_path, text):
    path = tmp_path / 'spec.py'
    path.write_text(text)
    return str(path)


def test_cells_are_methods_by_tasks_by_fractions_by_seeds(tmp_path, repo_root):
    spec = load_spec(_spec(tmp_path, f"""
methods = dict(random=None, medim=dict(config='{PRE}'), given=dict(checkpoint='{PRE}'))
tasks = dict(covid=dict(configs={{0.1: '{CLS}', 1.0: '{CLS}'}}, metrics=['cls/auc']))
seeds = [42, 0, 1]
"""), str(repo_root))
    cells = plan_cells(spec)
    pretrain = [c for c in cells if c.kind == 'pretrain']
    downstream = [c for c in cells if c.kind == 'downstream']
    assert [c.id for c in pretrain] == [f'pretrain/medim/seed{s}' for s in (42, 0, 1)]
    assert len(downstream) == 3 * 2 * 3
    assert 'covid/given/10pct/seed0' in {c.id for c in downstream}
    assert cells.index(pretrain[-1]) < cells.index(downstream[0])


@pytest.mark.parametrize('text, message', [
    ("tasks = dict()\nseeds = [0]\nmethods = dict(a=None)", 'has no tasks'),
    (f"methods = dict(a=dict(config='nope.py'))\ntasks = dict(t=dict(configs={{1.0: '{CLS}'}}, "
     "metrics=['m']))\nseeds = [0]", 'config "nope.py" does not exist'),
    (f"methods = dict(a=dict(confg='{PRE}'))\ntasks = dict(t=dict(configs={{1.0: '{CLS}'}}, "
     "metrics=['m']))\nseeds = [0]", "unknown keys ['confg']"),
    (f"methods = dict(a=None)\ntasks = dict(t=dict(configs={{2.0: '{CLS}'}}, metrics=['m']))\n"
     "seeds = [0]", 'label fraction 2.0 is not in (0, 1]'),
])
def test_bad_specs_are_one_line_errors(tmp_path, repo_root, text, message):
    with pytest.raises(UserError, match=message.replace('(', r'\(').replace(')', r'\)')
                       .replace('[', r'\[').replace(']', r'\]')):
        load_spec(_spec(tmp_path, text), str(repo_root))


def _record(method, seed, value, status='done', fraction=1.0):
    return dict(kind='downstream', id=f't/{method}/{fraction}/seed{seed}', method=method,
                task='t', fraction=fraction, seed=seed, status=status,
                metrics={'auc': value, 'extra': 1.0} if status == 'done' else {},
                commands=[['python', 'tools/train.py', 'x.py']], wall_s=1.0)


def test_mean_std_over_seeds_failed_cells_and_reports(tmp_path):
    spec = Config(dict(methods=dict(a=None, b=None),
                       tasks=dict(t=dict(configs={1.0: 'x.py'}, metrics=['auc'])),
                       seeds=[0, 1, 2]))
    records = [_record('a', 0, 0.7), _record('a', 1, 0.8), _record('a', 2, 0.9),
               _record('b', 0, 0.6), _record('b', 1, None, status='failed'),
               _record('b', 2, 0.8)]
    table = aggregate(records, spec)
    a, b = table[('t', 'a', 1.0)]['auc'], table[('t', 'b', 1.0)]['auc']
    assert a['mean'] == pytest.approx(0.8) and a['std'] == pytest.approx(0.1) and a['n'] == 3
    assert b['mean'] == pytest.approx(0.7) and b['n'] == 2 and b['failed'] == 1
    paths = write_reports(records, spec, str(tmp_path))
    md = open(paths['md']).read()
    assert '| a | 0.8 ± 0.1 (n=3) |' in md
    assert '| b | 0.7 ± 0.14 (n=2), 1 failed |' in md
    rows = list(csv.DictReader(open(paths['csv'])))
    assert len(rows) == 5 * 2 + 1  # done cells: auc and extra; the failed one: auc
    assert {r['status'] for r in rows if r['method'] == 'b' and r['seed'] == '1'} == {'failed'}
    assert all(r['command'].startswith('python tools/train.py') for r in rows)
    assert (tmp_path / 'results.png').stat().st_size > 10_000


def test_shipped_specs_are_valid(repo_root):
    specs = sorted((repo_root / 'configs/benchmarks/specs').glob('*.py'))
    assert {p.stem for p in specs} >= {'cxr_mini', 'mimic_published'}
    for path in specs:
        cells = plan_cells(load_spec(str(path), str(repo_root)))
        assert cells, path
    published = load_spec(str(repo_root / 'configs/benchmarks/specs/mimic_published.py'),
                          str(repo_root))
    downstream = [c for c in plan_cells(published) if c.kind == 'downstream']
    assert len(downstream) == 4 * (3 + 3 + 3 + 2) * 3


def test_doc_block_replaces_only_its_marked_lines(tmp_path):
    from medvlp.benchmark.report import doc_block, replace_doc_block
    spec = Config(dict(name='mini', methods=dict(a=None, b=None),
                       tasks=dict(t=dict(configs={1.0: 'x.py'}, metrics=['auc']),
                                  r=dict(on_pretrained=True, methods=['a'],
                                         metrics=['auc'])),
                       seeds=[0, 1]))
    records = [_record('a', 0, 0.7), _record('a', 1, 0.9), _record('b', 0, 0.6),
               _record('b', 1, 0.8)]
    for r in records:
        r['code'] = 'abc123-dirty'
    write_reports(records, spec, str(tmp_path))
    md = (tmp_path / 'results.md').read_text()
    assert '## Summary' in md and '| a | 0.8 ± 0.14 (n=2) | - |' in md
    runs = [dict(cells_run=4, machine='CPU X, 2 CPUs usable', wall_s=120.0,
                 command='python tools/benchmark.py --preset mini'),
            dict(cells_run=0, machine='other', wall_s=5.0, command='ignored')]
    text = doc_block(records, spec, str(tmp_path), 'images/benchmark_mini.png', runs)
    assert 'Command: `python tools/benchmark.py --preset mini`' in text
    assert 'Code: abc123-dirty. Machine: CPU X, 2 CPUs usable.' in text
    assert '4 cells (0 failed)' in text and '2.0 min wall time over 1 invocation' in text
    assert '#### t: auc' in text and '\n## ' not in text
    assert '![mini results](images/benchmark_mini.png)' in text
    doc = tmp_path / 'doc.md'
    doc.write_text('intro\n<!-- benchmark:mini:begin -->\nold numbers\n'
                   '<!-- benchmark:mini:end -->\noutro\n')
    replace_doc_block(str(doc), 'mini', text)
    out = doc.read_text()
    assert out.startswith('intro\n<!-- benchmark:mini:begin -->\n<!-- written by')
    assert 'old numbers' not in out and out.endswith('<!-- benchmark:mini:end -->\noutro\n')
    replace_doc_block(str(doc), 'mini', text)  # idempotent
    assert doc.read_text() == out
    with pytest.raises(ValueError, match='benchmark:other:begin'):
        replace_doc_block(str(doc), 'other', text)
