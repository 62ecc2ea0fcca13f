# Copyright (c) medvlp contributors. All rights reserved.
"""From a benchmark spec to the list of cells to run.

A spec is a Python config with:

* ``methods``: ``{name: dict(config=PRETRAIN_CONFIG, cfg_options=[...], train_args=[...])}``
  (pre-trained per seed), ``{name: dict(checkpoint=PATH)}`` (an existing checkpoint), or
  ``{name: dict()}`` / ``None`` (no pre-training: the downstream encoder starts random);
* ``tasks``: ``{name: dict(configs={fraction: DOWNSTREAM_CONFIG}, metrics=[KEY, ...],
  cfg_options=[...], checkpoint_option='model.backbone.init_cfg.checkpoint')}``;
* ``seeds``: e.g. ``[42, 0, 1]``;
* optional ``launcher`` (``dict(type='local' | 'dist' | 'slurm', gpus=8, partition=...)``);
* optional ``prepare``: commands (lists of arguments, ``'python'`` meaning the runner's
  interpreter) run once before the cells, e.g. the converters that write the lists.

Other top-level variables are helpers of the spec file and are ignored.

Pre-training cells are ``method x seed``; downstream cells are
``method x task x fraction x seed`` and depend on their method's pre-training cell of the
same seed.
"""
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from mmengine.config import Config

from medvlp.utils.cli import UserError

CHECKPOINT_OPTION = 'model.backbone.init_cfg.checkpoint'


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
        return self.method.config if self.kind == 'pretrain' else \
            self.task.configs[self.fraction]


def fraction_label(fraction: float) -> str:
    """``0.01`` → ``'1pct'``, ``1.0`` → ``'100pct'``."""
    return f'{100 * fraction:g}pct'


def _as_list(value, what: str) -> List[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise UserError(f'{what} must be a list of strings, got {value!r}')
    return [str(v) for v in value]


def load_spec(path: str, root: str = '.') -> Config:
    """Read and check a benchmark spec; config paths are relative to ``root``."""
    if not osp.isfile(path):
        raise UserError(f'benchmark spec "{path}" does not exist')
    spec = Config.fromfile(path)
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
        bad = set(task) - {'configs', 'metrics', 'cfg_options', 'checkpoint_option'}
        if bad:
            raise UserError(f'task "{name}": unknown keys {sorted(bad)}')
        if not task.get('configs') or not task.get('metrics'):
            raise UserError(f'task "{name}" needs configs ({{fraction: config}}) and metrics')
        for fraction, config in task.configs.items():
            if not 0 < float(fraction) <= 1:
                raise UserError(f'task "{name}": label fraction {fraction} is not in (0, 1]')
            if not osp.isfile(osp.join(root, config)):
                raise UserError(f'task "{name}": config "{config}" does not exist')
    return spec


def plan_cells(spec: Config) -> List[Cell]:
    """Pre-training cells first (method x seed), then downstream cells."""
    methods = [
        Method(name, config=(m or {}).get('config'), checkpoint=(m or {}).get('checkpoint'),
               cfg_options=_as_list((m or {}).get('cfg_options'), f'{name}.cfg_options'),
               train_args=_as_list((m or {}).get('train_args'), f'{name}.train_args'))
        for name, m in spec.methods.items()
    ]
    tasks = [
        DownstreamTask(name, {float(f): c for f, c in t['configs'].items()},
                       list(t['metrics']), _as_list(t.get('cfg_options'), f'{name}.cfg_options'),
                       t.get('checkpoint_option', CHECKPOINT_OPTION))
        for name, t in spec.tasks.items()
    ]
    seeds = [int(s) for s in spec.seeds]
    cells = [Cell('pretrain', m, s) for m in methods if m.pretrains for s in seeds]
    for task in tasks:
        for fraction in sorted(task.configs):
            for method in methods:
                for seed in seeds:
                    cells.append(Cell('downstream', method, seed, task, fraction))
    return cells
