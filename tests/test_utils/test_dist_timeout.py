# Copyright (c) medvlp contributors. All rights reserved.
"""A stopped rank makes the other fail within env_cfg.dist_cfg.timeout instead of hanging."""
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from mmengine.config import Config

from medvlp.utils.dist import DEFAULT_DIST_TIMEOUT, dist_timeout

RANK_SCRIPT = textwrap.dedent('''
    import os, signal, sys, time
    import torch
    import torch.distributed as dist
    from mmengine.config import Config
    from medvlp.utils import setup_cpu_distributed

    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=TIMEOUT))))
    setup_cpu_distributed(cfg, 'pytorch')
    dist.barrier()
    if dist.get_rank() == 1:
        print('stopping', flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)  # frozen: alive, but never answers
        sys.exit(0)
    time.sleep(0.5)
    start = time.monotonic()
    try:
        dist.all_reduce(torch.ones(1))
    except Exception as e:  # gloo reports the timeout as a RuntimeError subclass
        print(f'failed after {time.monotonic() - start:.1f} s: {type(e).__name__}', flush=True)
        sys.exit(3)
    print('all_reduce returned', flush=True)
''')


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU (gloo) path')
def test_stopped_rank_fails_the_other_within_the_timeout(tmp_path):
    timeout = 4
    script = tmp_path / 'rank.py'
    script.write_text(RANK_SCRIPT.replace('TIMEOUT', str(timeout)))
    port = _free_port()
    procs = []
    try:
        for rank in range(2):
            env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE='2',
                       MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), OMP_NUM_THREADS='1')
            procs.append(subprocess.Popen([sys.executable, str(script)], env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                          text=True))
        start = time.monotonic()
        out, _ = procs[0].communicate(timeout=120)
        elapsed = time.monotonic() - start
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
    assert procs[0].returncode == 3, out[-3000:]
    seconds = float(out.split('failed after ')[1].split(' s')[0])
    # torch's default would have kept it waiting 30 minutes
    assert timeout - 0.5 <= seconds < timeout + 10, out
    assert elapsed < 90


def test_timeout_default_and_validation():
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert dist_timeout(cfg) == DEFAULT_DIST_TIMEOUT == 600
    assert cfg.env_cfg.dist_cfg.timeout == 600  # mmengine passes it on to NCCL on GPUs
    assert Config.fromfile('configs/_base_/default_runtime.py').env_cfg.dist_cfg.timeout == 600
    with pytest.raises(ValueError, match='env_cfg.dist_cfg.timeout must be a positive'):
        dist_timeout(Config(dict(env_cfg=dict(dist_cfg=dict(timeout='10m')))))
