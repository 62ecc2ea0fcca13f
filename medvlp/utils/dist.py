# Copyright (c) medvlp contributors. All rights reserved.
"""Distributed launch helpers, including CPU-only (gloo) runs."""
import datetime
import os

import torch
import torch.distributed as torch_dist
from mmengine.config import Config

#: Seconds a collective (all-reduce, barrier) may wait for the other processes before the
#: run fails, unless ``env_cfg.dist_cfg.timeout`` says otherwise. torch's own default is
#: 30 minutes; a stopped or frozen rank then blocks the whole job that long.
DEFAULT_DIST_TIMEOUT = 600


def dist_timeout(cfg: Config) -> int:
    """``env_cfg.dist_cfg.timeout`` of ``cfg`` in seconds, set to the default if missing.

    Raises:
        ValueError: If the timeout is not a positive number of seconds.
    """
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    timeout = dist_cfg.setdefault('timeout', DEFAULT_DIST_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f'env_cfg.dist_cfg.timeout must be a positive number of seconds, '
                         f'got {timeout!r}')
    return timeout


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Prepare a distributed run on a machine without CUDA.

    mmengine's ``pytorch`` launcher calls ``torch.cuda.set_device`` and wraps the model in
    DDP with ``device_ids=[LOCAL_RANK]``; both fail without CUDA. On such a machine this
    function starts the gloo process group itself (mmengine then skips its own
    initialisation) and asks for a DDP wrapper without device ids. With CUDA it only sets
    the default of ``env_cfg.dist_cfg.timeout``, which mmengine passes on to NCCL.

    On either path a collective that waits longer than ``env_cfg.dist_cfg.timeout`` seconds
    (default :data:`DEFAULT_DIST_TIMEOUT`, 10 minutes) for a stopped or frozen process fails
    the run instead of blocking it.

    Args:
        cfg (Config): The config of the run; ``env_cfg`` and ``model_wrapper_cfg`` are
            updated in place.
        launcher (str): The launcher given on the command line.

    Returns:
        bool: True when a CPU process group was set up.

    Raises:
        RuntimeError: If a launcher other than ``pytorch`` (torchrun) is used without CUDA.
    """
    if launcher == 'none':
        return False
    timeout = dist_timeout(cfg)
    if torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise RuntimeError(
            f'The "{launcher}" launcher needs CUDA, which this machine does not have. '
            'On CPU, start distributed runs with torchrun (tools/dist_train.sh), '
            'which uses the "pytorch" launcher and the gloo backend.')
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
               if k not in os.environ]
    if missing:
        raise RuntimeError(
            '--launcher pytorch expects the environment set by torchrun, but '
            f'{", ".join(missing)} is not set. Start the run with tools/dist_train.sh '
            'or torchrun.')
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(
            backend='gloo', timeout=datetime.timedelta(seconds=timeout))
    env_cfg = cfg.setdefault('env_cfg', {})
    env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper_cfg = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper_cfg.setdefault('type', 'MMDistributedDataParallel')
    # The same defaults mmengine uses when it wraps the model itself.
    wrapper_cfg.setdefault('broadcast_buffers', False)
    wrapper_cfg.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    wrapper_cfg['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper_cfg
    return True
