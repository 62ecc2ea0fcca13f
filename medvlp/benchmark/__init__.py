# Copyright (c) medvlp contributors. All rights reserved.
"""Benchmark runner: pre-training methods x downstream tasks x label fractions x seeds.

A spec (an mmengine Python config, see ``configs/benchmarks/specs/``) names the methods
(pre-training configs, existing checkpoints, or none for random initialisation), the
downstream recipes per label fraction and the seeds. :class:`BenchmarkRunner` turns it into
cells, runs each through ``tools/train.py`` and ``tools/test.py`` in its own work dir,
records what ran, and writes ``results.csv``, ``results.md`` and ``results.png``.
"""
from .cells import Cell, DownstreamTask, Method, load_spec, plan_cells
from .report import aggregate, write_reports
from .runner import BenchmarkRunner

__all__ = ['Cell', 'DownstreamTask', 'Method', 'load_spec', 'plan_cells', 'aggregate',
           'write_reports', 'BenchmarkRunner']
