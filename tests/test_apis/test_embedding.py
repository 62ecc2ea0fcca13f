# Copyright (c) medvlp contributors. All rights reserved.
"""Image and report embeddings of real demo checkpoints; bad inputs fail in one line."""
import numpy as np
import pytest
import torch
from PIL import Image

from medvlp.apis import ImageEmbedder, ReportEmbedder, init_model
from medvlp.utils import UserError

from demo_pretrain import DEMO_PRETRAIN_CONFIGS as CONFIGS

EMBED_DIM, PATCHES = 64, (96 // 16)**2  # the demo necks' out_channels; 96 px, patch 16


def test_image_embeddings_shapes_and_determinism(medim_model, demo_records):
    embedder = ImageEmbedder(medim_model)
    paths = [r['img_path'] for r in demo_records[:5]]
    feats = embedder.embed(paths, batch_size=2)
    assert feats['global_feat'].shape == (5, EMBED_DIM)
    assert feats['patch_feats'].shape == (5, PATCHES, EMBED_DIM)
    assert torch.allclose(feats['global_feat'].norm(dim=-1), torch.ones(5), atol=1e-5)
    again = embedder.embed(paths[::-1], batch_size=5)  # other batching, other order
    assert torch.allclose(again['global_feat'].flip(0), feats['global_feat'], atol=1e-5)
    assert torch.allclose(again['patch_feats'].flip(0), feats['patch_feats'], atol=1e-5)
    # different X-rays get different embeddings
    assert (feats['global_feat'][0] - feats['global_feat'][1]).abs().max() > 1e-3
    # an in-memory array goes through the same resizing as a file
    array = np.asarray(Image.open(paths[0]).convert('L'))
    from_array = embedder.embed([array])['global_feat'][0]
    assert torch.allclose(from_array, feats['global_feat'][0], atol=1e-4)


def test_report_embeddings_take_the_training_text_path(medim_model, demo_records):
    embedder = ReportEmbedder(medim_model, text_source='note')
    records = demo_records[:4]
    raw = embedder([r['report'] for r in records], batch_size=3)
    cached = embedder(records, batch_size=4)  # the annotation file's processed fields
    for a, b, record in zip(raw, cached, records):
        assert a['global_feat'].shape == (EMBED_DIM, )
        assert a['word_feats'].shape == (len(a['words']), EMBED_DIM)
        assert a['words'] == record['words'][:len(a['words'])]
        assert torch.allclose(a['global_feat'], b['global_feat'], atol=1e-5)
    stacked = embedder.embed(['Left pleural effusion.', 'No acute findings.'])
    assert stacked['global_feat'].shape == (2, EMBED_DIM)


def test_bad_inputs_give_one_line_errors(medim_model, demo_pretrain_checkpoints, repo_root,
                                         tmp_path):
    not_image = tmp_path / 'notes.png'
    not_image.write_text('this is text, not a PNG')
    with pytest.raises(UserError, match=r'image 1 is not a readable image') as e:
        ImageEmbedder(medim_model).embed([str(repo_root / 'demo/cxr/images/000001-1.png'),
                                          str(not_image)])
    assert '\n' not in str(e.value)
    with pytest.raises(UserError, match=r'report 1 is empty') as e:
        ReportEmbedder(medim_model).embed(['Effusion.', '  \n '])
    assert '\n' not in str(e.value)

    mrm = str(demo_pretrain_checkpoints['mrm'])
    # an MRM checkpoint with an alignment model's config: refused by its metadata
    with pytest.raises(UserError, match=r'holds a MRM model but the config builds MedIM'):
        init_model(str(repo_root / CONFIGS['medim']), mrm)
    # the MRM model itself has no shared image-report space to embed into
    with pytest.raises(UserError, match=r'needs an image-report alignment model'):
        ImageEmbedder(str(repo_root / CONFIGS['mrm']), mrm)
    # a bare state dict (no metadata) of another model: refused by its keys
    from medvlp.utils import load_checkpoint_file
    bare = tmp_path / 'bare.pth'
    torch.save({'state_dict': load_checkpoint_file(mrm)['state_dict']}, bare)
    with pytest.raises(UserError, match=r'does not fit MedIM: \d+ weights are missing'):
        init_model(str(repo_root / CONFIGS['medim']), str(bare))
    with pytest.raises(UserError, match='does not exist'):
        init_model(str(repo_root / CONFIGS['medim']), str(tmp_path / 'missing.pth'))
