# Copyright (c) medvlp contributors. All rights reserved.
"""Save the random number generators' states in checkpoints, so a resumed run continues
with the random crops and masks the uninterrupted run would have drawn."""
import random
from typing import List, Optional

import numpy as np
import torch
import torch.distributed as torch_dist
from mmengine.hooks import Hook
from mmengine.logging import MMLogger

from medvlp.registry import HOOKS


def get_rng_state() -> dict:
    """The python, numpy, torch (and CUDA) generator states of this process, in types a
    ``weights_only`` checkpoint load accepts (ints, lists, tensors)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=[kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        torch=torch.get_rng_state())
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`get_rng_state` returned."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state['numpy']
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def _all_ranks(state: dict) -> List[dict]:
    if torch_dist.is_available() and torch_dist.is_initialized():
        states = [None] * torch_dist.get_world_size()
        torch_dist.all_gather_object(states, state)
        return states
    return [state]


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Checkpoint and restore the random state of training.

    At the end of every training epoch the hook records every process's python, numpy,
    torch and CUDA generator states and the train sampler's seed; a checkpoint saved then
    carries them (under ``rng_state``). The next training epoch starts from exactly those
    states, in the run that saved them
    and in a run resumed from that checkpoint, whatever happened in between (validation
    draws random numbers too). So a run resumed at an epoch boundary draws the same random
    crops, masks and dropout as the uninterrupted one and reproduces its losses (the
    sampler's order already follows from its seed and the epoch).

    What it covers: epoch-based loops with checkpoints at the end of an epoch, dataloaders
    with ``num_workers=0`` or ``persistent_workers=False`` (mmengine seeds the workers
    from the seed, the rank and the worker id at every epoch). Persistent workers keep
    their generators across epochs in other processes; a resumed run starts them afresh,
    which the hook warns about. Loading weights with ``load_from`` without ``resume``
    leaves the generators alone.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None
        self._saved: Optional[dict] = None

    def after_train_epoch(self, runner) -> None:
        # On every rank (saving runs on rank 0 only), before the checkpoint hook: the state
        # the next epoch starts from, here and in a run resumed from this epoch's checkpoint.
        states = _all_ranks(get_rng_state())
        self._pending = states[runner.rank]
        sampler = getattr(runner.train_dataloader, 'sampler', None)
        self._saved = dict(ranks=states, sampler_seed=getattr(sampler, 'seed', None),
                           iter=runner.iter)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # only a checkpoint of an epoch's end carries the state the next epoch starts from
        if self._saved is not None and self._saved['iter'] == runner.iter:
            checkpoint['rng_state'] = {k: v for k, v in self._saved.items() if k != 'iter'}

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False) or runner.train_loop is None:
            return
        logger = MMLogger.get_current_instance()
        saved = checkpoint.get('rng_state')
        if not saved:
            logger.warning('the resumed checkpoint holds no random state (written without '
                           'RNGStateHook, or in the middle of an epoch); the resumed run '
                           'draws fresh random numbers')
            return
        ranks = saved['ranks']
        if len(ranks) != runner.world_size:
            logger.warning(f'the checkpoint holds the random state of {len(ranks)} '
                           f'process(es), this run has {runner.world_size}; random numbers '
                           'will differ from the uninterrupted run')
            return
        self._pending = ranks[runner.rank]
        sampler = getattr(runner.train_dataloader, 'sampler', None)
        if saved.get('sampler_seed') is not None and hasattr(sampler, 'seed'):
            sampler.seed = saved['sampler_seed']
        loader_cfg = runner.cfg.get('train_dataloader') or {}
        if loader_cfg.get('num_workers', 0) and loader_cfg.get('persistent_workers', False):
            logger.warning('train_dataloader.persistent_workers=True: the resumed '
                           "dataloader workers start fresh random streams, so crops differ "
                           'from the uninterrupted run (set persistent_workers=False for an '
                           'exact resume)')
        logger.info('restored the random state of the checkpoint (python, numpy, torch, '
                    'sampler seed)')

    def before_train_epoch(self, runner) -> None:
        if self._pending is not None:
            set_rng_state(self._pending)
            self._pending = None
