# Copyright (c) medvlp contributors. All rights reserved.
"""Safe loading of mmengine checkpoints under torch>=2.6, with integrity checks.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True`` and refuses to unpickle
anything but tensors and plain containers. mmengine 0.10.7 calls ``torch.load`` without that
argument, and its own checkpoints carry a few more objects (the message hub's
``HistoryBuffer`` holding numpy arrays, numpy scalars in ``meta``), so resuming, ``load_from``
and ``init_cfg=dict(type='Pretrained')`` fail.

medvlp keeps the safe unpickler and allow-lists exactly those objects: importing medvlp
replaces mmengine's loaders, for local files and for every remote scheme (see
:mod:`medvlp.utils.checkpoint_remote`), with :func:`load_checkpoint_file`, which calls
``torch.load(..., weights_only=True)`` inside ``torch.serialization.safe_globals`` holding
the allow-list. Nothing else is trusted. When a checkpoint needs another global, the error
names it and tells how to allow it:

* in Python: ``medvlp.utils.allow_checkpoint_globals(MyClass)``;
* from the shell: ``MEDVLP_CHECKPOINT_SAFE_GLOBALS=pkg.module.MyClass,other.Name``;
* for a checkpoint you fully trust (it can run arbitrary code when loaded):
  ``MEDVLP_TRUST_CHECKPOINTS=1`` falls back to ``weights_only=False`` with a warning.

Integrity: a checkpoint with a ``<file>.sha256`` sidecar (medvlp's
``CheckpointDigestHook`` writes one next to every checkpoint it sees saved) must match it;
an empty, truncated or non-checkpoint file raises :class:`CorruptCheckpointError` naming
the file; and every floating-point tensor of the state dict must be finite
(``MEDVLP_CHECKPOINT_NONFINITE=error|warn|ignore``, default ``error``).
"""
import glob
import hashlib
import importlib
import io
import os
import os.path as osp
import pickle
import re
import warnings
from typing import Any, BinaryIO, Callable, Dict, List, Optional, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner.checkpoint import CheckpointLoader

from .cli import UserError

_EXTRA_SAFE_GLOBALS: List[Any] = []
_INSTALLED = False

#: Suffix of the sidecar file that holds a checkpoint's sha256 (``sha256sum`` format).
DIGEST_SUFFIX = '.sha256'
NONFINITE_POLICIES = ('error', 'warn', 'ignore')


class CorruptCheckpointError(UserError):
    """A checkpoint file that is empty, truncated, modified or holds non-finite weights."""


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


# --------------------------------------------------------------------------------------
# digests
# --------------------------------------------------------------------------------------
def file_sha256(filename: str, chunk_size: int = 1 << 22) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(filename, 'rb') as f:
        for chunk in iter(lambda: f.read(chunk_size), b''):
            digest.update(chunk)
    return digest.hexdigest()


def digest_path(filename: str) -> str:
    """Where the sha256 sidecar of ``filename`` lives."""
    return filename + DIGEST_SUFFIX


def write_checkpoint_digest(filename: str) -> str:
    """Write ``<filename>.sha256`` in ``sha256sum`` format (``sha256sum -c`` checks it).

    Returns:
        str: The hex digest.
    """
    hexdigest = file_sha256(filename)
    tmp = digest_path(filename) + '.tmp'
    with open(tmp, 'w') as f:
        f.write(f'{hexdigest}  {osp.basename(filename)}\n')
    os.replace(tmp, digest_path(filename))
    return hexdigest


def read_checkpoint_digest(filename: str) -> Optional[str]:
    """The digest recorded in the sidecar of ``filename``, or None without a sidecar."""
    path = digest_path(filename)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        fields = f.read().split()
    if not fields or not re.fullmatch(r'[0-9a-f]{64}', fields[0]):
        raise CorruptCheckpointError(f'checksum file "{path}" does not hold a sha256 digest')
    return fields[0]


def verify_checkpoint_digest(filename: str) -> Optional[bool]:
    """Check ``filename`` against its sidecar: True/False, or None when there is none."""
    expected = read_checkpoint_digest(filename)
    if expected is None:
        return None
    return file_sha256(filename) == expected


def check_sha256(filename: str, expected: str, source: Optional[str] = None) -> None:
    """Raise :class:`CorruptCheckpointError` unless ``filename`` hashes to ``expected``.

    ``expected`` may be a prefix of the hex digest (torch hub's ``name-<prefix>.pth``
    convention), of at least 8 characters.
    """
    expected = expected.lower()
    if len(expected) < 8 or not re.fullmatch(r'[0-9a-f]+', expected):
        raise UserError(f'sha256 pin "{expected}" for {source or filename} is not a hex '
                        'digest (or prefix of at least 8 characters)')
    actual = file_sha256(filename)
    if not actual.startswith(expected):
        raise CorruptCheckpointError(
            f'checkpoint {source or filename} has sha256 {actual}, which does not match '
            f'the pinned {expected}; the file was not loaded')


# --------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------
def _safe_torch_load(source: Union[str, BinaryIO], name: str,
                     map_location: Optional[Union[str, Callable]]) -> Any:
    """``torch.load(weights_only=True)`` with the allow-list and clear errors."""
    allowed = default_safe_globals() + _env_safe_globals()
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        match = re.search(r'GLOBAL ([\w.]+)', str(e))
        if match is None and 'getattr(' not in str(e):
            raise CorruptCheckpointError(
                f'checkpoint "{name}" is not a readable torch checkpoint ({_first_line(e)})'
            ) from e
        if os.environ.get('MEDVLP_TRUST_CHECKPOINTS') == '1':
            warnings.warn(f'MEDVLP_TRUST_CHECKPOINTS=1: loading "{name}" with '
                          'weights_only=False; this runs any code the file contains.')
            if not isinstance(source, str):
                source.seek(0)
            return torch.load(source, map_location=map_location, weights_only=False)
        if match is None:
            raise pickle.UnpicklingError(f'checkpoint "{name}": {e}') from e
        culprit = match.group(1)
        raise pickle.UnpicklingError(
            f'checkpoint "{name}" contains {culprit}, which medvlp does not load with '
            'torch.load(weights_only=True) unless allowed. If you trust it, allow it with '
            f'MEDVLP_CHECKPOINT_SAFE_GLOBALS={culprit} or '
            'medvlp.utils.allow_checkpoint_globals(...); MEDVLP_TRUST_CHECKPOINTS=1 turns '
            f'the safe loader off for trusted files. Original error: {e}') from e
    except (EOFError, RuntimeError, ValueError, OSError, KeyError, IndexError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise CorruptCheckpointError(
            f'checkpoint "{name}" cannot be read: it is empty, truncated or not a torch '
            f'checkpoint ({type(e).__name__}: {_first_line(e)})') from e


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:300]


def nonfinite_tensors(checkpoint: Any) -> Dict[str, int]:
    """``{key: number of NaN/inf values}`` of the floating tensors of a state dict.

    Looks at ``checkpoint['state_dict']`` when present (mmengine's layout), else at the
    checkpoint itself when it is a dict of tensors.
    """
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else {}
    found = {}
    for key, value in (state.items() if isinstance(state, dict) else ()):
        if torch.is_tensor(value) and value.is_floating_point():
            bad = int((~torch.isfinite(value)).sum())
            if bad:
                found[str(key)] = bad
    return found


def check_finite(checkpoint: Any, name: str, policy: Optional[str] = None) -> None:
    """Apply the non-finite policy (argument, else ``MEDVLP_CHECKPOINT_NONFINITE``)."""
    policy = policy or os.environ.get('MEDVLP_CHECKPOINT_NONFINITE', 'error')
    if policy not in NONFINITE_POLICIES:
        raise UserError(f'MEDVLP_CHECKPOINT_NONFINITE={policy!r}; use one of '
                        f'{", ".join(NONFINITE_POLICIES)}')
    if policy == 'ignore':
        return
    bad = nonfinite_tensors(checkpoint)
    if not bad:
        return
    keys = ', '.join(list(bad)[:5]) + (', ...' if len(bad) > 5 else '')
    message = (f'checkpoint "{name}" has non-finite weights: {len(bad)} tensors with NaN/inf '
               f'({keys}); the run that wrote it diverged. MEDVLP_CHECKPOINT_NONFINITE=warn '
               'loads it anyway')
    if policy == 'error':
        raise CorruptCheckpointError(message)
    print_log(message, logger='current', level=30)


def load_checkpoint_file(filename: str,
                         map_location: Optional[Union[str, Callable]] = None,
                         nonfinite: Optional[str] = None) -> Any:
    """Load a local checkpoint with ``weights_only=True`` and medvlp's allow-list.

    Args:
        filename (str): Path of the checkpoint file.
        map_location (str | callable, optional): Same as :func:`torch.load`.
        nonfinite (str, optional): ``'error'``, ``'warn'`` or ``'ignore'`` for NaN/inf
            weights; defaults to ``MEDVLP_CHECKPOINT_NONFINITE`` or ``'error'``.

    Returns:
        The unpickled checkpoint (usually a dict).

    Raises:
        FileNotFoundError: If the file does not exist.
        CorruptCheckpointError: If the file is empty, truncated, not a checkpoint, differs
            from its ``.sha256`` sidecar, or holds non-finite weights.
        pickle.UnpicklingError: If the checkpoint holds an object that is not allowed; the
            message names it and how to allow it.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint "{filename}" does not exist')
    if osp.getsize(filename) == 0:
        raise CorruptCheckpointError(f'checkpoint "{filename}" is an empty file')
    if verify_checkpoint_digest(filename) is False:
        raise CorruptCheckpointError(
            f'checkpoint "{filename}" does not match its checksum file '
            f'"{digest_path(filename)}": it was modified or corrupted after it was saved')
    checkpoint = _safe_torch_load(filename, filename, map_location)
    check_finite(checkpoint, filename, nonfinite)
    return checkpoint


def load_checkpoint_bytes(data: bytes, name: str,
                          map_location: Optional[Union[str, Callable]] = None) -> Any:
    """:func:`load_checkpoint_file` for a checkpoint held in memory (e.g. from s3)."""
    if not data:
        raise CorruptCheckpointError(f'checkpoint "{name}" is empty')
    checkpoint = _safe_torch_load(io.BytesIO(data), name, map_location)
    check_finite(checkpoint, name)
    return checkpoint


def load_from_local_safe(filename: str,
                         map_location: Optional[Union[str, Callable]] = None) -> Any:
    """The loader registered for local paths; mmengine logs it as the "local_safe" backend."""
    return load_checkpoint_file(filename, map_location)


def find_intact_checkpoint(work_dir: str) -> Optional[str]:
    """The newest checkpoint in ``work_dir`` that loads, for auto-resume.

    Candidates are the file named in ``last_checkpoint`` (mmengine's pointer) and every
    ``*.pth`` in ``work_dir`` except ``best_*``, newest first. A candidate that is corrupt
    (checksum mismatch, truncated, non-finite) is skipped with a warning naming why.

    Returns:
        str | None: The path, or None when there is no intact checkpoint.
    """
    candidates = []
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            candidates.append(f.read().strip())
    found = [p for p in glob.glob(osp.join(work_dir, '*.pth'))
             if not osp.basename(p).startswith('best_')]
    candidates += sorted(found, key=lambda p: (osp.getmtime(p), p), reverse=True)
    seen = set()
    for path in candidates:
        if not path or path in seen or not osp.isfile(path):
            continue
        seen.add(path)
        try:
            load_checkpoint_file(path, map_location='cpu')
        except (CorruptCheckpointError, pickle.UnpicklingError) as e:
            print_log(f'auto-resume: skipping {path}: {e}', logger='current', level=30)
            continue
        return path
    return None


def install_safe_checkpoint_loader() -> None:
    """Make mmengine load every checkpoint through medvlp's safe loader.

    This covers ``load_from``, resuming and ``init_cfg=dict(type='Pretrained', ...)``,
    which all reach ``CheckpointLoader``: local paths load with
    :func:`load_checkpoint_file`, and http(s)://, torchvision://, modelzoo://,
    open-mmlab://, mmcls://, pavi:// and s3:// go through
    :mod:`medvlp.utils.checkpoint_remote`, which downloads the file and loads it the
    same way. Also makes ``type='Pretrained'`` check that the weights fit the module
    (:mod:`medvlp.utils.pretrained`). Idempotent.
    """
    global _INSTALLED
    if _INSTALLED:
        return
    from .checkpoint_remote import register_remote_schemes
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local_safe, force=True)
    register_remote_schemes()
    from .pretrained import register_checked_pretrained
    register_checked_pretrained()
    _INSTALLED = True
    print_log('medvlp: checkpoints load with torch.load(weights_only=True) and an '
              'allow-list, from every scheme (medvlp.utils.checkpoint)', logger='current',
              level=10)
