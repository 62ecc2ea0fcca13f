# Copyright (c) medvlp contributors. All rights reserved.
"""Rules that turn a per-patch score map into a boolean patch mask.

Every rule but MedIM's official value-threshold split masks the same, exact number of
patches in every sample of a batch, so the visible tokens of an MAE-style encoder can be
gathered into a dense ``[B, L_keep, C]`` tensor (:attr:`BaseMaskRule.fixed_count`). A rule
draws all its randomness as uniform noise of shape ``[num_noise, B, P]``
(:meth:`BaseMaskRule.sample_noise`) and then applies a deterministic function of the map
and that noise (:meth:`BaseMaskRule.mask_from_noise`); the split lets tests replay one
sample of a batch with the batch's own random numbers.
"""
import math
from abc import ABCMeta, abstractmethod
from typing import Optional, Tuple

import torch
from torch import nn

from medvlp.registry import MODELS


def round_half_up(value: float) -> int:
    """Round to the nearest integer, halves upwards (``2.5 -> 3``, unlike ``round``).

    A tiny tolerance absorbs float error, so ``0.1 * 5`` (``0.5000000000000001``) and
    ``0.15 * 10`` (``1.4999999999999998``) round like the exact products would.
    """
    return int(math.floor(value + 0.5 + 1e-9))


def _check_ratio(name: str, value: float, open_interval: bool = False) -> None:
    """Reject a ratio outside ``[0, 1]`` (``(0, 1)`` with ``open_interval``).

    A rule that masks nothing leaves the reconstruction loss an empty mean (NaN from the
    first step); one that masks everything leaves the encoder no visible token.
    """
    if open_interval and not 0. < value < 1.:
        raise ValueError(f'{name} must be in (0, 1) (strictly: 0 masks nothing and 1 masks '
                         f'every patch), got {value}')
    if not 0. <= value <= 1.:
        raise ValueError(f'{name} must be in [0, 1], got {value}')


def _rank_descending(patch_map: torch.Tensor, tie_noise: torch.Tensor) -> torch.Tensor:
    """Patch indices ordered by decreasing map value, ties in a random order.

    The patches are first shuffled by ``tie_noise`` and then stably sorted by value, so
    equal values keep the shuffled (random) order.

    Args:
        patch_map (torch.Tensor): ``[B, P]`` scores.
        tie_noise (torch.Tensor): ``[B, P]`` uniform noise, one value per patch.

    Returns:
        torch.Tensor: ``[B, P]`` long; ``ranked[b, 0]`` is sample ``b``'s highest patch.
    """
    shuffle = tie_noise.argsort(dim=1)
    order = patch_map.gather(1, shuffle).argsort(dim=1, descending=True, stable=True)
    return shuffle.gather(1, order)


def _mask_first(ranked: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Boolean ``[B, P]`` mask of the patches ``ranked[:, positions]``."""
    mask = torch.zeros(ranked.shape, dtype=torch.bool, device=ranked.device)
    return mask.scatter_(1, ranked[:, positions], True)


class BaseMaskRule(nn.Module, metaclass=ABCMeta):
    """Base of the map-to-mask rules: ``rule(patch_map, generator) -> [B, P] bool``.

    Subclasses set :attr:`num_noise` and implement :meth:`num_masked` and
    :meth:`mask_from_noise`. A custom rule does not have to derive from this class: the
    mask generator only calls ``rule(patch_map, generator=generator)`` and expects a
    ``[B, P]`` boolean mask with the same number of True values in every row.
    """

    #: How many ``[B, P]`` planes of uniform noise :meth:`sample_noise` draws.
    num_noise: int = 1
    #: Whether every sample gets exactly :meth:`num_masked` patches (rules for which this
    #: is False can only feed algorithms that zero-fill masked features).
    fixed_count: bool = True

    @abstractmethod
    def num_masked(self, num_patches: int) -> int:
        """How many of ``num_patches`` patches every sample gets masked."""

    @abstractmethod
    def mask_from_noise(self, patch_map: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Deterministic part of the rule.

        Args:
            patch_map (torch.Tensor): ``[B, P]`` float scores (higher = more relevant).
            noise (torch.Tensor): ``[num_noise, B, P]`` uniform noise in ``(0, 1)``.

        Returns:
            torch.Tensor: ``[B, P]`` bool, True = masked.
        """

    def sample_noise(self, patch_map: torch.Tensor,
                     generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Draw the rule's noise: ``[num_noise, B, P]`` float32, uniform in ``(0, 1)``."""
        noise = torch.rand((self.num_noise, ) + tuple(patch_map.shape),
                           device=patch_map.device, generator=generator)
        # torch.rand may return exactly 0, which the Gumbel transform cannot take
        return noise.clamp_(min=torch.finfo(noise.dtype).tiny)

    def forward(self, patch_map: torch.Tensor,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Mask ``num_masked(P)`` patches of every sample.

        Args:
            patch_map (torch.Tensor): ``[B, P]`` scores (higher = more relevant).
            generator (torch.Generator, optional): Random source, on ``patch_map``'s
                device. Defaults to torch's global one.

        Returns:
            torch.Tensor: ``[B, P]`` bool, True = masked.
        """
        if patch_map.dim() != 2:
            raise ValueError(f'{type(self).__name__} expects a [B, P] patch map, got shape '
                             f'{tuple(patch_map.shape)}')
        patch_map = patch_map.detach().float()
        return self.mask_from_noise(patch_map, self.sample_noise(patch_map, generator))

    def extra_repr(self) -> str:
        return ', '.join(f'{k}={v}' for k, v in vars(self).items() if not k.startswith('_')
                         and k != 'training')


def count_of(ratio: float, size, rounding: str):
    """``ratio * size`` rounded by ``rounding``: ``'half_up'`` (:func:`round_half_up`) or
    ``'floor'`` (truncation, as ``int(ratio * size)``, with no tolerance for float error).
    ``size`` may be an int or an integer tensor (then the result is a long tensor)."""
    if rounding == 'floor':
        if torch.is_tensor(size):
            return torch.floor(ratio * size.double()).long()
        return int(math.floor(ratio * size))
    if torch.is_tensor(size):
        return torch.floor(ratio * size.double() + 0.5 + 1e-9).long()
    return round_half_up(ratio * size)


@MODELS.register_module()
class MedianSplitMaskRule(BaseMaskRule):
    """MedIM's rule: mask most of the high-score half and a little of the low half.

    The patches are split into an upper (high-score) and a lower half, and the rule masks
    ``high_ratio`` of the upper and ``low_ratio`` of the lower half, each chosen uniformly
    at random within its half. Two choices are options:

    * ``split='rank'`` (default): the patches are ranked by map value (ties in a random
      order); the upper half is the first ``ceil(P / 2)`` ranked patches (for an odd ``P``
      the median patch belongs to it), the lower half the other ``floor(P / 2)``. Every
      sample gets the same number of masked patches.
    * ``split='threshold'`` (the official code): with ``t`` the value at position
      ``floor(P / 2)`` of the map sorted in decreasing order, the upper half holds the
      patches with a value ``> t`` and the lower half all others. Ties at ``t`` therefore
      all go to the lower half: an all-zero map (a report without a keyword) has an empty
      upper half, so only ``low_ratio`` of all patches are masked (19 of 196 with the
      official ratios). The count then differs between samples (:attr:`fixed_count` is
      False), which only a zero-filling ``mask_on='features'`` MedIM accepts.
    * ``rounding='half_up'`` (default) rounds ``ratio * half`` to the nearest integer,
      halves upwards; ``rounding='floor'`` truncates like the official ``int()`` (with
      ``P = 196``: ``int(98 * 0.9) + int(98 * 0.1) = 88 + 9 = 97``).

    With the defaults and ``P = 196`` the rule masks ``88 + 10 = 98`` patches, 50 %.

    Args:
        high_ratio (float): Fraction of the upper half to mask. Defaults to 0.9.
        low_ratio (float): Fraction of the lower half to mask. Defaults to 0.1.
        rounding (str): ``'half_up'`` or ``'floor'``. Defaults to ``'half_up'``.
        split (str): ``'rank'`` or ``'threshold'``. Defaults to ``'rank'``.
    """

    num_noise = 2  # tie-break of the ranking, choice within each half
    ROUNDINGS = ('half_up', 'floor')
    SPLITS = ('rank', 'threshold')

    def __init__(self, high_ratio: float = 0.9, low_ratio: float = 0.1,
                 rounding: str = 'half_up', split: str = 'rank') -> None:
        super().__init__()
        _check_ratio('high_ratio', high_ratio)
        _check_ratio('low_ratio', low_ratio)
        if high_ratio == low_ratio and high_ratio in (0., 1.):
            raise ValueError(f'high_ratio={high_ratio} and low_ratio={low_ratio} mask '
                             f'{"no" if high_ratio == 0 else "every"} patch; at least one '
                             'of them must be strictly between 0 and 1')
        if rounding not in self.ROUNDINGS:
            raise ValueError(f'rounding must be one of {self.ROUNDINGS}, got {rounding!r}')
        if split not in self.SPLITS:
            raise ValueError(f'split must be one of {self.SPLITS}, got {split!r}')
        self.high_ratio = high_ratio
        self.low_ratio = low_ratio
        self.rounding = rounding
        self.split = split

    @property
    def fixed_count(self) -> bool:
        """Whether every sample gets :meth:`num_masked` patches (False for ``'threshold'``)."""
        return self.split == 'rank'

    def split_sizes(self, num_patches: int) -> Tuple[int, int]:
        """``(upper, lower)`` sizes of the halves of a map without ties: ``(ceil(P / 2),
        floor(P / 2))`` for ``split='rank'``, ``(floor(P / 2), ceil(P / 2))`` for
        ``'threshold'``."""
        if self.split == 'threshold':
            return num_patches // 2, (num_patches + 1) // 2
        return (num_patches + 1) // 2, num_patches // 2

    def half_counts(self, num_patches: int) -> Tuple[int, int]:
        """``(masked in the upper half, masked in the lower half)`` for a map without ties."""
        upper, lower = self.split_sizes(num_patches)
        return (count_of(self.high_ratio, upper, self.rounding),
                count_of(self.low_ratio, lower, self.rounding))

    def num_masked(self, num_patches: int) -> int:
        """Masked patches per sample (for ``split='threshold'``: of a map without ties)."""
        return sum(self.half_counts(num_patches))

    def upper_half(self, patch_map: torch.Tensor, tie_noise: torch.Tensor) -> torch.Tensor:
        """``[B, P]`` bool, True for the patches of the upper (high-score) half."""
        if self.split == 'threshold':
            threshold = patch_map.sort(dim=1, descending=True).values[
                :, patch_map.size(1) // 2:patch_map.size(1) // 2 + 1]
            return patch_map > threshold
        ranked = _rank_descending(patch_map, tie_noise)
        upper, _ = self.split_sizes(patch_map.size(1))
        return _mask_first(ranked, torch.arange(upper, device=ranked.device))

    def mask_from_noise(self, patch_map: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        if self.split == 'threshold':
            return self._threshold_mask(patch_map, noise)
        num_patches = patch_map.size(1)
        upper, _ = self.split_sizes(num_patches)
        k_upper, k_lower = self.half_counts(num_patches)
        ranked = _rank_descending(patch_map, noise[0])
        # order the ranked patches by (half, choice noise): the upper half's patches come
        # first, shuffled, then the lower half's, shuffled
        in_lower = torch.arange(num_patches, device=ranked.device) >= upper
        key = noise[1].gather(1, ranked) + 2. * in_lower
        shuffled = ranked.gather(1, key.argsort(dim=1))
        positions = torch.cat([
            torch.arange(k_upper, device=ranked.device),
            torch.arange(upper, upper + k_lower, device=ranked.device)
        ])
        return _mask_first(shuffled, positions)

    def _threshold_mask(self, patch_map: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Per-sample halves by value threshold, per-sample counts (no host sync)."""
        upper = self.upper_half(patch_map, noise[0])                       # [B, P]
        num_upper = upper.sum(dim=1, keepdim=True)                         # [B, 1]
        k_upper = count_of(self.high_ratio, num_upper, self.rounding)
        k_lower = count_of(self.low_ratio, patch_map.size(1) - num_upper, self.rounding)
        # position of every patch in the order (upper half shuffled, then lower shuffled)
        key = noise[1] + 2. * (~upper)
        position = key.argsort(dim=1).argsort(dim=1)
        return torch.where(upper, position < k_upper, position - num_upper < k_lower)


class RatioMaskRule(BaseMaskRule):
    """Base of the rules that mask ``round(mask_ratio * P)`` patches, the ones first in a
    per-sample ranking given by :meth:`mask_from_noise`.

    Args:
        mask_ratio (float): Fraction of the patches to mask, in ``(0, 1)``.
            Defaults to 0.5.
    """

    def __init__(self, mask_ratio: float = 0.5) -> None:
        super().__init__()
        _check_ratio('mask_ratio', mask_ratio, open_interval=True)
        self.mask_ratio = mask_ratio

    def num_masked(self, num_patches: int) -> int:
        return round_half_up(self.mask_ratio * num_patches)

    def mask_first_ranked(self, ranked: torch.Tensor) -> torch.Tensor:
        """Mask the first ``num_masked(P)`` patches of each row of ``ranked`` ``[B, P]``."""
        k = self.num_masked(ranked.size(1))
        return _mask_first(ranked, torch.arange(k, device=ranked.device))


@MODELS.register_module()
class TopKMaskRule(RatioMaskRule):
    """Mask the ``round(mask_ratio * P)`` highest-score patches (ties in a random order).

    Args:
        mask_ratio (float): Fraction of the patches to mask. Defaults to 0.5.
    """

    def mask_from_noise(self, patch_map: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.mask_first_ranked(_rank_descending(patch_map, noise[0]))


@MODELS.register_module()
class SampledMaskRule(RatioMaskRule):
    """Sample ``round(mask_ratio * P)`` patches without replacement, weighted by the map.

    Patch ``p`` is drawn with probability proportional to ``max(map_p, 0) ** (1 / T)``
    (successively, without replacement), implemented with the Gumbel-top-k trick: the
    ``k`` largest ``log(w_p) + g_p`` with ``g_p ~ Gumbel(0, 1)`` are such a sample.
    Patches of weight 0 are only taken once every positive one is, uniformly among
    themselves; an all-zero map therefore gives a uniform random mask.

    Args:
        mask_ratio (float): Fraction of the patches to mask. Defaults to 0.5.
        temperature (float): ``T``; below 1 sharpens towards top-k, above 1 flattens
            towards uniform. Defaults to 1.
    """

    def __init__(self, mask_ratio: float = 0.5, temperature: float = 1.0) -> None:
        super().__init__(mask_ratio)
        if not temperature > 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.temperature = temperature

    def mask_from_noise(self, patch_map: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        gumbel = -torch.log(-torch.log(noise[0]))
        positive = patch_map > 0
        log_weight = torch.log(patch_map.clamp(min=torch.finfo(patch_map.dtype).tiny))
        key = torch.where(positive, log_weight / self.temperature + gumbel, gumbel)
        # positive-weight patches first (by key), then zero-weight ones (by key)
        by_key = key.argsort(dim=1, descending=True)
        ranked = by_key.gather(
            1, positive.gather(1, by_key).argsort(dim=1, descending=True, stable=True))
        return self.mask_first_ranked(ranked)


@MODELS.register_module()
class RandomMaskRule(RatioMaskRule):
    """Uniformly random ``round(mask_ratio * P)`` patches; ignores the map (MAE baseline).

    Args:
        mask_ratio (float): Fraction of the patches to mask. Defaults to 0.5.
    """

    def mask_from_noise(self, patch_map: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.mask_first_ranked(noise[0].argsort(dim=1))
