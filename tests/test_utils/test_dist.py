# Copyright (c) medvlp contributors. All rights reserved.
import pytest
import torch
from mmengine.config import Config

from medvlp.utils import setup_cpu_distributed

pytestmark = pytest.mark.skipif(torch.cuda.is_available(),
                                reason='checks the CPU-only path')


def test_no_launcher_changes_nothing():
    cfg = Config(dict(model=dict(type='X')))
    assert setup_cpu_distributed(cfg, 'none') is False
    assert 'model_wrapper_cfg' not in cfg


def test_cuda_only_launchers_are_refused_on_cpu():
    with pytest.raises(RuntimeError, match='needs CUDA'):
        setup_cpu_distributed(Config(), 'slurm')


def test_pytorch_launcher_needs_torchrun_environment(monkeypatch):
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(RuntimeError, match='RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT'):
        setup_cpu_distributed(Config(), 'pytorch')


def test_single_process_group_on_gloo(monkeypatch):
    import torch.distributed as dist
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', '29517')
    cfg = Config(dict(model_wrapper_cfg=dict(find_unused_parameters=True),
                      env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    try:
        assert setup_cpu_distributed(cfg, 'pytorch') is True
        assert dist.get_backend() == 'gloo'
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
        assert cfg.model_wrapper_cfg == dict(
            type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
            find_unused_parameters=True)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
