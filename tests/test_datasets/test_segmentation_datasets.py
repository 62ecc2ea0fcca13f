# Copyright (c) medvlp contributors. All rights reserved.
"""Segmentation datasets on the real covid-cxr lung masks, built from the mmseg scope."""
import csv
import shutil

import numpy as np
import pytest
from mmengine.registry import DefaultScope
from PIL import Image

from medvlp.datasets.segmentation import LungMaskDataset

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='medvlp.LoadSegAnnotations'),
    dict(type='PackSegInputs'),
]


def build(cfg):
    from mmseg.registry import DATASETS
    with DefaultScope.overwrite_default_scope('mmseg'):
        return DATASETS.build(cfg)


@pytest.fixture(scope='module')
def covid(shared_data):
    return shared_data / 'covid-cxr'


@pytest.fixture(scope='module')
def patients(covid):
    with open(covid / 'metadata.csv', encoding='utf-8') as f:
        return {row['filename']: row['patientid'] for row in csv.DictReader(f)}


def test_lung_masks_split_by_patient(covid, patients):
    train = build(dict(type='medvlp.LungMaskDataset', data_root=str(covid), pipeline=PIPELINE))
    val = build(dict(type='medvlp.LungMaskDataset', data_root=str(covid), split='val',
                     pipeline=PIPELINE))
    every = build(dict(type='medvlp.LungMaskDataset', data_root=str(covid), split='all',
                       pipeline=PIPELINE))
    names = {s: {info['img_path'].split('/')[-1] for info in d.load_data_list()}
             for s, d in (('train', train), ('val', val), ('all', every))}
    # 227 masks, 15 of them all-zero laterals (shared/data/covid-cxr/README.md).
    assert len(names['all']) == 212 and every.skipped == {'empty mask': every.skipped[
        'empty mask']} and len(every.skipped['empty mask']) == 15
    assert names['train'] | names['val'] == names['all'] and not names['train'] & names['val']
    assert not {patients[n] for n in names['train']} & {patients[n] for n in names['val']}
    assert 0.1 < len(names['val']) / len(names['all']) < 0.35
    assert type(train).__name__ == 'LungMaskDataset'


def test_lung_masks_are_binarised_above_127(covid):
    dataset = build(dict(type='medvlp.LungMaskDataset', data_root=str(covid), split='all',
                         pipeline=PIPELINE))
    # An image whose mask has 127-valued edge pixels.
    for index, info in enumerate(dataset.load_data_list()):
        raw = np.asarray(Image.open(info['seg_map_path']))
        if (raw == 127).any():
            break
    sample = dataset[index]['data_samples']
    gt = sample.gt_sem_seg.data[0].numpy()
    assert set(np.unique(gt).tolist()) == {0, 1}
    assert np.array_equal(gt, (raw > 127).astype(gt.dtype))
    assert sample.img_path == info['img_path']


def test_lung_masks_refuse_mmseg_load_annotations(covid):
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]
    with pytest.raises(ValueError, match='medvlp.LoadSegAnnotations'):
        build(dict(type='medvlp.LungMaskDataset', data_root=str(covid), pipeline=pipeline))


@pytest.fixture
def folder(covid, tmp_path):
    """A user's folder: real X-rays with 0/1 masks, an unmasked image, a wrong-size mask."""
    names = sorted(p.name for p in (covid / 'masks').iterdir())[:4]
    (tmp_path / 'images').mkdir()
    (tmp_path / 'masks').mkdir()
    for name in names:
        shutil.copy(covid / 'images' / name, tmp_path / 'images' / name)
        mask = (np.asarray(Image.open(covid / 'masks' / name)) > 127).astype(np.uint8)
        Image.fromarray(mask).save(tmp_path / 'masks' / name)
    shutil.copy(covid / 'images' / '000001-1.png', tmp_path / 'images' / 'unmasked.png')
    wrong = names[0].replace('.png', '-small.png')
    shutil.copy(covid / 'images' / names[0], tmp_path / 'images' / wrong)
    small = Image.open(tmp_path / 'masks' / names[0]).resize((64, 64), Image.NEAREST)
    small.save(tmp_path / 'masks' / wrong)
    return tmp_path, names, wrong


def test_folder_dataset_skips_and_names_bad_pairs(folder):
    root, names, wrong = folder
    dataset = build(dict(type='medvlp.ImageMaskFolderDataset', data_root=str(root),
                         pipeline=PIPELINE))
    assert sorted(i['img_path'].split('/')[-1] for i in dataset.load_data_list()) == names
    assert dataset.skipped == {'no mask file': ['unmasked.png'],
                               'mask size differs from the image': [wrong]}
    gt = dataset[0]['data_samples'].gt_sem_seg.data
    assert gt.max() == 1 and dataset.metainfo['classes'] == ('background', 'foreground')
    (root / 'split.txt').write_text('\n'.join(n[:-4] for n in names[:2]) + '\n')
    subset = build(dict(type='medvlp.ImageMaskFolderDataset', data_root=str(root),
                        ann_file='split.txt', pipeline=PIPELINE))
    assert len(subset) == 2
    (root / 'none.txt').write_text('unmasked\n')
    with pytest.raises(ValueError, match=r'no usable image/mask pairs.*1 no mask file'):
        build(dict(type='medvlp.ImageMaskFolderDataset', data_root=str(root),
                   ann_file='none.txt', pipeline=PIPELINE))


def test_wrong_size_and_non_binary_masks_raise_naming_the_image(folder):
    root, names, wrong = folder
    dataset = build(dict(type='medvlp.ImageMaskFolderDataset', data_root=str(root),
                         check_sizes=False, pipeline=PIPELINE))
    index = [i['img_path'].endswith(wrong) for i in dataset.load_data_list()].index(True)
    with pytest.raises(ValueError, match=f'{wrong}: the mask is 64x64'):
        dataset[index]
    Image.fromarray(np.asarray(Image.open(root / 'masks' / names[1])) * 255).save(
        root / 'masks' / names[1])
    index = [i['img_path'].endswith(names[1]) for i in dataset.load_data_list()].index(True)
    with pytest.raises(ValueError, match=rf'{names[1]}: holds only 0 and 255'):
        dataset[index]
    Image.fromarray(np.asarray(Image.open(root / 'masks' / names[1])) // 2).save(
        root / 'masks' / names[1])
    with pytest.raises(ValueError, match=rf'{names[1]}: values \[127\] are not class indices'):
        dataset[index]


def test_siim_dataset_reads_converter_layout(covid, tmp_path):
    name = sorted(p.stem for p in (covid / 'masks').iterdir())[0]
    (tmp_path / 'images').mkdir()
    (tmp_path / 'masks').mkdir()
    (tmp_path / 'splits').mkdir()
    shutil.copy(covid / 'images' / f'{name}.png', tmp_path / 'images' / f'{name}.png')
    mask = Image.fromarray((np.asarray(Image.open(covid / 'masks' / f'{name}.png')) > 127)
                           .astype(np.uint8))
    mask.putpalette([0, 0, 0, 255, 255, 255])
    mask.save(tmp_path / 'masks' / f'{name}.png')
    (tmp_path / 'splits' / 'val.txt').write_text(name + '\n')
    dataset = build(dict(type='medvlp.SIIMPneumothoraxDataset', data_root=str(tmp_path),
                         ann_file='splits/val.txt', pipeline=PIPELINE))
    assert dataset.metainfo['classes'] == ('background', 'pneumothorax')
    gt = dataset[0]['data_samples'].gt_sem_seg.data
    assert gt.sum() == (np.asarray(mask) == 1).sum()


def test_lung_split_argument_is_checked(covid):
    with pytest.raises(ValueError, match='split must be one of'):
        LungMaskDataset(data_root=str(covid), split='test')
