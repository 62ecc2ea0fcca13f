# Copyright (c) medvlp contributors. All rights reserved.
"""Distributed launch helpers, including CPU-only (gloo) runs."""
import os

import torch
import torch.distributed as torch_dist
from mmengine.config import Config


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Prepare a distributed run on a machine without CUDA.

    mmengine's ``pytorch`` launcher calls ``torch.cuda.set_device`` and wraps the model in
    DDP with ``device_ids=[LOCAL_RANK]``; both fail without CUDA. On such a machine this
    function starts the gloo process group itself (mmengine then skips its own
    initialisation) and asks for a DDP wrapper without device ids. With CUDA it does nothing.

    Args:
        cfg (Config): The config of the run; ``env_cfg`` and ``model_wrapper_cfg`` are
            updated in place.
        launcher (str): The launcher given on the command line.

    Returns:
        bool: True when a CPU process group was set up.

    Raises:
        RuntimeError: If a launcher other than ``pytorch`` (torchrun) is used without CUDA.
    """
    if launcher == 'none' or torch.cuda.is_available():
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
        torch_dist.init_process_group(backend='gloo')
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
