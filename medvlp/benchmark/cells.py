# Copyright (c) medvlp contributors. All rights reserved.
"""From a benchmark spec to the list of cells to run.

A spec is a Python config with:

* ``methods``: ``{name: dict(config=PRETRAIN_CONFIG, cfg_options=[...], train_args=[...])}``
  (pre-trained per seed), ``{name: dict(checkpoint=PATH)}`` (an existing checkpoint), or
  ``{name: dict()}`` / ``None`` (no pre-training: the downstream encoder starts random);
* ``tasks``: ``{name: dict(configs={fraction: DOWNSTREAM_CONFIG}, metrics=[KEY, ...],
  cfg_options=[...], checkpoint_option='model.backbone.init_cfg.checkpoint')}``, with
  optional ``methods=[NAME, ...]`` (only these methods get cells), ``test_in_train=True``
  (``tools/train.py --test-out`` tests the final weights in the training process: one
  process per cell, for recipes without validation-based checkpoint selection), or
  ``on_pretrained=True`` without ``configs`` (no downstream training: ``tools/test.py``
  runs the pre-training config's own test loop on the pre-trained checkpoint, e.g.
  image-report retrieval);
* ``seeds``: e.g. ``[42, 0, 1]``;
* optional ``quick``: ``dict(seeds=[...], method_options=[...], task_options=[...])``, what
  ``--quick`` changes: fewer seeds, options appended to every pre-training method's and
  every task's ``cfg_options`` (e.g. fewer epochs and iterations);
* optional ``launcher`` (``dict(type='local' | 'dist' | 'slurm', gpus=8, partition=...)``);
* optional ``prepare``: commands (lists of arguments, ``'python'`` meaning the runner's
  interpreter) run once before the cells, e.g. the converters that write the lists.

Other top-level variables are helpers of the spec file and are ignored.

Pre-training cells are ``method x seed``; downstream cells are
``method x task x fraction x seed`` and depend on their method's pre-training cell of the
same seed.
"""
import contextlib
import copy
import logging
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from mmengine.config import Config
from mmengine.logging import MMLogger

from medvlp.utils.cli import UserError

CHECKPOINT_OPTION = 'model.backbone.init_cfg.checkpoint'
TASK_KEYS = {'configs', 'metrics', 'cfg_options', 'checkpoint_option', 'methods',
             'test_in_train', 'on_pretrained'}


@dataclass
class Method:
    """A way to get the encoder: pre-train with ``config``, load ``checkpoint``, or none."""
    name: str
    config: Optional[str] = None
    checkpoint: Optional[str] = None
    cfg_options: List[str] = field(default_factory=list)
    train_args: List[str] = field(default_factory=list)

    @property
    def pretrains(self) -> bool:
        return self.config is not None

    @property
    def random_init(self) -> bool:
        return self.config is None and self.checkpoint is None


@dataclass
class DownstreamTask:
    """A downstream recipe per label fraction and the metrics reported in the table."""
    name: str
    configs: Dict[float, str]
    metrics: List[str]
    cfg_options: List[str] = field(default_factory=list)
    checkpoint_option: str = CHECKPOINT_OPTION
    methods: Optional[List[str]] = None
    test_in_train: bool = False
    on_pretrained: bool = False

    def applies_to(self, method: 'Method') -> bool:
        return self.methods is None or method.name in self.methods


@dataclass
class Cell:
    """One unit of work: a pre-training run or a downstream train + test run."""
    kind: str  # 'pretrain' or 'downstream'
    method: Method
    seed: int
    task: Optional[DownstreamTask] = None
    fraction: Optional[float] = None

    @property
    def id(self) -> str:
        if self.kind == 'pretrain':
            return f'pretrain/{self.method.name}/seed{self.seed}'
        return (f'{self.task.name}/{self.method.name}/{fraction_label(self.fraction)}/'
                f'seed{self.seed}')

    @property
    def config(self) -> str:
        if self.kind == 'pretrain' or self.task.on_pretrained:
            return self.method.config
        return self.task.configs[self.fraction]


def fraction_label(fraction: float) -> str:
    """``0.01`` → ``'1pct'``, ``1.0`` → ``'100pct'``."""
    return f'{100 * fraction:g}pct'


def _as_list(value, what: str) -> List[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise UserError(f'{what} must be a list of strings, got {value!r}')
    return [str(v) for v in value]


@contextlib.contextmanager
def quiet_info():
    """Hide mmengine's INFO lines inside the block (the runner parses each config several
    times, each ``{{$VAR}}`` logged; initialising a model logs every tensor)."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def read_config(path: str) -> Config:
    """``Config.fromfile`` without the INFO lines of :func:`quiet_info`."""
    with quiet_info():
        return Config.fromfile(path)


def load_spec(path: str, root: str = '.') -> Config:
    """Read and check a benchmark spec; config paths are relative to ``root``."""
    if not osp.isfile(path):
        raise UserError(f'benchmark spec "{path}" does not exist')
    spec = read_config(path)
    for key in ('methods', 'tasks', 'seeds'):
        if not spec.get(key):
            raise UserError(f'benchmark spec {path} has no {key}')
    for key in ('methods', 'tasks'):
        if not isinstance(spec[key], dict):
            raise UserError(f'benchmark spec {path}: {key} must be a dict of named entries')
    for name, method in spec.methods.items():
        method = dict(method or {})
        bad = set(method) - {'config', 'checkpoint', 'cfg_options', 'train_args'}
        if bad:
            raise UserError(f'method "{name}": unknown keys {sorted(bad)}')
        if method.get('config') and method.get('checkpoint'):
            raise UserError(f'method "{name}" sets both config and checkpoint; choose one')
        for key in ('config', 'checkpoint'):
            if method.get(key) and not osp.isfile(osp.join(root, method[key])):
                raise UserError(f'method "{name}": {key} "{method[key]}" does not exist')
    for name, task in spec.tasks.items():
        bad = set(task) - TASK_KEYS
        if bad:
            raise UserError(f'task "{name}": unknown keys {sorted(bad)}')
        if not task.get('metrics'):
            raise UserError(f'task "{name}" needs metrics')
        unknown = sorted(set(task.get('methods') or []) - set(spec.methods))
        if unknown:
            raise UserError(f'task "{name}": methods {unknown} are not in the spec\'s methods '
                            f'{sorted(spec.methods)}')
        if task.get('on_pretrained'):
            if task.get('configs'):
                raise UserError(f'task "{name}": on_pretrained tests the pre-training '
                                'config; it takes no configs')
            no_config = [m for m in (task.get('methods') or spec.methods)
                         if not (spec.methods[m] or {}).get('config')]
            if no_config:
                raise UserError(f'task "{name}" is on_pretrained but methods {no_config} '
                                'have no pre-training config to test; list the others in '
                                'its methods')
            continue
        if not task.get('configs'):
            raise UserError(f'task "{name}" needs configs ({{fraction: config}})')
        for fraction, config in task.configs.items():
            if not 0 < float(fraction) <= 1:
                raise UserError(f'task "{name}": label fraction {fraction} is not in (0, 1]')
            if not osp.isfile(osp.join(root, config)):
                raise UserError(f'task "{name}": config "{config}" does not exist')
    return spec


def apply_quick(spec: Config) -> Config:
    """The spec as ``--quick`` runs it: its ``quick`` seeds and appended options."""
    quick = spec.get('quick')
    if not quick:
        raise UserError(f'benchmark spec "{spec.get("name", spec.filename)}" has no quick '
                        'settings (quick=dict(seeds=..., method_options=..., '
                        'task_options=...))')
    bad = set(quick) - {'seeds', 'method_options', 'task_options'}
    if bad:
        raise UserError(f'quick: unknown keys {sorted(bad)}')
    spec = copy.deepcopy(spec)
    spec.seeds = list(quick.get('seeds') or spec.seeds)
    for method in spec.methods.values():
        if method and method.get('config'):
            method['cfg_options'] = _as_list(method.get('cfg_options'), 'cfg_options') + \
                _as_list(quick.get('method_options'), 'quick.method_options')
    for task in spec.tasks.values():
        task['cfg_options'] = _as_list(task.get('cfg_options'), 'cfg_options') + \
            _as_list(quick.get('task_options'), 'quick.task_options')
    spec.name = f'{spec.get("name", "benchmark")} (quick)'
    return spec


def plan_cells(spec: Config) -> List[Cell]:
    """Pre-training cells first (seed x method), then downstream cells."""
    methods = [
        Method(name, config=(m or {}).get('config'), checkpoint=(m or {}).get('checkpoint'),
               cfg_options=_as_list((m or {}).get('cfg_options'), f'{name}.cfg_options'),
               train_args=_as_list((m or {}).get('train_args'), f'{name}.train_args'))
        for name, m in spec.methods.items()
    ]
    tasks = [
        DownstreamTask(name, {float(f): c for f, c in (t.get('configs') or {1.0: None}).items()},
                       list(t['metrics']), _as_list(t.get('cfg_options'), f'{name}.cfg_options'),
                       t.get('checkpoint_option', CHECKPOINT_OPTION),
                       list(t['methods']) if t.get('methods') else None,
                       bool(t.get('test_in_train')), bool(t.get('on_pretrained')))
        for name, t in spec.tasks.items()
    ]
    seeds = [int(s) for s in spec.seeds]
    # seed-major, so that every method's first seed finishes early in a long run
    cells = [Cell('pretrain', m, s) for s in seeds for m in methods if m.pretrains]
    for task in tasks:
        for fraction in sorted(task.configs):
            for seed in seeds:
                for method in methods:
                    if task.applies_to(method):
                        cells.append(Cell('downstream', method, seed, task, fraction))
    return cells
