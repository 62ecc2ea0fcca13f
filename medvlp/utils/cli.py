# Copyright (c) medvlp contributors. All rights reserved.
"""Helpers shared by the command-line tools in ``tools/``."""
import os
import os.path as osp
import re
import sys
from contextlib import contextmanager
from typing import Iterator, Optional

from mmengine.config import Config, DictAction


class UserError(Exception):
    """An error in what the user asked for (a path, a config key), not in medvlp."""


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a non-finite loss); reported as one line, exit status 1."""


_PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def raised_by_medvlp(exc: BaseException) -> bool:
    """Whether ``exc`` was raised by medvlp's own code (its innermost frame is in the
    ``medvlp`` package), i.e. it is one of medvlp's argument checks, not a crash deep in
    torch or mmengine."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return osp.abspath(tb.tb_frame.f_code.co_filename).startswith(_PACKAGE_DIR + os.sep)


def add_common_args(parser) -> None:
    """Add the arguments every runner tool accepts."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, as key=value pairs, e.g. '
        'train_dataloader.batch_size=4 model.backbone.arch=b. Lists: key="[a,b]".')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher; tools/dist_*.sh pass "pytorch"')
    # torchrun sets LOCAL_RANK in the environment; torch.distributed.launch passed it as an
    # argument. Accept both spellings.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file and apply ``--cfg-options`` to it.

    Raises:
        UserError: If the file does not exist or is not a config mmengine can read.
    """
    if not osp.isfile(path):
        raise UserError(f'config file "{path}" does not exist')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def check_checkpoint(path: str, what: str) -> str:
    """Return ``path`` if it is a readable checkpoint file, else raise a UserError."""
    if not osp.isfile(path):
        raise UserError(f'{what}: checkpoint "{path}" does not exist')
    return path


def apply_runner_args(cfg: Config, args) -> Config:
    """Set what every runner tool takes from its command line: the launcher and the work
    dir (``--work-dir``, else the config's, else ``./work_dirs/<config name>``)."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    drop_disabled_hooks(cfg)
    fit_loaders_to_workers(cfg)
    return cfg


def fit_loaders_to_workers(cfg: Config) -> None:
    """Drop ``prefetch_factor`` and ``persistent_workers`` from loaders without worker
    processes (``num_workers=0``, e.g. set with ``--cfg-options``): torch's DataLoader
    refuses both there, while they mean nothing without workers."""
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if loader and loader.get('num_workers', 0) == 0:
            loader.pop('prefetch_factor', None)
            if loader.get('persistent_workers'):
                loader['persistent_workers'] = False


#: The hooks mmengine's Runner adds itself; ``default_hooks.<name>=None`` removes them.
MMENGINE_DEFAULT_HOOKS = ('runtime_info', 'timer', 'sampler_seed', 'logger',
                          'param_scheduler', 'checkpoint')


def drop_disabled_hooks(cfg: Config) -> None:
    """Let ``default_hooks.<name>=None`` turn off medvlp's default hooks too
    (``non_finite``, ``rng_state``): mmengine only accepts None for its own."""
    hooks = cfg.get('default_hooks')
    if not hooks:
        return
    for name in [n for n, hook in hooks.items()
                 if hook is None and n not in MMENGINE_DEFAULT_HOOKS]:
        hooks.pop(name)


def set_local_rank(local_rank: int) -> None:
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(local_rank)


@contextmanager
def report_user_errors(prog: str) -> Iterator[None]:
    """Turn mistakes in the user's input into a one-line message and exit status 2.

    Covers medvlp's own :class:`UserError`, the ``ValueError``s raised by medvlp's argument
    checks (a ratio out of range, an unknown loss weight), the registry's "is not in the
    ... registry" ``KeyError`` raised when a config names an unknown ``type``, and the
    ``TypeError`` of a constructor given a config key it does not take. A
    :class:`TrainingError` (training stopped, e.g. at a non-finite loss) is one line too,
    with exit status 1. Anything else keeps its traceback: it is a bug to report, not a
    typo to fix. Set ``MEDVLP_DEBUG=1`` to see the traceback of these errors too.
    """
    try:
        yield
    except UserError as e:
        _exit_with(prog, str(e), e)
    except TrainingError as e:
        _exit_with(prog, str(e), e, status=1)
    except ValueError as e:
        if raised_by_medvlp(e):
            _exit_with(prog, str(e), e)
        raise
    except KeyError as e:
        message = e.args[0] if e.args else ''
        if isinstance(message, str) and 'registry' in message and 'is not in' in message:
            _exit_with(prog, f'unknown type in config: {message}', e)
        raise
    except TypeError as e:
        # A constructor that gets a keyword it does not take: a misspelt or misplaced
        # config key ("X.__init__() got an unexpected keyword argument 'y'").
        match = re.match(r"(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'",
                         str(e))
        if match:
            _exit_with(prog, f'wrong key in config: {match.group(1)} takes no argument '
                       f'"{match.group(2)}"; check its spelling and where it sits in the '
                       'config', e)
        raise


def _exit_with(prog: str, message: str, exc: BaseException, status: int = 2) -> None:
    if os.environ.get('MEDVLP_DEBUG'):
        raise exc
    message = ' '.join(str(message).split())  # one line, whatever the message holds
    print(f'{prog}: error: {message}', file=sys.stderr)
    sys.exit(status)
