# Copyright (c) medvlp contributors. All rights reserved.
"""The downstream classification guide names files that exist and the numbers the code uses."""
import re
from pathlib import Path

from mmengine.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = REPO_ROOT / 'docs' / 'en' / 'user_guides' / 'downstream_classification.md'


def test_paths_in_the_guide_exist():
    text = GUIDE.read_text()
    paths = set(re.findall(r'((?:configs|tools|medvlp|tests)/[\w./-]+\.(?:py|md))', text))
    assert len(paths) > 15
    missing = sorted(p for p in paths if not (REPO_ROOT / p).is_file())
    assert not missing, missing


def test_step_table_matches_the_recipes():
    text = GUIDE.read_text()
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if cells[0] in ('NIH', 'CheXpert', 'RSNA', 'COVID') and '/' in line:
            rows[cells[0]] = cells[1:]
    for task, cells in rows.items():
        for cell, fraction in zip(cells, (1, 10, 100)):
            if not cell.strip():
                continue
            warmup, steps, lr = (c.strip().replace(',', '') for c in cell.split('/'))
            folder = REPO_ROOT / 'configs' / 'benchmarks' / 'classification' / task.lower()
            (path, ) = folder.glob(f'vit-base-p16_ft_8xb12-*_{task.lower()}-{fraction}pct.py')
            cfg = Config.fromfile(str(path))
            assert cfg.param_scheduler[0]['end'] == int(warmup)
            assert cfg.train_cfg.max_iters == int(steps)
            assert cfg.optim_wrapper.optimizer.lr == float(lr)
    assert len(rows) == 4
