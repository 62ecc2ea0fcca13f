# Copyright (c) medvlp contributors. All rights reserved.
"""Synthetic batches and reference models for the speed benchmarks.

Random pixels and random tokens cost the same as real ones, so step times and FLOPs can be
measured without a dataset. The batch has every field ``TokenizeReport`` packs, laid out
as a real report (``[CLS]``, ``words`` one-token words in sentences of 8, ``[SEP]`` and
padding), and the images come as a stacked ``uint8`` tensor, as ``default_collate`` gives.
"""
import copy
from typing import Dict

import torch
from mmpretrain.structures import DataSample


def synthetic_image_report_batch(batch: int, img_size: int, max_length: int, words: int,
                                 vocab_size: int, keyword_share: float = 0.1,
                                 seed: int = 0) -> Dict:
    """A collated batch of random images and tokenised reports.

    Args:
        batch (int): Samples.
        img_size (int): Square image side in pixels.
        max_length (int): Token slots per report (``words + 2`` fits them all).
        words (int): Words per report.
        vocab_size (int): Token ids are drawn from ``[5, vocab_size)``.
        keyword_share (float): Share of words flagged as MeSH keywords. Defaults to 0.1.
        seed (int): Seed of the random content. Defaults to 0.

    Returns:
        dict: ``inputs`` ``[B, 3, H, W]`` uint8 and ``data_samples`` (``DataSample`` with
        ``input_ids``, ``attention_mask``, ``word_ids``, ``word_keyword``,
        ``word_sentence_ids``, ``word_negated``).
    """
    if words + 2 > max_length:
        raise ValueError(f'{words} words and [CLS]/[SEP] do not fit {max_length} tokens')
    g = torch.Generator().manual_seed(seed)
    positions = torch.arange(max_length)
    word_ids = torch.where((positions >= 1) & (positions <= words), positions - 1, -1)
    samples = []
    for _ in range(batch):
        sample = DataSample()
        sample.set_field(torch.randint(5, vocab_size, (max_length, ), generator=g),
                         'input_ids')
        sample.set_field((positions <= words + 1).long(), 'attention_mask')
        sample.set_field(word_ids.clone(), 'word_ids')
        sample.set_field((torch.rand(max_length, generator=g) < keyword_share).long(),
                         'word_keyword')
        sample.set_field(torch.where(positions < words, positions // 8, -1),
                         'word_sentence_ids')
        sample.set_field(torch.zeros(max_length, dtype=torch.long), 'word_negated')
        samples.append(sample)
    images = torch.randint(0, 256, (batch, 3, img_size, img_size), dtype=torch.uint8,
                           generator=g)
    return dict(inputs=images, data_samples=samples)


def mae_config_like(backbone: dict, embed_dims: int, mask_ratio: float = 0.5,
                    decoder_dims: int = 512, decoder_depth: int = 8,
                    decoder_heads: int = 16) -> dict:
    """An mmpretrain MAE config on the same ViT as ``backbone`` (a ViT config dict).

    The reference the benchmarks compare medvlp's algorithms with: plain masked image
    modelling with random masks and MAE's 8 x 512 decoder.

    Args:
        backbone (dict): The ViT config of the algorithm.
        embed_dims (int): Its width (the decoder's input).
        mask_ratio (float): MAE's mask ratio. Defaults to 0.5.
        decoder_dims, decoder_depth, decoder_heads (int): MAE decoder size. Defaults to
            MAE's 512, 8 and 16.
    """
    img_size = backbone.get('img_size', 224)
    patch = backbone.get('patch_size', 16)
    mae_backbone = dict(copy.deepcopy(backbone), type='MAEViT', mask_ratio=mask_ratio)
    for key in ('out_type', 'with_cls_token', 'final_norm', 'drop_path_rate', '_scope_'):
        mae_backbone.pop(key, None)
    return dict(
        _scope_='mmpretrain', type='MAE',
        data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[123.675] * 3,
                               std=[58.395] * 3, to_rgb=True),
        backbone=mae_backbone,
        neck=dict(type='MAEPretrainDecoder', num_patches=(img_size // patch)**2,
                  patch_size=patch, in_chans=3, embed_dim=embed_dims,
                  decoder_embed_dim=decoder_dims,
                  decoder_depth=decoder_depth, decoder_num_heads=decoder_heads),
        head=dict(type='MAEPretrainHead', norm_pix=True, patch_size=patch,
                  loss=dict(type='PixelReconstructionLoss', criterion='L2')))
