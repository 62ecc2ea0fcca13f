# Copyright (c) medvlp contributors. All rights reserved.
"""SplitListDataset and its subclasses: parsing, bad input, what the classifier receives."""
import gzip
import numpy as np
import pytest
import torch

from medvlp.datasets.classification import (CheXpertDataset, COVIDCXRDataset,
                                            NIHChestXray14Dataset, SplitListDataset,
                                            SplitListError, official_split_list)
from medvlp.registry import DATASETS


@pytest.fixture
def image_dir(tmp_path, covid_images):
    """Three real X-rays under names with folders, as in CheXpert lists."""
    root = tmp_path / 'root'
    for i, src in enumerate(covid_images[:3]):
        dst = root / f'patient{i}' / 'study1' / 'view1_frontal.png'
        dst.parent.mkdir(parents=True)
        dst.write_bytes(src.read_bytes())
    return root


def write_list(path, text, compress=False):
    if compress:
        with gzip.open(path, 'wt') as f:
            f.write(text)
    else:
        path.write_text(text)
    return str(path)


LIST = ('patient0/study1/view1_frontal.png 0 1 0 0 1 \n'
        '\n'
        'patient1/study1/view1_frontal.png 0 0 0 0 0\n'
        'patient2/study1/view1_frontal.png  1 1 0 1 0   \n')


def test_multi_label_lines_keep_every_label(tmp_path, image_dir):
    ann = write_list(tmp_path / 'list.txt.gz', LIST, compress=True)
    ds = CheXpertDataset(ann_file=ann, data_root=str(image_dir), lazy_init=False)
    assert len(ds) == 3
    info = ds.get_data_info(0)
    # mmpretrain's CustomDataset would read image "... 0 1 0 0" with label 1
    assert info['img_path'].endswith('patient0/study1/view1_frontal.png')
    np.testing.assert_array_equal(info['gt_score'], [0, 1, 0, 0, 1])
    assert info['gt_label'].tolist() == [1, 4]
    assert ds.get_data_info(1)['gt_label'].tolist() == []
    assert ds.metainfo['classes'] == ('Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema',
                                      'Pleural Effusion')
    assert ds.class_counts() == {'Atelectasis': 1, 'Cardiomegaly': 2, 'Consolidation': 0,
                                 'Edema': 1, 'Pleural Effusion': 1}


def test_class_subset_and_order(tmp_path, image_dir):
    ann = write_list(tmp_path / 'list.txt', LIST)
    ds = CheXpertDataset(ann_file=ann, data_root=str(image_dir),
                         classes=['Pleural Effusion', 'Atelectasis'])
    assert ds.metainfo['classes'] == ('Pleural Effusion', 'Atelectasis')
    np.testing.assert_array_equal(ds.get_data_info(2)['gt_score'], [0, 1])


def test_misspelt_class_lists_the_valid_ones(tmp_path, image_dir):
    ann = write_list(tmp_path / 'list.txt', LIST)
    with pytest.raises(SplitListError, match=r"'Pleural Efusion'.*valid classes are "
                       r"\['Atelectasis', 'Cardiomegaly'"):
        CheXpertDataset(ann_file=ann, data_root=str(image_dir),
                        classes=['Atelectasis', 'Pleural Efusion'])


@pytest.mark.parametrize('line, message', [
    ('patient1/study1/view1_frontal.png 0 1 0 1', r'line 3: expected an image path and 5 '
     r'labels, found 4'),
    ('patient1/study1/view1_frontal.png 0 1 0 1 1 0', 'line 3: .*found 6'),
    ('patient1/study1/view1_frontal.png 0 1 0 1 -1', r'line 3: labels must be 0 or 1'),
])
def test_malformed_line_names_file_and_line(tmp_path, image_dir, line, message):
    text = LIST.splitlines()
    text[2] = line
    ann = write_list(tmp_path / 'bad.txt', '\n'.join(text) + '\n')
    with pytest.raises(SplitListError, match='bad.txt, ' + message):
        CheXpertDataset(ann_file=ann, data_root=str(image_dir))


def test_missing_images_are_skipped_and_counted(tmp_path, image_dir, mm_log):
    ann = write_list(tmp_path / 'list.txt', LIST + 'patient9/study1/view1_frontal.png 1 0 0 0 0\n'
                     'patient8/a.png 0 0 0 0 1\n')
    ds = CheXpertDataset(ann_file=ann, data_root=str(image_dir))
    assert len(ds) == 3
    assert ds.missing_images == ['patient9/study1/view1_frontal.png', 'patient8/a.png']
    assert '2 of 5 images not found' in mm_log.text() and 'patient8/a.png' in mm_log.text()
    with pytest.raises(SplitListError, match='2 of 5 images not found'):
        CheXpertDataset(ann_file=ann, data_root=str(image_dir), on_missing='error')
    assert len(CheXpertDataset(ann_file=ann, data_root=str(image_dir),
                               on_missing='unchecked')) == 5
    with pytest.raises(SplitListError, match='no images left out of 5 lines'):
        CheXpertDataset(ann_file=ann, data_root=str(tmp_path / 'elsewhere'))


def test_generic_dataset_needs_its_columns(tmp_path, image_dir):
    ann = write_list(tmp_path / 'list.txt', 'patient0/study1/view1_frontal.png 1 0\n')
    with pytest.raises(SplitListError, match='needs list_classes'):
        SplitListDataset(ann_file=ann, data_root=str(image_dir))
    ds = DATASETS.build(dict(type='SplitListDataset', ann_file=ann, data_root=str(image_dir),
                             list_classes=['a', 'b']))
    assert ds.metainfo['classes'] == ('a', 'b')
    with pytest.raises(SplitListError, match='ships no official split lists'):
        COVIDCXRDataset(data_root=str(image_dir))


def test_official_lists_are_the_default(tmp_path):
    ds = NIHChestXray14Dataset(split='train', fraction=1, on_missing='unchecked',
                               data_root=str(tmp_path))
    assert len(ds) == 785
    assert ds.ann_file == official_split_list('NIH_ChestX-ray', 'train', 1)
    assert ds.get_data_info(0)['img_path'].startswith(str(tmp_path))
    with pytest.raises(ValueError, match=r'fraction=5.*train 1%, train 10%, train 100%'):
        official_split_list('CheXpert', 'train', 5)


def test_pipeline_feeds_a_multi_label_classifier(tmp_path, image_dir):
    """PackInputs output trains mmpretrain's ImageClassifier with a multi-label head."""
    from mmengine.dataset import pseudo_collate
    from mmpretrain.registry import MODELS
    ann = write_list(tmp_path / 'list.txt', LIST)
    pipeline = [
        dict(type='medvlp.LoadCXRImage'),
        dict(type='mmpretrain.Resize', scale=(32, 32)),
        dict(type='mmpretrain.PackInputs'),
    ]
    ds = CheXpertDataset(ann_file=ann, data_root=str(image_dir), pipeline=pipeline)
    batch = pseudo_collate([ds[i] for i in range(3)])
    sample = batch['data_samples'][0]
    assert sample.gt_score.tolist() == [0, 1, 0, 0, 1]
    assert sample.gt_label.tolist() == [1, 4]
    model = MODELS.build(dict(
        type='ImageClassifier',
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=[0.] * 3, std=[255.] * 3),
        backbone=dict(type='VisionTransformer', img_size=32, patch_size=16,
                      arch=dict(embed_dims=24, num_layers=1, num_heads=2,
                                feedforward_channels=48), out_type='avg_featmap',
                      final_norm=False),
        head=dict(type='MultiLabelLinearClsHead', num_classes=5, in_channels=24)))
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    assert torch.isfinite(losses['loss'])
    preds = model(**model.data_preprocessor(batch, False), mode='predict')
    assert preds[0].pred_score.shape == (5, )
