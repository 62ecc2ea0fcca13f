# Copyright (c) medvlp contributors. All rights reserved.
"""Run a benchmark: methods x downstream tasks x label fractions x seeds → tables.

    python tools/benchmark.py SPEC [--work-dir DIR] [--launcher local|dist|slurm]
        [--gpus 8] [--partition P]
    python tools/benchmark.py --preset quick

SPEC is a Python config (see configs/benchmarks/specs/). Each cell runs tools/train.py and
tools/test.py in its own folder under ``DIR/cells``; a rerun skips finished cells and
retries failed ones. ``DIR/results.csv`` has one row per cell and metric, ``results.md``
the mean ± std over seeds, ``results.png`` the metric against the label fraction.
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PRESETS = {
    'quick': 'configs/benchmarks/specs/quick_demo.py',
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
    args = parser.parse_args(argv)
    if bool(args.spec) == bool(args.preset):
        parser.error('give a SPEC or --preset, not both or neither')
    if args.launcher == 'slurm' and not args.partition:
        parser.error('--launcher slurm needs --partition')
    return args


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    from medvlp.benchmark import BenchmarkRunner
    from medvlp.utils import report_user_errors
    spec = osp.join(ROOT, PRESETS[args.preset]) if args.preset else args.spec
    work_dir = args.work_dir or osp.join(
        'work_dirs', 'benchmark', osp.splitext(osp.basename(spec))[0])
    launcher = None
    if args.launcher:
        launcher = dict(type=args.launcher, gpus=args.gpus, partition=args.partition)
    with report_user_errors('benchmark.py'):
        runner = BenchmarkRunner(spec, work_dir, root=ROOT, launcher=launcher)
        records = runner.run()
    return records


if __name__ == '__main__':
    main()
