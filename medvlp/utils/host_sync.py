# Copyright (c) medvlp contributors. All rights reserved.
"""Count the host-device synchronisations a piece of code performs.

On a GPU, every ``tensor.item()``, ``int(tensor)``, ``bool(tensor)``, boolean-mask index
and ``nonzero`` makes the CPU wait until the GPU has caught up, which stalls the kernel
queue. Such calls are invisible on the CPU, where nothing is asynchronous; this counter
makes them visible there. It watches, through a ``TorchDispatchMode``, the aten operators
that need a value or an output shape that only the data can tell:

* ``aten._local_scalar_dense`` (``.item()``, ``int()``, ``float()``, ``bool()``);
* ``aten.nonzero`` / ``aten.nonzero_static``-less shape queries, ``aten.masked_select``,
  ``aten.unique*``, ``aten.repeat_interleave`` with tensor repeats and no output size;
* ``aten.index`` / ``aten.index_put`` with a boolean index (``x[mask]``).

Each event records the innermost frame of the calling code outside torch, so a test can
say where a sync comes from (``medvlp/models/...py:123``) and whether it is ours or a
third-party library's.
"""
import os.path as osp
import traceback
from collections import Counter
from typing import List, NamedTuple, Optional, Sequence

import torch
from torch.utils._python_dispatch import TorchDispatchMode

_aten = torch.ops.aten
_SYNC_OPS = {
    _aten._local_scalar_dense.default: 'item',
    _aten.nonzero.default: 'nonzero',
    _aten.masked_select.default: 'masked_select',
    _aten.repeat_interleave.Tensor: 'repeat_interleave',
}
for _name in ('_unique2', 'unique_dim', 'unique_consecutive'):
    if hasattr(_aten, _name):
        _SYNC_OPS[getattr(_aten, _name).default] = _name
_INDEX_OPS = {_aten.index.Tensor, _aten.index_put.default, _aten.index_put_.default,
              _aten._index_put_impl_.default}
_SKIP_DIRS = (osp.dirname(torch.__file__), osp.dirname(__file__))


class SyncEvent(NamedTuple):
    """One synchronising operator call: its kind and the calling ``file:line``."""
    kind: str
    where: str


def _caller(skip_dirs: Sequence[str] = _SKIP_DIRS) -> str:
    for frame in reversed(traceback.extract_stack()[:-3]):
        if not frame.filename.startswith(tuple(skip_dirs)):
            return f'{frame.filename}:{frame.lineno}'
    return '<torch>'


class HostSyncCounter(TorchDispatchMode):
    """``with HostSyncCounter() as c: step()`` then ``c.events`` / ``c.summary()``.

    Args:
        record_callers (bool): Record the calling ``file:line`` of each event (slower).
            Defaults to True.
    """

    def __init__(self, record_callers: bool = True) -> None:
        super().__init__()
        self.record_callers = record_callers
        self.events: List[SyncEvent] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kind: Optional[str] = _SYNC_OPS.get(func)
        if kind is None and func in _INDEX_OPS:
            indices = args[1] if len(args) > 1 else ()
            if any(torch.is_tensor(i) and i.dtype in (torch.bool, torch.uint8)
                   for i in (indices or ()) if i is not None):
                kind = 'bool_index'
        if kind == 'repeat_interleave' and (kwargs or {}).get('output_size') is not None:
            kind = None
        if kind is not None:
            self.events.append(SyncEvent(kind, _caller() if self.record_callers else ''))
        return func(*args, **(kwargs or {}))

    @property
    def count(self) -> int:
        return len(self.events)

    def in_files(self, fragment: str) -> List[SyncEvent]:
        """The events whose caller path contains ``fragment`` (e.g. ``'/medvlp/'``)."""
        return [e for e in self.events if fragment in e.where]

    def summary(self) -> str:
        """One line per distinct (kind, caller) with its count."""
        counts = Counter(self.events)
        return '\n'.join(f'{n:3d} x {e.kind:17s} {e.where}' for e, n in counts.most_common())
