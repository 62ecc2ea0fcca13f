# Copyright (c) medvlp contributors. All rights reserved.
"""medvlp: report-guided pre-training of chest X-ray models on OpenMMLab."""
from .utils.checkpoint import install_safe_checkpoint_loader
from .utils.process import install_worker_parent_death_signal
from .version import __version__, version_info

# mmengine 0.10.7 cannot load its own checkpoints under torch>=2.6 (weights_only=True).
# medvlp keeps the safe loader and allow-lists what mmengine checkpoints hold; see
# medvlp/utils/checkpoint.py and docs/en/advanced_guides/checkpoints.md.
install_safe_checkpoint_loader()
# Dataloader workers of mmengine's Runner die with their trainer (medvlp/utils/process.py).
install_worker_parent_death_signal()

__all__ = ['__version__', 'version_info']
