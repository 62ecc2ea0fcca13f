# Copyright (c) medvlp contributors. All rights reserved.
"""Run a benchmark: methods x downstream tasks x label fractions x seeds → tables.

    python tools/benchmark.py SPEC [--work-dir DIR] [--launcher local|dist|slurm]
        [--gpus 8] [--partition P]
    python tools/benchmark.py --preset cxr-mini [--quick] [--jobs 2]

SPEC is a Python config (see configs/benchmarks/specs/). Each cell runs tools/train.py and
tools/test.py in its own folder under ``DIR/cells``; a rerun skips finished cells and
retries failed ones. ``DIR/results.csv`` has one row per cell and metric, ``results.md``
the mean ± std over seeds, ``results.png`` the metric against the label fraction.
``--quick`` runs the spec's ``quick`` settings (one seed, short runs) in
``<work dir>_quick``; ``--jobs N`` runs N local cells at once, each with
``cpu_count / N`` threads. Local tools start as forks of the runner, which has imported
the stack once (``--no-fork``: new interpreters; the commands are the same).
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PRESETS = {
    'cxr-mini': 'configs/benchmarks/specs/cxr_mini.py',
    'mimic-published': 'configs/benchmarks/specs/mimic_published.py',
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('spec', nargs='?', help='benchmark spec config')
    parser.add_argument('--preset', choices=sorted(PRESETS), help='a shipped spec')
    parser.add_argument('--work-dir', help='default: work_dirs/benchmark/<spec name>')
    parser.add_argument('--launcher', choices=['local', 'dist', 'slurm'],
                        help="override the spec's launcher")
    parser.add_argument('--gpus', type=int, default=8, help='processes for dist/slurm')
    parser.add_argument('--partition', help='slurm partition')
    parser.add_argument('--quick', action='store_true',
                        help="run the spec's quick settings (one seed, short runs)")
    parser.add_argument('--jobs', type=int, default=1,
                        help='local cells run at once (default: 1)')
    parser.add_argument('--doc', help='also write the results (provenance, tables, plot) '
                        'between the <!-- benchmark:NAME:begin/end --> lines of this '
                        'Markdown file')
    parser.add_argument('--no-fork', action='store_true',
                        help='start every local tool as a new interpreter instead of a '
                        'fork of the runner, which imports the stack once')
    args = parser.parse_args(argv)
    if bool(args.spec) == bool(args.preset):
        parser.error('give a SPEC or --preset, not both or neither')
    if args.launcher == 'slurm' and not args.partition:
        parser.error('--launcher slurm needs --partition')
    if args.jobs < 1:
        parser.error('--jobs must be >= 1')
    return args


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    from medvlp.benchmark import BenchmarkRunner
    from medvlp.utils import report_user_errors
    spec = osp.join(ROOT, PRESETS[args.preset]) if args.preset else args.spec
    work_dir = args.work_dir or osp.join(
        'work_dirs', 'benchmark', osp.splitext(osp.basename(spec))[0] +
        ('_quick' if args.quick else ''))
    launcher = None
    if args.launcher:
        launcher = dict(type=args.launcher, gpus=args.gpus, partition=args.partition)
    with report_user_errors('benchmark.py'):
        runner = BenchmarkRunner(spec, work_dir, root=ROOT, launcher=launcher,
                                 quick=args.quick, jobs=args.jobs, fork=not args.no_fork,
                                 doc=args.doc,
                                 command=' '.join(['python', 'tools/benchmark.py'] +
                                                  list(sys.argv[1:] if argv is None
                                                       else argv)))
        records = runner.run()
    return records


if __name__ == '__main__':
    main()
