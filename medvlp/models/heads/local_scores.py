# Copyright (c) medvlp contributors. All rights reserved.
"""Alternative region-word local scores for :class:`RegionWordAlignmentHead`."""
import torch
import torch.nn.functional as F
from torch import nn

from medvlp.registry import MODELS


@MODELS.register_module()
class DAMSMLocalScore(nn.Module):
    """AttnGAN/DAMSM's word-region score, as JoImTeRNet's official code computes it.

    For image ``i`` (regions ``r_l``) and report ``j`` (valid words ``w_k``):

    * raw dot products ``s_lk = r_l . w_k`` (no normalisation);
    * a softmax over the words for every region, ``b_lk = softmax_k(s_lk)``;
    * a softmax over the regions for every word, ``a_kl = softmax_l(gamma1 * b_lk)``;
    * the context ``c_k = sum_l a_kl r_l`` and ``R_k = cos(c_k, w_k)``;
    * the score ``S_ij = log(sum_k exp(gamma2 * R_k))``, *not* divided by ``gamma2``.

    The scores are therefore about ``gamma2`` times those of the head's default cosine
    attention score. Reports without a valid word score 0.

    Args:
        gamma1 (float): Sharpening of the softmax over regions. Defaults to 4.
        gamma2 (float): Sharpening of the word aggregation. Defaults to 5.
    """

    def __init__(self, gamma1: float = 4.0, gamma2: float = 5.0) -> None:
        super().__init__()
        self.gamma1 = gamma1
        self.gamma2 = gamma2

    def forward(self, regions: torch.Tensor, words: torch.Tensor,
                word_mask: torch.Tensor) -> torch.Tensor:
        """``[B_img, B_txt]`` scores of ``regions`` ``[B_img, R, D]`` against ``words``
        ``[B_txt, W, D]`` with ``word_mask`` ``[B_txt, W]`` (True = valid word)."""
        word_mask = word_mask.bool()
        valid = word_mask[None, :, :, None]                              # [1, Bt, W, 1]
        raw = torch.einsum('jwd,ird->ijwr', words, regions)              # [Bi, Bt, W, R]
        # a large finite fill keeps the softmax finite for reports without a valid word
        over_words = torch.softmax(raw.masked_fill(~valid, -1e4), dim=2)
        attn = torch.softmax(self.gamma1 * over_words, dim=-1)          # over regions
        context = torch.einsum('ijwr,ird->ijwd', attn, regions)
        word_scores = F.cosine_similarity(context, words[None].expand_as(context), dim=-1,
                                          eps=1e-8)                     # [Bi, Bt, W]
        word_scores = (self.gamma2 * word_scores).masked_fill(~valid[..., 0], -1e4)
        scores = torch.logsumexp(word_scores, dim=-1)
        return scores.masked_fill(~word_mask.any(-1)[None], 0.)

    def extra_repr(self) -> str:
        return f'gamma1={self.gamma1}, gamma2={self.gamma2}'
