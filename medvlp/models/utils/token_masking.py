# Copyright (c) medvlp contributors. All rights reserved.
"""BERT-style masking of report tokens, per token or per whole word."""
from typing import Optional, Tuple

import torch


def select_masked_tokens(word_ids: torch.Tensor,
                         mask_prob: float,
                         whole_word: bool = True,
                         generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Choose which tokens to mask.

    Args:
        word_ids (torch.Tensor): ``[B, T]`` token -> word index, -1 for special tokens and
            padding (never masked).
        mask_prob (float): Probability of masking a word (``whole_word``) or a token.
        whole_word (bool): Mask all pieces of a chosen word together, never part of a word.
            Defaults to True.
        generator (torch.Generator, optional): Random source (on ``word_ids``' device).

    Returns:
        torch.Tensor: ``[B, T]`` bool, True for tokens to predict. At least one token is
        chosen in every sequence that has one.
    """
    if not 0 < mask_prob < 1:
        raise ValueError(f'mask_prob must be in (0, 1), got {mask_prob}')
    valid = word_ids >= 0
    if whole_word:
        # word indices are < T (every word has a token), so T word slots always suffice;
        # a static size keeps the GPU queue free of a host sync on word_ids.max()
        num_words = max(word_ids.size(1), 1)
        noise = torch.rand(word_ids.size(0), num_words, device=word_ids.device,
                           generator=generator)
        chosen = noise < mask_prob                                # [B, num_words]
        # make sure each report with a word masks at least one: its lowest-noise word
        has_word = torch.zeros_like(chosen)
        has_word.scatter_(1, word_ids.clamp(min=0), valid)
        lowest = noise.masked_fill(~has_word, 2.).argmin(1, keepdim=True)
        chosen.scatter_(1, lowest, True)
        chosen &= has_word
        return valid & chosen.gather(1, word_ids.clamp(min=0))
    noise = torch.rand(word_ids.shape, device=word_ids.device, generator=generator)
    masked = valid & (noise < mask_prob)
    lowest = noise.masked_fill(~valid, 2.).argmin(1, keepdim=True)
    masked.scatter_(1, lowest, valid.gather(1, lowest))
    return masked


def corrupt_tokens(input_ids: torch.Tensor,
                   masked: torch.Tensor,
                   mask_token_id: int,
                   vocab_size: int,
                   replace_probs: Tuple[float, float] = (0.8, 0.1),
                   num_special: int = 0,
                   generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """BERT's corruption of the chosen tokens: [MASK], a random token, or unchanged.

    Args:
        input_ids (torch.Tensor): ``[B, T]`` token ids.
        masked (torch.Tensor): ``[B, T]`` tokens chosen by :func:`select_masked_tokens`.
        mask_token_id (int): Id of ``[MASK]``.
        vocab_size (int): Size of the vocabulary for random replacements.
        replace_probs (tuple): Probabilities of ``[MASK]`` and of a random token; the rest
            stay unchanged. Defaults to BERT's (0.8, 0.1).
        num_special (int): Random replacements are drawn from ``[num_special, vocab)`` so
            they are never special tokens. Defaults to 0.
        generator (torch.Generator, optional): Random source.

    Returns:
        torch.Tensor: The corrupted ids (a new tensor).
    """
    p_mask, p_random = replace_probs
    draw = torch.rand(input_ids.shape, device=input_ids.device, generator=generator)
    random_ids = torch.randint(num_special, vocab_size, input_ids.shape,
                               device=input_ids.device, generator=generator)
    out = input_ids.clone()
    out = torch.where(masked & (draw < p_mask), torch.full_like(out, mask_token_id), out)
    use_random = masked & (draw >= p_mask) & (draw < p_mask + p_random)
    return torch.where(use_random, random_ids, out)
