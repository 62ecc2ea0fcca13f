# Copyright (c) medvlp contributors. All rights reserved.
"""Safe loading of mmengine checkpoints under torch>=2.6.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True`` and refuses to unpickle
anything but tensors and plain containers. mmengine 0.10.7 calls ``torch.load`` without that
argument, and its own checkpoints carry a few more objects (the message hub's
``HistoryBuffer`` holding numpy arrays, numpy scalars in ``meta``), so resuming, ``load_from``
and ``init_cfg=dict(type='Pretrained')`` fail.

medvlp keeps the safe unpickler and allow-lists exactly those objects: importing medvlp
replaces mmengine's loader for local files with :func:`load_checkpoint_file`, which calls
``torch.load(..., weights_only=True)`` inside ``torch.serialization.safe_globals`` holding
the allow-list. Nothing else is trusted. When a checkpoint needs another global, the error
names it and tells how to allow it:

* in Python: ``medvlp.utils.allow_checkpoint_globals(MyClass)``;
* from the shell: ``MEDVLP_CHECKPOINT_SAFE_GLOBALS=pkg.module.MyClass,other.Name``;
* for a checkpoint you fully trust (it can run arbitrary code when loaded):
  ``MEDVLP_TRUST_CHECKPOINTS=1`` falls back to ``weights_only=False`` with a warning.
"""
import importlib
import os
import os.path as osp
import pickle
import re
import warnings
from typing import Any, Callable, List, Optional, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner.checkpoint import CheckpointLoader

_EXTRA_SAFE_GLOBALS: List[Any] = []
_INSTALLED = False


def _numpy_safe_globals() -> List[Any]:
    """The numpy objects that pickled arrays, dtypes and scalars refer to."""
    core = getattr(np, '_core', None) or np.core  # numpy 2 renamed np.core to np._core
    found = [np.ndarray, np.dtype, core.multiarray._reconstruct, core.multiarray.scalar]
    # Since numpy 1.25 every dtype has its own class, e.g. numpy.dtypes.Float64DType.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        found += [getattr(dtypes, name) for name in dir(dtypes) if name.endswith('DType')]
    return found


#: Statistics methods mmengine registers on every HistoryBuffer.
_HISTORY_BUFFER_METHODS = frozenset({'min', 'max', 'current', 'mean'})


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """Stand-in for ``builtins.getattr`` while unpickling.

    Pickle stores the functions in ``HistoryBuffer._statistics_methods`` (e.g.
    ``HistoryBuffer.mean``) as ``getattr(HistoryBuffer, 'mean')``. Allowing the real
    ``getattr`` would let a checkpoint reach any attribute of any allowed object, so only
    those statistics methods are resolved.
    """
    allowed = _HISTORY_BUFFER_METHODS | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({getattr(obj, "__name__", type(obj).__name__)}, '
        f'{name!r}); medvlp only resolves HistoryBuffer statistics methods this way')


def default_safe_globals() -> List[Any]:
    """Everything an mmengine/medvlp checkpoint holds besides tensors and containers."""
    return ([HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')] +
            _numpy_safe_globals() + list(_EXTRA_SAFE_GLOBALS))


def allow_checkpoint_globals(*objects: Any) -> None:
    """Add classes or functions that checkpoints may contain to medvlp's allow-list.

    Args:
        *objects: Classes or functions, or their dotted import paths
            (``'mypkg.module.MyClass'``).
    """
    for obj in objects:
        _EXTRA_SAFE_GLOBALS.append(_import_dotted(obj) if isinstance(obj, str) else obj)


def _import_dotted(path: str) -> Any:
    module_name, _, attr = path.strip().rpartition('.')
    if not module_name:
        raise ValueError(f'"{path}" is not a dotted path like "package.module.Name"')
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f'cannot import checkpoint global "{path}": {e}') from e


def _env_safe_globals() -> List[Any]:
    names = os.environ.get('MEDVLP_CHECKPOINT_SAFE_GLOBALS', '')
    return [_import_dotted(name) for name in names.split(',') if name.strip()]


def load_checkpoint_file(filename: str,
                         map_location: Optional[Union[str, Callable]] = None) -> Any:
    """Load a local checkpoint with ``weights_only=True`` and medvlp's allow-list.

    Args:
        filename (str): Path of the checkpoint file.
        map_location (str | callable, optional): Same as :func:`torch.load`.

    Returns:
        The unpickled checkpoint (usually a dict).

    Raises:
        FileNotFoundError: If the file does not exist.
        pickle.UnpicklingError: If the checkpoint holds an object that is not allowed; the
            message names it and how to allow it.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint "{filename}" does not exist')
    allowed = default_safe_globals() + _env_safe_globals()
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        if os.environ.get('MEDVLP_TRUST_CHECKPOINTS') == '1':
            warnings.warn(f'MEDVLP_TRUST_CHECKPOINTS=1: loading "{filename}" with '
                          'weights_only=False; this runs any code the file contains.')
            return torch.load(filename, map_location=map_location, weights_only=False)
        match = re.search(r'GLOBAL ([\w.]+)', str(e))
        culprit = match.group(1) if match else 'an object'
        raise pickle.UnpicklingError(
            f'checkpoint "{filename}" contains {culprit}, which medvlp does not load with '
            'torch.load(weights_only=True) unless allowed. If you trust it, allow it with '
            f'MEDVLP_CHECKPOINT_SAFE_GLOBALS={culprit if match else "pkg.module.Name"} or '
            'medvlp.utils.allow_checkpoint_globals(...); MEDVLP_TRUST_CHECKPOINTS=1 turns '
            f'the safe loader off for trusted files. Original error: {e}') from e


def load_from_local_safe(filename: str,
                         map_location: Optional[Union[str, Callable]] = None) -> Any:
    """The loader registered for local paths; mmengine logs it as the "local_safe" backend."""
    return load_checkpoint_file(filename, map_location)


def install_safe_checkpoint_loader() -> None:
    """Make mmengine load local checkpoints through :func:`load_checkpoint_file`.

    This covers ``load_from``, resuming and ``init_cfg=dict(type='Pretrained', ...)``,
    which all reach ``CheckpointLoader``'s loader for plain paths. Idempotent.
    """
    global _INSTALLED
    if _INSTALLED:
        return
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local_safe, force=True)
    _INSTALLED = True
    print_log('medvlp: local checkpoints load with torch.load(weights_only=True) and an '
              'allow-list (medvlp.utils.checkpoint)', logger='current', level=10)
