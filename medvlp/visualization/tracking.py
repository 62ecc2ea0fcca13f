# Copyright (c) medvlp contributors. All rights reserved.
"""Experiment tracking through mmengine's visualizer backends (TensorBoard, MLflow).

``tools/train.py --tensorboard`` / ``--mlflow`` call :func:`add_trackers`; in a config the
same is ``visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend'),
dict(type='TensorboardVisBackend')])``. The scalars (losses, learning rate, metrics) then
go to ``<work_dir>/<timestamp>/vis_data/`` as TensorBoard event files
(``tensorboard --logdir work_dirs``) or to an MLflow run.
"""
import importlib.util
from typing import Sequence

from mmengine.config import Config

from medvlp.utils.cli import UserError

#: Tracker name -> (mmengine vis backend, Python package it needs).
TRACKERS = {
    'tensorboard': ('TensorboardVisBackend', 'tensorboard'),
    'mlflow': ('MLflowVisBackend', 'mlflow'),
}


def add_trackers(cfg: Config, names: Sequence[str]) -> Config:
    """Add the vis backends of the trackers ``names`` to ``cfg.visualizer``.

    The local JSON backend is kept (so ``scalars.json`` is still written); a backend
    already in the config is not added twice.

    Raises:
        UserError: For an unknown tracker or one whose package is not installed.
    """
    if not names:
        return cfg
    visualizer = dict(cfg.get('visualizer') or dict(type='Visualizer'))
    backends = list(visualizer.get('vis_backends') or [dict(type='LocalVisBackend')])
    present = {str(b.get('type', '')).split('.')[-1] for b in backends}
    for name in names:
        if name not in TRACKERS:
            raise UserError(f'unknown tracker "{name}"; choose from {sorted(TRACKERS)}')
        backend, package = TRACKERS[name]
        if importlib.util.find_spec(package) is None:
            raise UserError(f'--{name} needs the {package} package: pip install {package} '
                            '(tensorboard is pinned in requirements/optional.txt)')
        if backend not in present:
            backends.append(dict(type=backend))
            present.add(backend)
    visualizer['vis_backends'] = backends
    cfg.visualizer = visualizer
    return cfg
