# Copyright (c) medvlp contributors. All rights reserved.
"""Run a tool script in a forked child of a process that has already imported the stack.

Starting ``python tools/train.py`` costs several seconds of imports (torch, mmengine,
mmpretrain, mmseg, transformers) before the first step; a benchmark of many short cells
spends most of its time there. :func:`preload` imports what the tools import, once, in the
runner; :func:`run_forked` then forks, and the child runs the tool exactly as ``python TOOL
ARGS`` would (``__main__``, ``sys.argv``, working directory, environment, stdout and
stderr into the log), in its own process, so cells stay isolated. The parent must not have
initialised CUDA or run OpenMP work before forking; the runner does neither.
"""
import os
import runpy
import sys
import traceback
from typing import Dict, List

#: What the tools import at start-up; loaded once by :func:`preload`.
PRELOAD = ('torch', 'torchvision', 'mmengine.runner', 'mmpretrain.models', 'mmseg.models',
           'transformers', 'medvlp', 'medvlp.apis', 'monai.metrics', 'sklearn.metrics')


def preload() -> None:
    """Import the modules the tools need (so that forked children start at once)."""
    import importlib
    for name in PRELOAD:
        importlib.import_module(name)
    from medvlp.utils import register_all_modules
    register_all_modules(init_default_scope=False)


def _redirect_log_handlers(old) -> None:
    """Point the inherited logging handlers at the new streams. Another thread of the
    parent may have held the old stream objects' locks at the fork: they stay locked in
    the child, so nothing here may write to (or flush) them."""
    import logging
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values()
        if isinstance(lg, logging.Logger)]
    try:
        from mmengine.logging import MMLogger
        loggers += list(MMLogger._instance_dict.values())
    except ImportError:
        pass
    for lg in loggers:
        for handler in lg.handlers:
            stream = getattr(handler, 'stream', None)
            if stream is old[0]:
                handler.stream = sys.stdout
            elif stream is old[1]:
                handler.stream = sys.stderr


def _child(script: str, args: List[str], cwd: str, env: Dict[str, str],
           log_path: str) -> int:
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    old = (sys.stdout, sys.stderr)
    sys.stdout = open(1, 'w', buffering=1, closefd=False)
    sys.stderr = open(2, 'w', buffering=1, closefd=False)
    _redirect_log_handlers(old)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    threads = env.get('OMP_NUM_THREADS')
    if threads and threads.isdigit():
        import torch
        torch.set_num_threads(int(threads))
    sys.argv = [script] + list(args)
    sys.path.insert(0, os.path.dirname(script))
    try:
        runpy.run_path(script, run_name='__main__')
        return 0
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            return e.code or 0
        print(e.code, file=sys.stderr)
        return 1
    except BaseException:  # the tool crashed: its traceback goes to the log, like python's
        traceback.print_exc()
        return 1


def run_forked(command: List[str], cwd: str, env: Dict[str, str], log_path: str) -> int:
    """Run ``command`` (``[python, script, *args]``) in a forked child; its return code.

    Output is appended to ``log_path``.
    """
    script, args = command[1], command[2:]
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            code = _child(script, args, cwd, env, log_path)
        finally:
            try:  # the child's own streams (fd 1 and 2 are the log)
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code if isinstance(code, int) and 0 <= code < 256 else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
