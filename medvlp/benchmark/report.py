# Copyright (c) medvlp contributors. All rights reserved.
"""Benchmark records → ``results.csv``, ``results.md`` (mean ± std) and ``results.png``."""
import csv
import math
import os.path as osp
import re
import statistics
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

from .cells import fraction_label

CSV_FIELDS = ['cell', 'method', 'task', 'fraction', 'seed', 'metric', 'value', 'status',
              'wall_s', 'config_sha256', 'init_checkpoint_sha256', 'tested_checkpoint_sha256',
              'command']

Key = Tuple[str, str, float]  # task, method, fraction


def task_fractions(task) -> List[float]:
    """The label fractions of a task (a test of the pre-trained model has one, 1.0)."""
    return sorted(float(f) for f in (task.get('configs') or {1.0: None}))


def _column(task, fraction: float) -> str:
    return 'pre-trained model' if task.get('on_pretrained') else fraction_label(fraction)


def _downstream(records: List[Optional[dict]]) -> List[dict]:
    return [r for r in records if r and r.get('kind') == 'downstream']


def aggregate(records: List[Optional[dict]], spec) -> Dict[Key, Dict[str, dict]]:
    """``{(task, method, fraction): {metric: dict(mean, std, n, failed)}}``."""
    table: Dict[Key, Dict[str, dict]] = {}
    values: Dict[Tuple[Key, str], List[float]] = defaultdict(list)
    failed: Dict[Key, int] = defaultdict(int)
    for r in _downstream(records):
        key = (r['task'], r['method'], r['fraction'])
        if r['status'] != 'done':
            failed[key] += 1
            continue
        for metric in spec.tasks[r['task']]['metrics']:
            if metric in r.get('metrics', {}):
                values[(key, metric)].append(r['metrics'][metric])
    keys = {(r['task'], r['method'], r['fraction']) for r in _downstream(records)}
    for key in keys:
        table[key] = {}
        for metric in spec.tasks[key[0]]['metrics']:
            found = [v for v in values.get((key, metric), []) if not math.isnan(v)]
            table[key][metric] = dict(
                mean=statistics.fmean(found) if found else float('nan'),
                std=statistics.stdev(found) if len(found) > 1 else 0.0,
                n=len(found), failed=failed.get(key, 0))
    return table


def _format(cell: dict) -> str:
    if cell['n'] == 0:
        return f'failed ({cell["failed"]})' if cell['failed'] else '-'
    text = f'{cell["mean"]:.4g} ± {cell["std"]:.2g} (n={cell["n"]})'
    return text + (f', {cell["failed"]} failed' if cell['failed'] else '')


def write_csv(records: List[Optional[dict]], spec, path: str) -> None:
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for r in _downstream(records):
            metrics = spec.tasks[r['task']]['metrics']
            found = r.get('metrics', {})
            names = list(metrics) + sorted(set(found) - set(metrics))
            for metric in names:
                writer.writerow(dict(
                    cell=r['id'], method=r['method'], task=r['task'], fraction=r['fraction'],
                    seed=r['seed'], metric=metric, value=found.get(metric, ''),
                    status=r['status'], wall_s=r.get('wall_s', ''),
                    config_sha256=r.get('config_sha256', ''),
                    init_checkpoint_sha256=r.get('init_checkpoint_sha256') or '',
                    tested_checkpoint_sha256=r.get('tested_checkpoint_sha256', ''),
                    command=' ; '.join(' '.join(c) for c in r.get('commands', []))))


def write_markdown(table: Dict[Key, Dict[str, dict]], records: List[Optional[dict]], spec,
                   path: str) -> None:
    methods = list(spec.methods)
    lines = [f'# Benchmark: {spec.get("name", osp.basename(osp.dirname(path)))}', '']
    if spec.get('description'):
        lines += [spec.description, '']
    seeds = ', '.join(str(s) for s in spec.seeds)
    lines += [f'Mean ± standard deviation over seeds ({seeds}); n = finished seeds. '
              'Every number traces back to a row of `results.csv` (command, config hash, '
              'checkpoint sha256).', '']
    columns = [(t, m, f) for t, task in spec.tasks.items() for m in task['metrics']
               for f in task_fractions(task)]
    if 1 < len(columns) <= 12:  # one table with everything, then one table per metric
        head = [f'{t}: {m}' + ('' if len(task_fractions(spec.tasks[t])) == 1 else
                               f' ({fraction_label(f)})') for t, m, f in columns]
        lines += ['## Summary', '', '| method | ' + ' | '.join(head) + ' |',
                  '| --- |' + ' --- |' * len(columns)]
        for method in methods:
            cells = [_format(table[(t, method, f)][m]) if (t, method, f) in table else '-'
                     for t, m, f in columns]
            lines.append(f'| {method} | ' + ' | '.join(cells) + ' |')
        lines.append('')
    for task_name, task in spec.tasks.items():
        fractions = task_fractions(task)
        for metric in task['metrics']:
            lines += [f'## {task_name}: {metric}', '',
                      '| method | ' + ' | '.join(_column(task, f) for f in fractions) + ' |',
                      '| --- |' + ' --- |' * len(fractions)]
            for method in methods:
                cells = [_format(table[(task_name, method, f)][metric])
                         if (task_name, method, f) in table else '-' for f in fractions]
                lines.append(f'| {method} | ' + ' | '.join(cells) + ' |')
            lines.append('')
    pretrain = [r for r in records if r and r.get('kind') == 'pretrain']
    if pretrain:
        lines += ['## Pre-training runs', '', '| cell | status | wall s | checkpoint sha256 |',
                  '| --- | --- | --- | --- |']
        for r in pretrain:
            lines.append(f'| {r["id"]} | {r["status"]} | {r.get("wall_s", "")} | '
                         f'{(r.get("checkpoint_sha256") or "")[:12]} |')
        lines.append('')
    with open(path, 'w') as f:
        f.write('\n'.join(lines))


def write_plot(table: Dict[Key, Dict[str, dict]], spec, path: str) -> bool:
    """Metric vs label fraction per method, one panel per task (its first metric)."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    tasks = list(spec.tasks.items())
    cols = min(len(tasks), 4)
    rows = math.ceil(len(tasks) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.6 * rows), squeeze=False)
    for ax in axes.flat[len(tasks):]:
        ax.axis('off')
    colour = {m: f'C{i % 10}' for i, m in enumerate(spec.methods)}  # the same in every panel
    for ax, (task_name, task) in zip(axes.flat, tasks):
        metric = task['metrics'][0]
        fractions = task_fractions(task)
        if len(fractions) == 1:  # one label fraction: a bar per method
            found = [(m, table[(task_name, m, fractions[0])][metric]) for m in spec.methods
                     if (task_name, m, fractions[0]) in table]
            found = [(m, c) for m, c in found if c['n']]
            if found:
                xs = range(len(found))
                ax.bar(xs, [c['mean'] for _, c in found], yerr=[c['std'] for _, c in found],
                       capsize=3, color=[colour[m] for m, _ in found])
                ax.set_xticks(list(xs))
                ax.set_xticklabels([m for m, _ in found], rotation=35, ha='right',
                                   fontsize=8)
                low = min(c['mean'] - c['std'] for _, c in found)
                high = max(c['mean'] + c['std'] for _, c in found)
                ax.set_ylim(max(0, low - 0.15 * (high - low + 1e-9)),
                            high + 0.15 * (high - low + 1e-9))
            else:
                ax.text(0.5, 0.5, 'no finished cell', ha='center', va='center',
                        transform=ax.transAxes)
            ax.set_ylabel(metric)
            ax.set_title(f'{task_name} ({_column(task, fractions[0])})', fontsize=9)
            ax.grid(alpha=0.3, axis='y')
            continue
        for method in spec.methods:
            points = [(f, table[(task_name, method, f)][metric]) for f in fractions
                      if (task_name, method, f) in table]
            points = [(f, c) for f, c in points if c['n']]
            if not points:
                continue
            xs = [100 * f for f, _ in points]
            ax.errorbar(xs, [c['mean'] for _, c in points], yerr=[c['std'] for _, c in points],
                        marker='o', capsize=3, label=method, color=colour[method])
        if len(fractions) > 1:
            ax.set_xscale('log')
        ax.set_xticks([100 * f for f in fractions])
        ax.set_xticklabels([fraction_label(f) for f in fractions])
        ax.minorticks_off()
        ax.set_xlabel('labels used (%)')
        ax.set_ylabel(metric)
        ax.set_title(task_name)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, 'no finished cell', ha='center', va='center',
                    transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def write_reports(records: List[Optional[dict]], spec, work_dir: str) -> Dict[str, str]:
    """Write the three reports into ``work_dir``; returns their paths."""
    table = aggregate(records, spec)
    paths = dict(csv=osp.join(work_dir, 'results.csv'), md=osp.join(work_dir, 'results.md'),
                 png=osp.join(work_dir, 'results.png'))
    write_csv(records, spec, paths['csv'])
    write_markdown(table, records, spec, paths['md'])
    if not write_plot(table, spec, paths['png']):
        paths.pop('png')
    return paths


def doc_block(records: List[Optional[dict]], spec, work_dir: str, image: Optional[str],
              invocations: List[dict]) -> str:
    """The Markdown a spec's results take in a document: provenance, tables, plot.

    Provenance: the code versions of the cells (``git describe --dirty``), the machine and
    command of the invocations that ran cells, and the wall time from the first cell's
    start to the last one's end.
    """
    ran = [r for r in records if r]
    codes = sorted({r.get('code', 'not recorded') for r in ran})
    working = [i for i in invocations if i.get('cells_run')]
    machines = sorted({i['machine'] for i in working}) or ['not recorded']
    commands = list(dict.fromkeys(i['command'] for i in working if i.get('command')))
    wall = sum(i['wall_s'] for i in working)
    cell_time = sum(r.get('wall_s', 0) for r in ran)
    failed = sum(r.get('status') != 'done' for r in ran)
    lines = ['Command: ' + ('; '.join(f'`{c}`' for c in commands) or 'not recorded'),
             '',
             f'Code: {", ".join(codes)}. Machine: {"; ".join(machines)}. '
             f'{len(ran)} cells ({failed} failed), {cell_time / 60:.1f} min of cell time, '
             f'{wall / 60:.1f} min wall time over {len(working)} invocation(s) that ran '
             f'cells, finished {max((r.get("finished_at", "") for r in ran), default="")}.',
             '']
    with open(osp.join(work_dir, 'results.md')) as f:
        text = f.read()
    start = text.find('Mean ± standard deviation')  # after the title and description
    lines.append(re.sub(r'^## ', '#### ', text[max(start, 0):], flags=re.M).strip())
    if image:
        lines += ['', f'![{spec.get("name", "benchmark")} results]({image})']
    return '\n'.join(lines) + '\n'


def replace_doc_block(doc_path: str, name: str, text: str) -> None:
    """Put ``text`` between ``<!-- benchmark:NAME:begin -->`` and ``...:end -->``."""
    begin, end = f'<!-- benchmark:{name}:begin -->', f'<!-- benchmark:{name}:end -->'
    with open(doc_path, encoding='utf-8') as f:
        doc = f.read()
    if doc.count(begin) != 1 or doc.count(end) != 1 or doc.index(begin) > doc.index(end):
        raise ValueError(f'{doc_path} needs one "{begin}" line followed by one "{end}" line '
                         'where the results go')
    head, rest = doc.split(begin)
    _, tail = rest.split(end)
    with open(doc_path, 'w', encoding='utf-8') as f:
        f.write(f'{head}{begin}\n<!-- written by tools/benchmark.py --doc; do not edit -->\n'
                f'{text}{end}{tail}')
