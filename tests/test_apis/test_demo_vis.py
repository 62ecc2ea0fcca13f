# Copyright (c) medvlp contributors. All rights reserved.
"""`make demo-vis`, the last step of `make demo`, draws the demo's pictures.

tools/infer.py itself is exercised by tests/test_docs/test_inference_guide.py, which runs the
inference guide's commands.
"""
import json
import os
import subprocess
import sys

import pytest
from PIL import Image


pytestmark = pytest.mark.slow


def test_make_demo_vis_draws_the_pictures(short_joimternet_run, repo_root, tmp_path):
    config, ckpt = short_joimternet_run
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        ['make', '--no-print-directory', 'demo-vis', f'PYTHON={sys.executable}',
         f'DEMO_CONFIG={config}', f'DEMO_WORK_DIR={ckpt.parent}'],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    vis = ckpt.parent / 'vis'
    for kind in ('masks', 'attention', 'retrieval'):
        pngs = sorted(vis.glob(f'*_{kind}.png'))
        assert len(pngs) == 3, kind
        assert all(Image.open(p).size[0] > 500 for p in pngs)
    summary = json.loads((vis / 'retrieval.json').read_text())
    assert [len(s['hits']) for s in summary] == [3, 3, 3]
    assert f'9 pictures of 3 demo X-rays in {vis}' in proc.stdout
