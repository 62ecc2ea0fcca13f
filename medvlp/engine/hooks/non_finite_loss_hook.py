# Copyright (c) medvlp contributors. All rights reserved.
"""Stop (or skip a few steps of) training at a NaN or infinite loss."""
import math
from typing import Dict, List, Optional

import torch
import torch.distributed as torch_dist
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop

from medvlp.registry import HOOKS
from medvlp.utils.cli import TrainingError


def non_finite_terms(log_vars: Dict) -> List[str]:
    """Names of the entries of a loss dict that are NaN or infinite (``'loss'``, the sum,
    only when no single term explains it)."""
    bad = []
    for name, value in log_vars.items():
        if isinstance(value, torch.Tensor):
            finite = bool(torch.isfinite(value.detach()).all())
        elif isinstance(value, (int, float)):
            finite = math.isfinite(value)
        else:
            continue
        if not finite:
            bad.append(name)
    terms = [name for name in bad if name != 'loss']
    return terms or bad


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Guard training against NaN or infinite losses.

    Before the optimizer sees a loss, the hook checks it. At the first non-finite loss it
    raises a :class:`~medvlp.utils.cli.TrainingError` naming the loss term(s) and the
    iteration, before that step updates the weights and before any checkpoint of the broken
    model is written (``tools/train.py`` prints it as one line). With ``max_skips = N > 0``
    up to N such steps are skipped instead (no backward pass, no update) and counted; the
    N + 1-th raises. In distributed runs the ranks agree on skipping (one all-reduce of a
    flag per step), so a step is skipped on every rank or none.

    The check wraps the model's ``parse_losses`` (to learn the term names) and the optimizer
    wrapper's ``update_params``; a model with its own ``train_step`` that does not call them
    is still checked after the step, from the loss values it returns.

    Args:
        max_skips (int): Non-finite steps to skip before stopping. Defaults to 0 (stop at
            the first).
    """

    priority = 'ABOVE_NORMAL'  # before the logger and the checkpoint hook

    def __init__(self, max_skips: int = 0) -> None:
        if not isinstance(max_skips, int) or isinstance(max_skips, bool) or max_skips < 0:
            raise ValueError(f'NonFiniteLossHook: max_skips must be an integer >= 0, got '
                             f'{max_skips!r}')
        self.max_skips = max_skips
        self.skipped = 0
        self._terms: Optional[List[str]] = None
        self._checked = False

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        parse_losses = model.parse_losses

        def checked_parse_losses(losses):
            loss, log_vars = parse_losses(losses)
            self._terms = non_finite_terms(log_vars)
            return loss, log_vars

        model.parse_losses = checked_parse_losses
        wrapper = runner.optim_wrapper
        update_params = wrapper.update_params

        def checked_update_params(loss, *args, **kwargs):
            self._checked = True
            if self._all_finite(loss):
                return update_params(loss, *args, **kwargs)
            self._on_non_finite(runner, self._terms or ['loss'])
            wrapper.zero_grad()

        wrapper.update_params = checked_update_params

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._terms = None
        self._checked = False

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if self._checked or not outputs:
            return
        terms = non_finite_terms(outputs)
        if terms:
            self._on_non_finite(runner, terms)

    @staticmethod
    def _all_finite(loss: torch.Tensor) -> bool:
        finite = torch.isfinite(loss.detach()).all().float().reshape(1)
        if torch_dist.is_available() and torch_dist.is_initialized():
            finite = finite.to('cuda' if torch_dist.get_backend() == 'nccl' else 'cpu')
            torch_dist.all_reduce(finite, op=torch_dist.ReduceOp.MIN)
        return bool(finite.item())

    def _on_non_finite(self, runner, terms: List[str]) -> None:
        where = f'iteration {runner.iter + 1}'
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            where += f' (epoch {runner.epoch + 1})'
        names = ', '.join(terms)
        self.skipped += 1
        if self.skipped > self.max_skips:
            skipped = (f' after skipping {self.max_skips} non-finite step(s)'
                       if self.max_skips else '')
            raise TrainingError(
                f'non-finite loss ({names}) at {where}{skipped}; training stopped before '
                'the weights were updated. Lower the learning rate, check the data, or set '
                'default_hooks.non_finite.max_skips')
        MMLogger.get_current_instance().warning(
            f'non-finite loss ({names}) at {where}: step skipped '
            f'({self.skipped} of at most {self.max_skips})')
