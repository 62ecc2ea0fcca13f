# Copyright (c) medvlp contributors. All rights reserved.
"""Run a script from tools/ inside the test process, as if from the command line.

A subprocess pays 5-10 s of imports (torch, mmengine, transformers) before the tool does
anything; a test that is about what a tool does, not about its being a separate process,
calls :func:`call_tool` instead of the ``run_tool`` fixture: the same arguments and the same
:class:`subprocess.CompletedProcess` back (exit status, stdout, stderr), from the tool's
``main(argv)``. Importable from any test as ``from tool_calls import call_tool``.

What a separate process would give for free is restored by hand: the working directory is
the repository root, ``sys.argv[0]`` is the tool's path (argparse names the program after
it), the environment is that of ``run_tool`` (``OMP_NUM_THREADS=1`` plus ``env``) and torch
runs on one thread, as there, both put back afterwards (benchmark tools set their own thread
count), and an uncaught exception becomes a printed traceback with exit status 1. mmengine
names a run after the second it started in, and two runners of one name in one process share
their logger and visualizer; a call therefore starts in a later second than the last one
ended in, and it starts with a logger of its own, as a new process would; the default
scopes its runners made are dropped afterwards, so later tests build in their own scope.
"""
import contextlib
import importlib.util
import io
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Dict, Optional, Union

import torch
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope

REPO_ROOT = Path(__file__).resolve().parents[1]
_modules: Dict[Path, ModuleType] = {}
_last_end = [0.0]
_calls = [0]


def load_tool(name: Union[str, Path]) -> ModuleType:
    """The module of ``tools/<name>`` (e.g. ``'train.py'``), imported once per session."""
    path = (REPO_ROOT / 'tools' / name).resolve()
    if path not in _modules:
        module_name = 'medvlp_tool_' + '_'.join(path.relative_to(REPO_ROOT / 'tools')
                                                .with_suffix('').parts)
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _modules[path] = module
    return _modules[path]


def _wait_for_a_new_second() -> None:
    """Start a call in a later wall-clock second than the last one ended in, so that no
    two runners get the same name (see the module docstring)."""
    if int(time.time()) == int(_last_end[0]):
        time.sleep(1.0 - time.time() % 1.0 + 0.01)


def _fresh_current_logger() -> None:
    """Make a new MMLogger, writing to the (redirected) ``sys.stdout``, mmengine's current
    one: what a tool logs with ``logger='current'`` before it builds its runner would
    otherwise go to the stream of the last call's runner."""
    _calls[0] += 1
    MMLogger.get_instance(f'medvlp_tool_call_{_calls[0]}', logger_name='mmengine')


def call_tool(name: Union[str, Path], *args, env: Optional[Dict[str, str]] = None,
              check: bool = True) -> subprocess.CompletedProcess:
    """Run ``tools/<name>``'s ``main`` with ``args`` (converted to str) in this process.

    Args:
        name (str | Path): The script, relative to tools/ (``'visualization/vis_demo.py'``).
        *args: Its command-line arguments.
        env (dict, optional): Environment variables set for the call only.
        check (bool): Raise an AssertionError showing the output when the exit status is
            not 0. Defaults to True.

    Returns:
        subprocess.CompletedProcess: ``returncode`` is what ``sys.exit`` was given (0 when
        ``main`` returned, or ``main``'s return value when it is an int), 1 after an
        uncaught exception, whose traceback then ends ``stderr``.
    """
    module = load_tool(name)
    argv = [str(a) for a in args]
    saved_env, saved_argv, saved_cwd = dict(os.environ), sys.argv, os.getcwd()
    saved_threads = torch.get_num_threads()
    saved_scopes = list(DefaultScope._instance_dict)
    stdout, stderr = io.StringIO(), io.StringIO()
    _wait_for_a_new_second()
    try:
        os.environ.update(OMP_NUM_THREADS='1', **(env or {}))
        os.chdir(REPO_ROOT)
        torch.set_num_threads(1)
        sys.argv = [module.__file__] + argv
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            _fresh_current_logger()
            try:
                result = module.main(argv)
                code = result if isinstance(result, int) and not isinstance(result, bool) \
                    else 0
            except SystemExit as e:
                if e.code is None or isinstance(e.code, int):
                    code = e.code or 0
                else:  # sys.exit('message'): printed, status 1
                    print(e.code, file=sys.stderr)
                    code = 1
            except Exception:  # noqa: BLE001 - reported the way the interpreter does
                traceback.print_exc(file=sys.stderr)
                code = 1
    finally:
        _last_end[0] = time.time()
        os.environ.clear()
        os.environ.update(saved_env)
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        torch.set_num_threads(saved_threads)
        # a runner leaves its default scope (e.g. 'medvlp') current; a process would end
        # with it, so drop the scopes the call made
        for name_ in [n for n in DefaultScope._instance_dict if n not in saved_scopes]:
            DefaultScope._instance_dict.pop(name_)
    proc = subprocess.CompletedProcess(['tools/' + str(name)] + argv, code,
                                       stdout.getvalue(), stderr.getvalue())
    if check and code != 0:
        raise AssertionError(f'{" ".join(proc.args)} exited {code}\n'
                             f'--- stdout ---\n{proc.stdout[-5000:]}\n'
                             f'--- stderr ---\n{proc.stderr[-5000:]}')
    return proc
