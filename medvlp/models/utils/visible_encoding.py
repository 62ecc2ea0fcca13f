# Copyright (c) medvlp contributors. All rights reserved.
"""Run an mmpretrain ViT on the visible patches only, for a given (not random) mask."""
from typing import Tuple

import torch
from mmpretrain.models.utils import resize_pos_embed


def mask_to_ids_restore(mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Order patches visible-first and give the permutation that undoes it.

    Args:
        mask (torch.Tensor): ``[B, L]`` bool, True = masked. Every sample must mask the same
            number of patches.

    Returns:
        tuple: ``ids_keep`` ``[B, V]`` (visible patch indices, in order) and
        ``ids_restore`` ``[B, L]`` (as in MAE: position of each patch in the
        visible-first order).
    """
    counts = mask.sum(1)
    if (counts != counts[0]).any():
        raise ValueError('every sample must mask the same number of patches, got '
                         f'{sorted(set(counts.tolist()))}')
    ids_shuffle = torch.argsort(mask.to(torch.int8), dim=1, stable=True)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    visible = mask.size(1) - int(counts[0])
    return ids_shuffle[:, :visible], ids_restore


def encode_visible_patches(vit, inputs: torch.Tensor,
                           mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Encode only the unmasked patches with an mmpretrain ``VisionTransformer``.

    The patches are embedded and given their position embeddings as in the full forward,
    the masked ones are dropped, the class token is prepended, and the transformer layers
    (and final norm) run on what is left.

    Args:
        vit: An mmpretrain ``VisionTransformer`` (or ``MAEViT``) with a class token.
        inputs (torch.Tensor): ``[B, 3, H, W]`` images.
        mask (torch.Tensor): ``[B, L]`` bool patch mask, True = hidden from the encoder.

    Returns:
        tuple: tokens ``[B, 1 + V, C]`` (class token first) and ``ids_restore`` ``[B, L]``
        for an MAE decoder.
    """
    if getattr(vit, 'cls_token', None) is None:
        raise ValueError('encode_visible_patches needs a ViT with a class token')
    x, patch_resolution = vit.patch_embed(inputs)                    # [B, L, C]
    if mask.shape != x.shape[:2]:
        raise ValueError(f'mask {tuple(mask.shape)} does not match the {x.size(1)} patches '
                         f'of a {tuple(inputs.shape[-2:])} image')
    pos = resize_pos_embed(vit.pos_embed, vit.patch_resolution, patch_resolution,
                           mode=vit.interpolate_mode, num_extra_tokens=vit.num_extra_tokens)
    x = x + pos[:, vit.num_extra_tokens:]
    ids_keep, ids_restore = mask_to_ids_restore(mask)
    x = torch.gather(x, 1, ids_keep[..., None].expand(-1, -1, x.size(-1)))  # [B, V, C]
    cls = (vit.cls_token + pos[:, :1]).expand(x.size(0), -1, -1)
    x = vit.pre_norm(vit.drop_after_pos(torch.cat([cls, x], dim=1)))
    for i, layer in enumerate(vit.layers):
        x = layer(x)
        if i == len(vit.layers) - 1 and vit.final_norm:
            x = vit.ln1(x)
    return x, ids_restore
