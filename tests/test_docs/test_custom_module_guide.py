# Copyright (c) medvlp contributors. All rights reserved.
"""Runs the worked example of docs/en/advanced_guides/custom_modules.md as written."""
import re

import pytest
from mmengine.config import Config

GUIDE = 'docs/en/advanced_guides/custom_modules.md'


def _write_guide_files(repo_root, dest):
    """Write every ```python block that starts with ``# file: <path>`` under ``dest``."""
    text = (repo_root / GUIDE).read_text()
    blocks = re.findall(r'```python\n# file: (\S+)\n(.*?)```', text, flags=re.S)
    assert len(blocks) == 2, 'the guide should hold the module and the config'
    for rel_path, body in blocks:
        path = dest / rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / '__init__.py').touch()
        path.write_text(body.replace('{{REPO}}', str(repo_root)))
    return [dest / rel_path for rel_path, _ in blocks]


@pytest.mark.slow
def test_guide_example_trains(repo_root, tmp_path, run_tool, monkeypatch, clean_user_package):
    module_file, config_file = _write_guide_files(repo_root, tmp_path)
    work_dir = tmp_path / 'work'

    # the config picks the custom module up through custom_imports
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = Config.fromfile(str(config_file))
    from mmengine.registry import DefaultScope
    from medvlp.registry import MODELS
    with DefaultScope.overwrite_default_scope('medvlp'):
        model = MODELS.build(cfg.model)
    assert type(model.head.loss_module).__name__ == 'SmoothL1PixelLoss'
    assert model.head.loss_module.beta == 0.5

    # and the guide's training command runs
    run_tool('train.py', config_file, '--work-dir', work_dir, '--cfg-options',
             'train_cfg.max_epochs=1', 'train_dataloader.num_workers=0',
             'train_dataloader.persistent_workers=False',
             env={'PYTHONPATH': f'{repo_root}:{tmp_path}'})
    assert (work_dir / 'epoch_1.pth').is_file()
