# Copyright (c) medvlp contributors. All rights reserved.
"""tools/infer.py writes the promised JSON and PNGs; `make demo-vis` draws the demo's pictures."""
import importlib.util
import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from inference_helpers import short_joimternet_run  # noqa: F401

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def infer(repo_root):
    spec = importlib.util.spec_from_file_location('infer_tool', repo_root / 'tools/infer.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_subcommands_write_their_files(infer, short_joimternet_run, repo_root, tmp_path,
                                       capsys):
    config, ckpt = (str(p) for p in short_joimternet_run)
    images = repo_root / 'demo/cxr/images'
    first, second = str(images / '000001-1.png'), str(images / '000001-3.png')
    common = [config, ckpt, '--text-source', 'note']

    infer(['embed', *common, '--images', first, second, '--reports', 'Left pleural effusion.',
           '--patch-feats', '--out', str(tmp_path / 'feats.json')])
    feats = json.loads((tmp_path / 'feats.json').read_text())
    assert [len(f['global_feat']) for f in feats['images']] == [64, 64]
    assert len(feats['images'][0]['patch_feats']) == 36
    assert feats['reports'][0]['words'] == ['Left', 'pleural', 'effusion', '.']

    index = tmp_path / 'demo.index.pth'
    infer(['retrieve', *common, '--index', str(index), '--corpus-reports',
           str(repo_root / 'demo/cxr/annotations.jsonl'), '--corpus-images', str(images)])
    assert 'RetrievalIndex(100 reports, 100 images' in capsys.readouterr().out
    infer(['retrieve', *common, '--index', str(index), '--images', first, '--reports',
           'bilateral opacities', '--topk', '3', '--out', str(tmp_path / 'hits.json')])
    hits = json.loads((tmp_path / 'hits.json').read_text())
    assert [h['kind'] for h in hits] == ['image', 'report']
    assert len(hits[0]['hits']) == 3 and hits[0]['hits'][0]['id']  # a demo study id
    assert hits[1]['hits'][0]['item'].endswith('.png')

    infer(['zero-shot', *common, '--images', first, second, '--prompts', 'covid',
           '--out', str(tmp_path / 'zero_shot.json')])
    scores = json.loads((tmp_path / 'zero_shot.json').read_text())
    assert scores['classes'] == ['COVID-19'] and len(scores['predictions']) == 2

    infer(['explain', *common, '--image', first, '--report',
           'Bilateral reticular opacities. Left pleural effusion.', '--out-dir',
           str(tmp_path / 'explain')])
    for name in ('000001-1_attention.png', '000001-1_masks.png'):
        assert Image.open(tmp_path / 'explain' / name).size[0] > 500

    not_image = tmp_path / 'scan.png'
    not_image.write_text('not an image')
    with pytest.raises(SystemExit) as e:
        infer(['zero-shot', *common, '--images', str(not_image), '--out',
               str(tmp_path / 'x.json')])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and err.startswith('infer.py: error: image 0 is not a readable')
    assert '\n' not in err


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
