# Copyright (c) medvlp contributors. All rights reserved.
"""Dataloader workers that die with their trainer.

PyTorch's workers notice a dead parent only between batches (a watchdog checks every few
seconds); a worker blocked on a full result queue, whose read end its sibling workers
still hold, waits forever, holding its memory. On Linux, medvlp asks the kernel to send
each worker SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``), whatever state the
worker is in and however the trainer died (kill -9, SIGTERM, the OOM killer).
"""
import ctypes
import ctypes.util
import os
import signal
import sys
from functools import wraps

PR_SET_PDEATHSIG = 1


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Have the kernel send ``sig`` to this process when its parent thread exits.

    If the parent is already gone (the worker was started just before the trainer died),
    the process exits at once.

    Returns:
        bool: True where supported (Linux), False elsewhere.
    """
    if not sys.platform.startswith('linux'):
        return False
    parent = os.getppid()
    libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return False
    if parent == 1 or os.getppid() != parent:
        os._exit(1)
    return True


def install_worker_parent_death_signal() -> None:
    """Make mmengine's Runner start every dataloader worker with the parent-death signal.

    The Runner gives the workers of every dataloader it builds mmengine's
    ``worker_init_fn`` (seeding), unless the config names another (which should then call
    :func:`set_parent_death_signal` itself); this wraps that default so the signal is set
    first. Idempotent.
    """
    from mmengine.runner import runner as runner_module
    default = runner_module.default_worker_init_fn
    if getattr(default, '_medvlp_parent_death_signal', False):
        return

    @wraps(default)
    def init_fn(worker_id, *args, **kwargs):
        set_parent_death_signal()
        return default(worker_id, *args, **kwargs)

    init_fn._medvlp_parent_death_signal = True
    runner_module.default_worker_init_fn = init_fn
