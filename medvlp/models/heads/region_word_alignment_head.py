# Copyright (c) medvlp contributors. All rights reserved.
"""Global image-report and local region-word alignment (JoImTeRNet / GLoRIA style)."""
from dataclasses import dataclass
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from medvlp.registry import MODELS
from ..losses import bidirectional_cross_entropy
from ..utils import gather_batches, world_size


@dataclass
class AlignmentScores:
    """Similarities of every image with every report of a batch.

    Attributes:
        global_scores (torch.Tensor): ``[B_img, B_txt]`` cosine similarity of the global
            image and report features.
        local_scores (torch.Tensor): ``[B_img, B_txt]`` word-aggregated region-word score
            (cosine scale, see :meth:`RegionWordAlignmentHead.local_scores`).
        attention (torch.Tensor): ``[B, W, R]`` attention of each word of report ``b``
            over the regions of its own image ``b``; rows of masked words are zero.
    """
    global_scores: torch.Tensor
    local_scores: torch.Tensor
    attention: torch.Tensor


@MODELS.register_module()
class RegionWordAlignmentHead(BaseModule):
    """Aligns X-ray regions with report words, and whole images with whole reports.

    For image ``i`` and report ``j`` with words ``w_k`` (valid per ``word_mask``) and
    regions ``r_l`` (all in the shared embedding space):

    * attention of word ``k`` over regions: ``a_kl = softmax_l(gamma1 * cos(w_k, r_l))``;
    * its context vector ``c_k = sum_l a_kl r_l`` and word score ``R_k = cos(c_k, w_k)``;
    * the local score ``S_ij = log(sum_k exp(gamma2 * R_k)) / gamma2`` over valid words;
    * logits ``gamma3 * S`` (local) and ``gamma3 * cos(g_img_i, g_txt_j)`` (global) feed
      cross-entropy matching in both directions (the diagonal holds the matches), and the
      unscaled scores feed a bidirectional ranking (triplet) loss with in-batch negatives.

    In distributed runs the negatives come from every process (``cross_process_negatives``,
    the default): each process gathers the global features, regions, words and word masks
    of all processes (with their gradients) and scores its own images and reports against
    all ``N * B`` candidates, so N processes with batches of B optimise the same objective
    as one process with a batch of ``N * B`` (the mean of the processes' losses equals that
    process's loss, and DDP's averaged gradient equals its gradient). Each process logs its
    own share. ``cross_process_negatives=False`` keeps the negatives of each process's own
    batch (``B`` candidates), which is cheaper and a different objective.

    Padding and special tokens never take part: masked words get no attention row, no
    score, and do not enter the aggregation; regions are whatever the image neck returns
    (patch tokens without the class token, or CNN feature-map cells).

    Args:
        gamma1 (float): Sharpening of the word-over-regions attention. Defaults to 4.
        gamma2 (float): Sharpening of the word-score aggregation. Defaults to 5.
        gamma3 (float): Scale of the logits of both cross-entropy terms. Defaults to 10.
        triplet_loss (dict): Config of the ranking loss. Defaults to
            ``dict(type='BidirectionalRankingLoss', margin=0.2, negative='hardest')``.
        loss_weights (dict): Weights of ``global_ce``, ``local_ce``, ``global_triplet`` and
            ``local_triplet``; a weight of 0 skips that term. Defaults to JoImTeRNet's
            1 x cross-entropy + 2 x triplet.
        cross_process_negatives (bool): Gather the candidates of every process in
            distributed runs. Defaults to True.
        local_score (dict, optional): A registered module ``(regions, words, word_mask)
            -> [B_img, B_txt]`` replacing the local score above, e.g.
            ``dict(type='DAMSMLocalScore')`` (JoImTeRNet's official double softmax).
            Defaults to None (the cosine score above).
        sum_directions (bool): Sum the image-to-text and text-to-image terms of every
            loss (the official JoImTeRNet code) instead of averaging them. Defaults to
            False.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    LOSS_TERMS = ('global_ce', 'local_ce', 'global_triplet', 'local_triplet')

    def __init__(self,
                 gamma1: float = 4.0,
                 gamma2: float = 5.0,
                 gamma3: float = 10.0,
                 triplet_loss: dict = dict(
                     type='BidirectionalRankingLoss', margin=0.2, negative='hardest'),
                 loss_weights: Optional[Dict[str, float]] = None,
                 cross_process_negatives: bool = True,
                 local_score: Optional[dict] = None,
                 sum_directions: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.local_scorer = None if local_score is None else MODELS.build(local_score)
        self.sum_directions = sum_directions
        self.cross_process_negatives = cross_process_negatives
        self.gamma1 = gamma1
        self.gamma2 = gamma2
        self.gamma3 = gamma3
        weights = dict(global_ce=1.0, local_ce=1.0, global_triplet=2.0, local_triplet=2.0)
        unknown = set(loss_weights or {}) - set(self.LOSS_TERMS)
        if unknown:
            raise ValueError(f'unknown loss_weights keys {sorted(unknown)}; '
                             f'valid keys: {self.LOSS_TERMS}')
        weights.update(loss_weights or {})
        self.loss_weights = weights
        self.triplet_loss = MODELS.build(triplet_loss)

    @staticmethod
    def _check_inputs(regions: torch.Tensor, words: torch.Tensor,
                      word_mask: torch.Tensor) -> None:
        if regions.dim() != 3 or words.dim() != 3:
            raise ValueError('regions must be [B, R, D] and words [B, W, D], got '
                             f'{tuple(regions.shape)} and {tuple(words.shape)}')
        if regions.size(-1) != words.size(-1):
            raise ValueError(f'regions ({regions.size(-1)}-d) and words ({words.size(-1)}-d) '
                             'must be projected to the same dimension')
        if word_mask.shape != words.shape[:2]:
            raise ValueError(f'word_mask {tuple(word_mask.shape)} does not match words '
                             f'{tuple(words.shape[:2])}')

    def attention(self, regions: torch.Tensor, words: torch.Tensor,
                  word_mask: torch.Tensor) -> torch.Tensor:
        """Word-to-region attention of each report over its own image.

        Args:
            regions (torch.Tensor): ``[B, R, D]`` region features.
            words (torch.Tensor): ``[B, W, D]`` word features.
            word_mask (torch.Tensor): ``[B, W]`` True for real words.

        Returns:
            torch.Tensor: ``[B, W, R]``; each valid word's row sums to 1, masked rows are 0.
            This is what MedIM's mask generator and the visualisation tools consume.
        """
        self._check_inputs(regions, words, word_mask)
        sim = torch.einsum('bwd,brd->bwr', F.normalize(words, dim=-1),
                           F.normalize(regions, dim=-1))
        attn = torch.softmax(self.gamma1 * sim, dim=-1)
        return attn * word_mask[..., None].to(attn.dtype)

    def local_scores(self, regions: torch.Tensor, words: torch.Tensor,
                     word_mask: torch.Tensor) -> torch.Tensor:
        """Region-word scores of every image with every report.

        Memory grows as ``B_img * B_txt * W * D``; for large batches, chunk over images.

        Returns:
            torch.Tensor: ``[B_img, B_txt]`` scores on the cosine scale.
        """
        self._check_inputs(regions, words, word_mask)
        if self.local_scorer is not None:
            return self.local_scorer(regions, words, word_mask.bool())
        words_n = F.normalize(words, dim=-1)
        sim = torch.einsum('jwd,ird->ijwr', words_n, F.normalize(regions, dim=-1))
        attn = torch.softmax(self.gamma1 * sim, dim=-1)             # [Bi, Bt, W, R]
        context = torch.einsum('ijwr,ird->ijwd', attn, regions)     # [Bi, Bt, W, D]
        word_scores = (F.normalize(context, dim=-1) * words_n[None]).sum(-1)  # [Bi, Bt, W]
        valid = word_mask[None].expand_as(word_scores)
        # A large finite fill instead of -inf keeps logsumexp's gradient finite for reports
        # without any valid word; those get score 0 (and no gradient) below.
        word_scores = (self.gamma2 * word_scores).masked_fill(~valid, -1e4)
        scores = torch.logsumexp(word_scores, dim=-1) / self.gamma2
        return scores.masked_fill(~valid.any(-1), 0.)

    def forward(self, img_global: torch.Tensor, regions: torch.Tensor,
                txt_global: torch.Tensor, words: torch.Tensor,
                word_mask: torch.Tensor) -> AlignmentScores:
        """Compute all similarities of a batch.

        Args:
            img_global (torch.Tensor): ``[B, D]`` global image features.
            regions (torch.Tensor): ``[B, R, D]`` region features.
            txt_global (torch.Tensor): ``[B, D]`` global report (or sentence) features.
            words (torch.Tensor): ``[B, W, D]`` word features.
            word_mask (torch.Tensor): ``[B, W]`` bool, True for real words.
        """
        word_mask = word_mask.bool()
        global_scores = F.normalize(img_global, dim=-1) @ F.normalize(txt_global, dim=-1).t()
        return AlignmentScores(
            global_scores=global_scores,
            local_scores=self.local_scores(regions, words, word_mask),
            attention=self.attention(regions, words, word_mask))

    def loss(self, img_global: torch.Tensor, regions: torch.Tensor,
             txt_global: torch.Tensor, words: torch.Tensor,
             word_mask: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The weighted alignment losses (arguments as in :meth:`forward`).

        Returns:
            dict: ``loss_global_ce``, ``loss_local_ce``, ``loss_global_triplet`` and
            ``loss_local_triplet`` for every term with a non-zero weight.
        """
        word_mask = word_mask.bool()
        if self.cross_process_negatives and world_size() > 1:
            scores = self._cross_process_scores(img_global, regions, txt_global, words,
                                                word_mask)
        else:
            square = self(img_global, regions, txt_global, words, word_mask)
            scores = dict(global_scores=(square.global_scores, None),
                          local_scores=(square.local_scores, None), targets=None)
        targets = scores['targets']

        def ce(name):
            i2t, t2i = scores[name]
            return bidirectional_cross_entropy(self.gamma3 * i2t,
                                               None if t2i is None else self.gamma3 * t2i,
                                               targets)

        terms = dict(
            global_ce=lambda: ce('global_scores'),
            local_ce=lambda: ce('local_scores'),
            global_triplet=lambda: self.triplet_loss(*scores['global_scores'], targets),
            local_triplet=lambda: self.triplet_loss(*scores['local_scores'], targets))
        # the mean of the two directions, or their sum (both have the same anchors)
        scale = 2. if self.sum_directions else 1.
        return {f'loss_{name}': scale * self.loss_weights[name] * compute()
                for name, compute in terms.items() if self.loss_weights[name]}

    def _cross_process_scores(self, img_global, regions, txt_global, words,
                              word_mask) -> dict:
        """Scores of this process's images and reports (rows) against every process's
        (columns): ``{name: (image rows, text rows)}`` and the ``targets`` columns."""
        (all_img, all_regions, all_txt, all_words, all_mask), offset = gather_batches(
            img_global, regions, txt_global, words, word_mask)
        if all_regions.size(1) != regions.size(1):
            raise ValueError('cross-process negatives need the same number of regions on '
                             f'every process, got {regions.size(1)} here and up to '
                             f'{all_regions.size(1)} elsewhere')
        # this process's words padded like the gathered ones (zeros, masked out)
        own = slice(offset, offset + img_global.size(0))
        img_n, txt_n = F.normalize(img_global, dim=-1), F.normalize(txt_global, dim=-1)
        return dict(
            global_scores=(img_n @ F.normalize(all_txt, dim=-1).t(),
                           txt_n @ F.normalize(all_img, dim=-1).t()),
            local_scores=(self.local_scores(regions, all_words, all_mask),
                          self.local_scores(all_regions, all_words[own], all_mask[own]).t()),
            targets=torch.arange(own.start, own.stop, device=img_global.device))
