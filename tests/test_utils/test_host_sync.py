# Copyright (c) medvlp contributors. All rights reserved.
"""The host-sync counter sees what synchronises, and nothing else."""
import torch

from medvlp.utils.host_sync import HostSyncCounter


def test_counter_sees_item_bool_index_nonzero_and_branching():
    x = torch.arange(6.)
    with HostSyncCounter() as counter:
        x.max().item()
        x[x > 2]
        torch.nonzero(x)
        if (x > 10).any():
            pass
        x.masked_select(x > 1)
    kinds = [e.kind for e in counter.events]
    assert kinds == ['item', 'bool_index', 'nonzero', 'item', 'masked_select']
    assert all(e.where.endswith(('.py:' + e.where.rsplit(':', 1)[1])) for e in counter.events)
    assert 'test_host_sync.py' in counter.events[0].where
    assert counter.in_files('test_host_sync.py') == counter.events


def test_counter_ignores_static_shape_work():
    x = torch.randn(4, 5, requires_grad=True)
    mask = torch.rand(4, 5) > 0.5
    with HostSyncCounter() as counter:
        y = torch.where(mask, x, torch.zeros_like(x)).sum() / mask.sum().clamp(min=1)
        order = torch.argsort((~mask).to(torch.int8), dim=1, stable=True)
        x.gather(1, order[:, :2]).sum().backward()
        y.backward()
        torch.repeat_interleave(torch.arange(3), torch.tensor([1, 2, 3]), output_size=6)
    assert counter.count == 0, counter.summary()
