# Copyright (c) medvlp contributors. All rights reserved.
"""Run an mmpretrain ViT on the visible patches only, for a given (not random) mask."""
import os
from typing import Optional, Tuple

import torch
from mmpretrain.models.utils import resize_pos_embed


def mask_to_ids_restore(mask: torch.Tensor, num_masked: Optional[int] = None,
                        check: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
    """Order patches visible-first and give the permutation that undoes it.

    Args:
        mask (torch.Tensor): ``[B, L]`` bool, True = masked. Every sample must mask the same
            number of patches.
        num_masked (int, optional): That number, when the caller knows it (a mask rule's
            ``num_masked(L)``): the shapes then follow without reading the mask back from
            the device. None counts it, which synchronises the host once.
        check (bool): Verify that every sample masks ``num_masked`` patches (one host
            sync; on by default only when ``num_masked`` is None, where the count is read
            anyway). ``MEDVLP_DEBUG=1`` turns it on always.

    Returns:
        tuple: ``ids_keep`` ``[B, V]`` (visible patch indices, in order) and
        ``ids_restore`` ``[B, L]`` (as in MAE: position of each patch in the
        visible-first order).
    """
    if num_masked is None or check or os.environ.get('MEDVLP_DEBUG'):
        counts = mask.sum(1)
        if mask.size(0) and (counts != counts[0]).any():
            raise ValueError('every sample must mask the same number of patches, got '
                             f'{sorted(set(counts.tolist()))}')
        found = int(counts[0]) if mask.size(0) else 0
        if num_masked is not None and mask.size(0) and found != num_masked:
            raise ValueError(f'the mask hides {found} patches per sample, not the '
                             f'{num_masked} the caller expects')
        num_masked = found
    ids_shuffle = torch.argsort(mask.to(torch.int8), dim=1, stable=True)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    visible = mask.size(1) - num_masked
    return ids_shuffle[:, :visible], ids_restore


def encode_visible_patches(vit, inputs: torch.Tensor, mask: torch.Tensor,
                           num_masked: Optional[int] = None
                           ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Encode only the unmasked patches with an mmpretrain ``VisionTransformer``.

    The patches are embedded and given their position embeddings as in the full forward,
    the masked ones are dropped, the class token is prepended, and the transformer layers
    (and final norm) run on what is left.

    Args:
        vit: An mmpretrain ``VisionTransformer`` (or ``MAEViT``) with a class token.
        inputs (torch.Tensor): ``[B, 3, H, W]`` images.
        mask (torch.Tensor): ``[B, L]`` bool patch mask, True = hidden from the encoder.
        num_masked (int, optional): Patches masked per sample, if known (no host sync);
            see :func:`mask_to_ids_restore`.

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
    ids_keep, ids_restore = mask_to_ids_restore(mask, num_masked)
    x = torch.gather(x, 1, ids_keep[..., None].expand(-1, -1, x.size(-1)))  # [B, V, C]
    cls = (vit.cls_token + pos[:, :1]).expand(x.size(0), -1, -1)
    x = vit.pre_norm(vit.drop_after_pos(torch.cat([cls, x], dim=1)))
    for i, layer in enumerate(vit.layers):
        x = layer(x)
        if i == len(vit.layers) - 1 and vit.final_norm:
            x = vit.ln1(x)
    return x, ids_restore
