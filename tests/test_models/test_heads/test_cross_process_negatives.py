# Copyright (c) medvlp contributors. All rights reserved.
"""2 gloo processes x 8 samples optimise the same alignment objective as 1 process x 16."""
import os
import socket
import subprocess
import sys
import textwrap

import pytest
import torch

from medvlp.registry import MODELS

N, B, R, W, D = 2, 8, 5, 7, 16
TERMS = ('loss_global_ce', 'loss_local_ce', 'loss_global_triplet', 'loss_local_triplet')

RANK_SCRIPT = textwrap.dedent('''
    import sys
    import torch
    import torch.distributed as dist
    sys.path.insert(0, TESTS_DIR)
    from test_cross_process_negatives import head, inputs

    dist.init_process_group('gloo')
    rank, world = dist.get_rank(), dist.get_world_size()
    full = inputs()
    own = slice(rank * BATCH, (rank + 1) * BATCH)
    results = {}
    for gather in (True, False):
        leaves = [t[own].clone().requires_grad_(t.is_floating_point()) for t in full]
        img, regions, txt, words, mask = leaves
        # the processes pad their reports to different lengths
        keep = words.size(1) - rank
        words, mask = words[:, :keep], mask[:, :keep]
        losses = head(gather).loss(img, regions, txt, words, mask)
        sum(losses.values()).backward()
        values = torch.stack([losses[k].detach() for k in TERMS])
        dist.all_reduce(values)
        grads = [t.grad for t in leaves if t.grad is not None]
        results[gather] = dict(losses=values / world, grads=grads)
    torch.save(results, OUT + f'/rank{rank}.pth')
''')


def head(cross_process_negatives=True):
    torch.manual_seed(0)
    return MODELS.build(dict(type='RegionWordAlignmentHead',
                             cross_process_negatives=cross_process_negatives))


def inputs():
    """16 samples: global image/report features, regions, words and word masks."""
    gen = torch.Generator().manual_seed(1)
    img = torch.randn(N * B, D, generator=gen)
    txt = img + torch.randn(N * B, D, generator=gen)
    regions = torch.randn(N * B, R, D, generator=gen)
    words = regions[:, :1] + torch.randn(N * B, W, D, generator=gen)
    lengths = torch.randint(2, W - 1, (N * B, ), generator=gen)  # last words all padding
    mask = torch.arange(W)[None] < lengths[:, None]
    return img, regions, txt, words, mask


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def two_process_results(tmp_path_factory):
    out = tmp_path_factory.mktemp('cross_process')
    script = out / 'rank.py'
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    script.write_text(RANK_SCRIPT.replace('TESTS_DIR', repr(tests_dir))
                      .replace('BATCH', str(B)).replace('OUT', repr(str(out)))
                      .replace('TERMS', repr(TERMS)))
    port = _free_port()
    procs = [
        subprocess.Popen([sys.executable, str(script)],
                         env=dict(os.environ, RANK=str(r), WORLD_SIZE=str(N),
                                  MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                                  OMP_NUM_THREADS='1'),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for r in range(N)
    ]
    for proc in procs:
        log, _ = proc.communicate(timeout=180)
        assert proc.returncode == 0, log[-3000:]
    return [torch.load(out / f'rank{r}.pth') for r in range(N)]


def _one_process(gather=True):
    leaves = [t.clone().requires_grad_(t.is_floating_point()) for t in inputs()]
    losses = head(gather).loss(*leaves)
    sum(losses.values()).backward()
    return (torch.stack([losses[k].detach() for k in TERMS]),
            [t.grad for t in leaves if t.grad is not None])


def test_two_processes_match_one_process_of_16(two_process_results):
    losses, grads = _one_process()
    for rank, result in enumerate(two_process_results):
        gathered = result[True]
        # the mean of the two processes' losses is the 1 x 16 loss, term by term
        torch.testing.assert_close(gathered['losses'], losses, rtol=1e-5, atol=1e-6)
        # each process's gradient, averaged by DDP over 2 processes, is the 1 x 16 one
        own = slice(rank * B, (rank + 1) * B)
        for got, want in zip(gathered['grads'], grads):
            want = want[own][:, :got.size(1)] if want.dim() == 3 else want[own]
            torch.testing.assert_close(got / N, want, rtol=1e-4, atol=1e-6)


def test_per_process_negatives_are_a_different_objective(two_process_results):
    losses, _ = _one_process()
    per_process = two_process_results[0][False]['losses']
    # 8 candidates instead of 16: the cross-entropy terms drop towards ln 8
    assert (per_process[:2] < losses[:2] - 0.05).all()
