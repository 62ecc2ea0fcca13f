# Copyright (c) medvlp contributors. All rights reserved.
"""Gather a batch from every process, keeping the gradient (for cross-process negatives)."""
from typing import List, Tuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.distributed.nn.functional import all_gather as all_gather_with_grad


def world_size() -> int:
    """Number of processes of the default group (1 outside distributed runs)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def gather_batches(*tensors: torch.Tensor) -> Tuple[List[torch.Tensor], int]:
    """Concatenate each tensor's batch (dim 0) over all processes, in rank order.

    Floating-point tensors keep their gradient: the backward pass sends every process the
    gradient of its own samples, summed over the processes whose losses used them
    (``torch.distributed.nn.functional.all_gather``). Other dtypes (masks, ids) are gathered
    without gradient. The processes may hold batches of different sizes (a short last
    batch) and, beyond dim 0, different sizes (e.g. the padded number of words): smaller
    tensors are zero-padded (False for masks) to the largest before gathering.

    Args:
        *tensors (torch.Tensor): Tensors with the same batch size ``B`` on this process.

    Returns:
        tuple: The gathered tensors (``[sum of B over processes, ...]``) and the index of
        this process's first sample in them. Outside distributed runs, the tensors
        unchanged and 0.
    """
    if world_size() == 1:
        return list(tensors), 0
    device = tensors[0].device
    max_dims = max(t.dim() for t in tensors)
    shapes = torch.tensor([list(t.shape) + [0] * (max_dims - t.dim()) for t in tensors],
                          dtype=torch.long, device=device)
    if len({tuple(t.shape[:1]) for t in tensors}) != 1:
        raise ValueError(f'gather_batches needs one batch size, got shapes '
                         f'{[tuple(t.shape) for t in tensors]}')
    all_shapes = [torch.zeros_like(shapes) for _ in range(world_size())]
    dist.all_gather(all_shapes, shapes)
    all_shapes = torch.stack(all_shapes)  # [world, num_tensors, max_dims]
    sizes = all_shapes[:, 0, 0].tolist()
    rank = dist.get_rank()
    gathered = []
    for i, tensor in enumerate(tensors):
        target = all_shapes[:, i].max(0).values.tolist()
        pad = []
        for dim in reversed(range(tensor.dim())):
            pad += [0, target[dim] - tensor.size(dim)]
        floating = tensor.is_floating_point()
        padded = F.pad(tensor if floating else tensor.long(), pad)
        if floating:
            parts = all_gather_with_grad(padded)
        else:
            parts = [torch.empty_like(padded) for _ in range(world_size())]
            dist.all_gather(parts, padded.contiguous())
        merged = torch.cat([part[:size] for part, size in zip(parts, sizes)])
        gathered.append(merged if floating else merged.to(tensor.dtype))
    return gathered, sum(sizes[:rank])
