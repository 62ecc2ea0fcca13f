# Copyright (c) medvlp contributors. All rights reserved.
"""The demo pre-training runs that tests share, and what they produce.

The ``demo_pretrain_checkpoints`` and ``joimternet_demo_run`` fixtures (tests/conftest.py)
hand out :class:`DemoRuns`' results; each run is trained once per session, on first use, in
the test process (:func:`tool_calls.call_tool`: tools/train.py's ``main``, without the 5-10 s
of imports a subprocess pays; the tests in tests/test_tools keep the command line covered).

Importable from any test as ``from demo_pretrain import DEMO_BACKBONE_ARCH`` (tests/ is on
``sys.path``, like ``algorithm_helpers``); ``from conftest import`` is not safe, since
another folder's conftest.py may be the module named ``conftest``.
"""
from collections.abc import Mapping
from pathlib import Path
from typing import Dict, Iterator, NamedTuple

from tool_calls import call_tool

#: The demo pre-training configs whose checkpoints downstream tests start from.
DEMO_PRETRAIN_CONFIGS = {
    'medim': 'configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py',
    'mrm': 'configs/mrm/mrm_vit-tiny-p16_1xb16-30e_demo.py',
    'joimternet': 'configs/joimternet/joimternet_vit-tiny-p16_1xb16-30e_demo.py',
}

#: The image encoder those checkpoints hold under ``backbone.`` (mmpretrain ViT keys).
DEMO_BACKBONE_ARCH = dict(embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=192)
DEMO_IMG_SIZE = 96

#: Epochs of the shared JoImTeRNet demo run (the demo config as shipped, MLM included, its
#: 30-epoch schedule cut short). In-sample R@10 image->report / report->image of test.py
#: (chance: 10), seeds 0 / 1 / 2: 14 epochs 26/33, 20/26, 22/28; 16 epochs 45/39, 32/38,
#: 30/31; 18 epochs 44/46, 34/32, 54/54. 16 is the fewest that clears the tests' 2.5x chance
#: (test_joimternet_demo.py) on every seed; the run itself uses the config's seed 0.
#: Measured by training with ``--cfg-options randomness.seed=S``, a checkpoint every 2 epochs,
#: and running tools/test.py on each checkpoint, on one thread (as :func:`call_tool` runs).
JOIMTERNET_DEMO_EPOCHS = 16

_LOADER = ('train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False')


class JoImTeRNetRun(NamedTuple):
    """The shared JoImTeRNet demo run: its work dir, the config it dumped there, and the
    checkpoint of its last epoch (also named by the work dir's ``last_checkpoint``)."""
    work_dir: Path
    config: Path
    checkpoint: Path


class DemoRuns:
    """Trains the demo runs that tests share under ``root``, each once, when first asked.

    Args:
        root (Path): An empty folder for the runs' work dirs.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._checkpoints: Dict[str, Path] = {}
        self._joimternet = None

    def joimternet(self) -> JoImTeRNetRun:
        """:data:`JOIMTERNET_DEMO_EPOCHS` epochs of the JoImTeRNet demo config, no validation;
        the scalars of each epoch are logged (``*/vis_data/scalars.json``)."""
        if self._joimternet is None:
            config = DEMO_PRETRAIN_CONFIGS['joimternet']
            work = self.root / 'joimternet'
            call_tool('train.py', config, '--work-dir', work, '--no-validate', '--cfg-options',
                      f'train_cfg.max_epochs={JOIMTERNET_DEMO_EPOCHS}',
                      f'default_hooks.checkpoint.interval={JOIMTERNET_DEMO_EPOCHS}', *_LOADER)
            run = JoImTeRNetRun(work, work / Path(config).name,
                                work / f'epoch_{JOIMTERNET_DEMO_EPOCHS}.pth')
            assert run.config.is_file() and run.checkpoint.is_file(), f'{work}: no checkpoint'
            self._joimternet = run
        return self._joimternet

    def checkpoint(self, name: str) -> Path:
        """A real pre-training checkpoint of ``DEMO_PRETRAIN_CONFIGS[name]``: one epoch for
        MedIM and MRM, the shared :meth:`joimternet` run for JoImTeRNet."""
        if name not in DEMO_PRETRAIN_CONFIGS:
            raise KeyError(f'no demo pre-training run {name!r}; there are '
                           f'{sorted(DEMO_PRETRAIN_CONFIGS)}')
        if name == 'joimternet':
            return self.joimternet().checkpoint
        if name not in self._checkpoints:
            work = self.root / name
            call_tool('train.py', DEMO_PRETRAIN_CONFIGS[name], '--work-dir', work,
                      '--no-validate', '--cfg-options', 'train_cfg.max_epochs=1',
                      'default_hooks.checkpoint.interval=1', *_LOADER)
            checkpoint = work / 'epoch_1.pth'
            assert checkpoint.is_file(), f'{DEMO_PRETRAIN_CONFIGS[name]} wrote no epoch_1.pth'
            self._checkpoints[name] = checkpoint
        return self._checkpoints[name]


class DemoCheckpoints(Mapping):
    """``{'medim' | 'mrm' | 'joimternet': Path}`` of :meth:`DemoRuns.checkpoint`, each run
    trained when its key is first read (a test using only MedIM's trains only MedIM)."""

    def __init__(self, runs: DemoRuns) -> None:
        self._runs = runs

    def __getitem__(self, name: str) -> Path:
        return self._runs.checkpoint(name)

    def __iter__(self) -> Iterator[str]:
        return iter(DEMO_PRETRAIN_CONFIGS)

    def __len__(self) -> int:
        return len(DEMO_PRETRAIN_CONFIGS)
