# Copyright (c) medvlp contributors. All rights reserved.
"""Write a sha256 sidecar next to every checkpoint the runner saves."""
import glob
import os
import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from medvlp.registry import HOOKS
from medvlp.utils.checkpoint import DIGEST_SUFFIX, digest_path, write_checkpoint_digest


@HOOKS.register_module()
class CheckpointDigestHook(Hook):
    """Record ``<checkpoint>.sha256`` (``sha256sum`` format) for each saved checkpoint.

    Runs after mmengine's ``CheckpointHook`` in every stage where that hook saves (its
    priority is ``LOWEST``), reads the paths it published in the message hub
    (``last_ckpt``, ``best_ckpt*``) and hashes each file that is newer than its sidecar.
    Sidecars of checkpoints that ``max_keep_ckpts`` removed are deleted. Loading through
    medvlp (``--resume``, ``load_from``, ``tools/test.py``, ``init_cfg``) checks the file
    against its sidecar, so a checkpoint modified or damaged after saving is refused, and
    auto-resume falls back to the newest intact one.
    """

    priority = 'LOWEST'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._record(runner)

    def after_train_epoch(self, runner) -> None:
        self._record(runner)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._record(runner)

    def after_train(self, runner) -> None:
        self._record(runner)

    def _record(self, runner) -> None:
        if not is_main_process():
            return
        info = runner.message_hub.runtime_info
        paths = [info[k] for k in info if k == 'last_ckpt' or k.startswith('best_ckpt')]
        folders = set()
        for path in paths:
            if isinstance(path, str) and osp.isfile(path) and self._stale(path):
                write_checkpoint_digest(path)
            if isinstance(path, str):
                folders.add(osp.dirname(path))
        for folder in folders:
            self._remove_orphans(folder)

    @staticmethod
    def _stale(path: str) -> bool:
        sidecar: Optional[str] = digest_path(path)
        return not osp.isfile(sidecar) or osp.getmtime(sidecar) < osp.getmtime(path)

    @staticmethod
    def _remove_orphans(folder: str) -> None:
        for sidecar in glob.glob(osp.join(folder, '*' + DIGEST_SUFFIX)):
            if not osp.exists(sidecar[:-len(DIGEST_SUFFIX)]):
                os.remove(sidecar)
