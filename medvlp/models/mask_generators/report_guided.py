# Copyright (c) medvlp contributors. All rights reserved.
"""MedIM's report-guided patch masking (knowledge-word and sentence driven)."""
import logging
import os
from typing import NamedTuple, Optional, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import nn

from medvlp.registry import MODELS


class ReportPatchMap(NamedTuple):
    """The patch map a :class:`ReportGuidedMaskGenerator` hands to its mask rule.

    Attributes:
        patch_map (torch.Tensor): ``[B, P]`` float32 summed attention of the selected
            words (the fallback's map for the samples in ``fallback``).
        fallback (torch.Tensor): ``[B]`` bool, True where the sample had no keyword
            (``kwm``) or no eligible sentence (``sdm``) and the fallback map was used.
        sentence (torch.Tensor): ``[B]`` long, the sentence id chosen per sample in
            ``sdm`` mode; -1 in ``kwm`` mode and for fallback samples.
    """
    patch_map: torch.Tensor
    fallback: torch.Tensor
    sentence: torch.Tensor


@MODELS.register_module()
class ReportGuidedMaskGenerator(BaseModule):
    """Mask the image patches that the report talks about (MedIM, MICCAI 2023).

    From the word-to-patch attention of a region-word alignment head, a per-patch map is
    built for every image, and a mask rule (by default MedIM's median split) turns it
    into a boolean mask:

    * ``'kwm'`` (knowledge-word-driven masking): the map is the sum of the attention rows
      of the report's keyword (MeSH term) words;
    * ``'sdm'`` (sentence-driven masking): one sentence is chosen uniformly at random
      among the report's sentences with at least ``min_sentence_words`` valid words, and
      the map is the sum of that sentence's attention rows.

    Keywords can leave out negated ("no *effusion*", ``use_negated=False``) and uncertain
    ("may represent *pneumonia*", ``use_uncertain=False``) mentions, given the per-word
    ``word_negated`` / ``word_uncertain`` flags that ``TokenizeReport`` packs.

    A sample without a keyword (``kwm``) or an eligible sentence (``sdm``) takes the
    ``fallback``. Such samples are counted on the device, read as :attr:`fallback_count`
    (cumulative) and :attr:`last_fallback_count` (last call), and reported through
    mmengine's logger (one host sync) at
    most once every ``log_interval`` calls; a report covers every fallback since the
    previous one, so none goes unreported while the generator keeps being called.

    Everything is vectorised over the batch, with static shapes (no host synchronisation
    after the first call), and all randomness (sentence choice, ``[B, W]`` scores, one per
    word slot; random fallback map; the rule's noise, in that order) comes from the
    ``generator`` passed to :meth:`forward`, so a seeded generator reproduces the mask.

    Args:
        mode (str): ``'kwm'`` or ``'sdm'``. Defaults to ``'kwm'``.
        mask_rule (dict | nn.Module): Config (built from :data:`medvlp.registry.MODELS`,
            in the ``medvlp`` scope unless it sets ``_scope_``) or instance of the rule
            called as ``rule(patch_map, generator=generator)``. Defaults to
            ``dict(type='MedianSplitMaskRule', high_ratio=0.9, low_ratio=0.1)``.
        min_sentence_words (int): Valid words a sentence needs to be chosen in ``sdm``
            mode. Defaults to 3.
        use_negated (bool): Whether negated keywords ("no *effusion*") count in ``kwm``
            mode. When False, words flagged in ``word_negated`` are left out. Sentence
            selection in ``sdm`` mode is not affected. Defaults to True.
        use_uncertain (bool): Whether uncertain keywords ("possible *pneumonia*") count
            in ``kwm`` mode. When False, words flagged in ``word_uncertain`` are left out.
            Defaults to True.
        fallback (str): For samples without keyword / eligible sentence: ``'random'``
            (a uniform random map, so the rule masks a random set of the same size),
            ``'all_words'`` (the sum over all valid words of the report),
            ``'zero_map'`` (keep the all-zero map and let the rule decide: the official
            MedIM threshold split then masks ``low_ratio`` of all patches),
            ``'any_sentence'`` (``sdm`` only, the official code: choose among all
            sentences with at least one valid word, and keep a zero map when there is
            none) or ``'error'`` (raise a ValueError naming the samples). Defaults to
            ``'random'``.
        log_interval (int): Report fallbacks at most once every this many calls.
            Defaults to 50.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    MODES = ('kwm', 'sdm')
    FALLBACKS = ('random', 'all_words', 'zero_map', 'any_sentence', 'error')

    def __init__(self,
                 mode: str = 'kwm',
                 mask_rule: Union[dict, nn.Module] = dict(
                     type='MedianSplitMaskRule', high_ratio=0.9, low_ratio=0.1),
                 min_sentence_words: int = 3,
                 use_negated: bool = True,
                 use_uncertain: bool = True,
                 fallback: str = 'random',
                 log_interval: int = 50,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if mode not in self.MODES:
            raise ValueError(f'unknown mode {mode!r}; expected one of {self.MODES}')
        if fallback not in self.FALLBACKS:
            raise ValueError(f'unknown fallback {fallback!r}; expected one of '
                             f'{self.FALLBACKS}')
        if fallback == 'any_sentence' and mode != 'sdm':
            raise ValueError("fallback='any_sentence' only applies to mode='sdm'")
        if min_sentence_words < 1:
            raise ValueError(f'min_sentence_words must be >= 1, got {min_sentence_words}')
        if log_interval < 1:
            raise ValueError(f'log_interval must be >= 1, got {log_interval}')
        self.mode = mode
        self.min_sentence_words = min_sentence_words
        self.use_negated = use_negated
        self.use_uncertain = use_uncertain
        self.fallback = fallback
        self.log_interval = log_interval
        if isinstance(mask_rule, dict):
            mask_rule = dict(mask_rule)
            mask_rule.setdefault('_scope_', 'medvlp')
            mask_rule = MODELS.build(mask_rule)
        self.mask_rule = mask_rule

        # fallback statistics live on the device and are read back (one host sync) at most
        # once every log_interval calls, never in between
        for name in ('_fallback_total', '_fallback_last', '_fallback_unreported'):
            self.register_buffer(name, torch.zeros((), dtype=torch.long), persistent=False)
        self.num_calls = 0
        self.num_samples = 0
        self._last_check_call: Optional[int] = None
        self._checked_counts = False
        self._warned_missing = set()

    def extra_repr(self) -> str:
        return (f'mode={self.mode!r}, min_sentence_words={self.min_sentence_words}, '
                f'use_negated={self.use_negated}, use_uncertain={self.use_uncertain}, '
                f'fallback={self.fallback!r}')

    @staticmethod
    def _check_inputs(attention: torch.Tensor, word_keyword: torch.Tensor,
                      word_sentence_ids: torch.Tensor, word_negated: Optional[torch.Tensor],
                      word_uncertain: Optional[torch.Tensor],
                      generator: Optional[torch.Generator]) -> None:
        if attention.dim() != 3:
            raise ValueError('attention must be [B, W, P] (batch, words, patches), got shape '
                             f'{tuple(attention.shape)}')
        words_shape = tuple(attention.shape[:2])
        named = [('word_keyword', word_keyword), ('word_sentence_ids', word_sentence_ids),
                 ('word_negated', word_negated), ('word_uncertain', word_uncertain)]
        for name, tensor in named:
            if tensor is not None and tuple(tensor.shape) != words_shape:
                raise ValueError(f'{name} has shape {tuple(tensor.shape)} but attention '
                                 f'{tuple(attention.shape)} needs [B, W] = {words_shape}')
        if word_sentence_ids.is_floating_point() or word_sentence_ids.dtype == torch.bool:
            raise ValueError('word_sentence_ids must hold integer sentence indices, got '
                             f'dtype {word_sentence_ids.dtype}')
        if generator is not None and generator.device.type != attention.device.type:
            raise ValueError(f'the generator is on {generator.device} but attention on '
                             f'{attention.device}; pass a generator on the same device')

    def _select_sentence(self, valid: torch.Tensor, word_sentence_ids: torch.Tensor,
                         generator: Optional[torch.Generator]
                         ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Choose one eligible sentence per sample; ``(selected words, sentence id)``."""
        batch, num_words = word_sentence_ids.shape
        # every sentence has a word, so W sentence slots suffice: a static size, no sync on
        # word_sentence_ids.max() (checked under MEDVLP_DEBUG=1)
        num_sentences = max(num_words, 1)
        if os.environ.get('MEDVLP_DEBUG') and word_sentence_ids.numel() and \
                int(word_sentence_ids.max()) >= num_sentences:
            raise ValueError(f'sentence ids up to {int(word_sentence_ids.max())} for '
                             f'{num_words} word slots: a sentence without words?')
        word_sentence_ids = word_sentence_ids.clamp(max=num_sentences - 1)
        words_per_sentence = torch.zeros(
            batch, num_sentences, dtype=torch.long, device=valid.device)
        words_per_sentence.scatter_add_(1, word_sentence_ids.clamp(min=0).long(),
                                        valid.long())
        eligible = words_per_sentence >= self.min_sentence_words        # [B, S]
        if self.fallback == 'any_sentence':
            # the official rule: without an eligible sentence, any sentence with a word
            eligible = torch.where(eligible.any(dim=1, keepdim=True), eligible,
                                   words_per_sentence > 0)
        scores = torch.rand(batch, num_sentences, device=valid.device, generator=generator)
        chosen = scores.masked_fill(~eligible, -1.).argmax(dim=1)       # [B]
        chosen = torch.where(eligible.any(dim=1), chosen, torch.full_like(chosen, -1))
        selected = valid & (word_sentence_ids == chosen[:, None])
        return selected, chosen

    def _drop_flagged(self, selected: torch.Tensor, flags: Optional[torch.Tensor],
                      name: str) -> torch.Tensor:
        """Leave out the words flagged in ``flags`` (warn once when they are missing)."""
        if flags is not None:
            return selected & (flags == 0)
        if name not in self._warned_missing:
            knob = 'use_negated' if name == 'word_negated' else 'use_uncertain'
            print_log(f'ReportGuidedMaskGenerator({knob}=False) got no {name} flags; '
                      f'those keywords are kept (pack {name} with TokenizeReport)',
                      logger='current', level=logging.WARNING)
            self._warned_missing.add(name)
        return selected

    @torch.no_grad()
    def patch_map(self,
                  attention: torch.Tensor,
                  word_keyword: torch.Tensor,
                  word_sentence_ids: torch.Tensor,
                  word_negated: Optional[torch.Tensor] = None,
                  generator: Optional[torch.Generator] = None,
                  word_uncertain: Optional[torch.Tensor] = None) -> ReportPatchMap:
        """Build the per-patch map the mask rule sees (no counting, no logging).

        Args:
            attention (torch.Tensor): ``[B, W, P]`` attention of every word over the
                image patches (rows of padding words are ignored).
            word_keyword (torch.Tensor): ``[B, W]`` bool or 0/1, True for MeSH words.
            word_sentence_ids (torch.Tensor): ``[B, W]`` integer sentence index of every
                word, -1 for padding / special tokens (such words never count).
            word_negated (torch.Tensor, optional): ``[B, W]`` bool or 0/1, True for
                negated words; only used when ``use_negated=False``.
            generator (torch.Generator, optional): Random source on ``attention``'s
                device. Defaults to torch's global one.
            word_uncertain (torch.Tensor, optional): ``[B, W]`` bool or 0/1, True for
                uncertain words; only used when ``use_uncertain=False``.

        Returns:
            ReportPatchMap: The map, the fallback flags and the chosen sentences.

        Raises:
            ValueError: On inconsistent shapes, or, with ``fallback='error'``, when a
                sample has no keyword / eligible sentence (the message names it).
        """
        self._check_inputs(attention, word_keyword, word_sentence_ids, word_negated,
                           word_uncertain, generator)
        attention = attention.detach()
        valid = word_sentence_ids >= 0
        if self.mode == 'kwm':
            selected = valid & (word_keyword != 0)
            if not self.use_negated:
                selected = self._drop_flagged(selected, word_negated, 'word_negated')
            if not self.use_uncertain:
                selected = self._drop_flagged(selected, word_uncertain, 'word_uncertain')
            sentence = torch.full(valid.shape[:1], -1, dtype=torch.long,
                                  device=valid.device)
        else:
            selected, sentence = self._select_sentence(valid, word_sentence_ids, generator)

        def summed_rows(words: torch.Tensor) -> torch.Tensor:
            return torch.einsum('bw,bwp->bp', words.to(attention.dtype), attention).float()

        patch_map = summed_rows(selected)
        fallback = ~selected.any(dim=1)
        if self.fallback == 'random':
            noise = torch.rand(patch_map.shape, device=patch_map.device, generator=generator)
            patch_map = torch.where(fallback[:, None], noise, patch_map)
        elif self.fallback == 'all_words':
            patch_map = torch.where(fallback[:, None], summed_rows(valid), patch_map)
        elif self.fallback == 'error' and fallback.any():
            missing = 'keyword word' if self.mode == 'kwm' else (
                f'sentence with >= {self.min_sentence_words} words')
            raise ValueError(f'ReportGuidedMaskGenerator(mode={self.mode!r}): sample(s) '
                             f'{fallback.nonzero().flatten().tolist()} of the batch have no '
                             f'{missing} (fallback=\'error\')')
        return ReportPatchMap(patch_map, fallback, sentence)

    @property
    def fallback_count(self) -> int:
        """Samples that took the fallback, over all calls (reads the device counter)."""
        return int(self._fallback_total)

    @property
    def last_fallback_count(self) -> int:
        """Samples that took the fallback in the last call (reads the device counter)."""
        return int(self._fallback_last)

    def _count_fallbacks(self, fallback: torch.Tensor) -> None:
        """Accumulate on the device; check and log at most once per ``log_interval``."""
        num = fallback.sum()
        self._fallback_last.copy_(num)
        self._fallback_total += num
        self._fallback_unreported += num
        self.num_calls += 1
        self.num_samples += fallback.numel()
        due = self._last_check_call is None or \
            self.num_calls - self._last_check_call >= self.log_interval
        if not due:
            return
        self._last_check_call = self.num_calls
        unreported = int(self._fallback_unreported)  # the one host sync per interval
        if unreported:
            what = 'no keyword' if self.mode == 'kwm' else 'no eligible sentence'
            print_log(f'ReportGuidedMaskGenerator(mode={self.mode!r}): '
                      f'{unreported} sample(s) with {what} since the last report '
                      f'used the {self.fallback!r} fallback; {self.fallback_count} of '
                      f'{self.num_samples} samples in {self.num_calls} calls so far',
                      logger='current', level=logging.WARNING)
            self._fallback_unreported.zero_()

    def _check_counts(self, mask: torch.Tensor) -> None:
        """Every sample masks the same number of patches (first call, or MEDVLP_DEBUG=1)."""
        if self._checked_counts and not os.environ.get('MEDVLP_DEBUG'):
            return
        counts = mask.sum(dim=1)
        if mask.size(0) and bool((counts != counts[0]).any()):
            raise ValueError(f'mask rule {type(self.mask_rule).__name__} masked different '
                             f'numbers of patches per sample ({counts.tolist()}); a rule '
                             'must mask the same number in every sample')
        self._checked_counts = True

    @torch.no_grad()
    def forward(self,
                attention: torch.Tensor,
                word_keyword: torch.Tensor,
                word_sentence_ids: torch.Tensor,
                word_negated: Optional[torch.Tensor] = None,
                generator: Optional[torch.Generator] = None,
                return_map: bool = False,
                word_uncertain: Optional[torch.Tensor] = None
                ) -> Union[torch.Tensor, Tuple[torch.Tensor, ReportPatchMap]]:
        """Generate the patch masks of a batch.

        Args:
            attention (torch.Tensor): ``[B, W, P]`` word-to-patch attention.
            word_keyword (torch.Tensor): ``[B, W]`` keyword (MeSH) flags.
            word_sentence_ids (torch.Tensor): ``[B, W]`` sentence index per word, -1 for
                padding / no word.
            word_negated (torch.Tensor, optional): ``[B, W]`` negation flags.
            generator (torch.Generator, optional): Random source on ``attention``'s
                device. Defaults to torch's global one.
            return_map (bool): Also return the :class:`ReportPatchMap` (for
                visualisation). Defaults to False.
            word_uncertain (torch.Tensor, optional): ``[B, W]`` uncertainty flags.

        Returns:
            torch.Tensor | tuple: ``[B, P]`` bool mask (True = masked), with the same
            number of masked patches in every sample unless the rule's ``fixed_count`` is
            False; ``(mask, ReportPatchMap)`` when ``return_map``.
        """
        info = self.patch_map(attention, word_keyword, word_sentence_ids, word_negated,
                              generator, word_uncertain)
        if self.fallback != 'error':
            self._count_fallbacks(info.fallback)
        mask = self.mask_rule(info.patch_map, generator=generator)
        if tuple(mask.shape) != tuple(info.patch_map.shape):
            raise ValueError(f'mask rule {type(self.mask_rule).__name__} returned shape '
                             f'{tuple(mask.shape)} for a patch map of shape '
                             f'{tuple(info.patch_map.shape)}')
        mask = mask.bool()
        if not getattr(self.mask_rule, 'fixed_count', True):
            return (mask, info) if return_map else mask
        self._check_counts(mask)
        return (mask, info) if return_map else mask
