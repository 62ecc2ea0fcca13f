# Copyright (c) medvlp contributors. All rights reserved.
"""prepare_siim.py on the real SIIM DICOM and real ``train-rle.csv`` rows.

Only one real SIIM DICOM is available (its RLE is ``-1``); the positive images of the test
folder are copies of it saved under the ids of real positive csv rows, so their masks come
from real RLE strings.
"""
import csv
import gzip
import importlib.util
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from medvlp.datasets.segmentation_rle import (decode_image_rles, read_siim_rle_csv,
                                              siim_positive_ids)

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_ID = '1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819'


def load_converter():
    name = 'prepare_siim'
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, REPO_ROOT / 'tools' / 'dataset_converters' / f'{name}.py')
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


@pytest.fixture(scope='module')
def siim_folder(shared_data, tmp_path_factory):
    """A SIIM-layout folder: nested DICOMs and a csv of real rows plus two bad ones."""
    root = tmp_path_factory.mktemp('siim')
    rows = read_siim_rle_csv(str(shared_data / 'labels/siim-pneumothorax-train-rle.csv.gz'))
    single = [i for i, r in rows.items() if len(r) == 1 and r[0] != '-1'][:5]
    multi = [i for i, r in rows.items() if len(r) == 3][:1]
    negative = [i for i, r in rows.items() if r == ['-1'] and i != SAMPLE_ID][:6]
    missing = negative.pop()
    sample = shared_data / 'samples/siim' / f'{SAMPLE_ID}.dcm'
    present = [SAMPLE_ID] + single + multi + negative
    for n, image_id in enumerate(present):
        folder = root / 'dicom-images-train' / f'study{n}' / 'series'
        folder.mkdir(parents=True)
        shutil.copy(sample, folder / f'{image_id}.dcm')
    bad_rle = '9.9.9.odd-rle'
    shutil.copy(sample, root / 'dicom-images-train' / f'{bad_rle}.dcm')
    with open(root / 'train-rle.csv', 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['ImageId', ' EncodedPixels'])
        for image_id in present + [missing]:
            for rle in rows[image_id]:
                writer.writerow([image_id, rle])
        writer.writerow([bad_rle, '100 20 30'])
    return dict(root=root, rows=rows, positive=single + multi, negative=[SAMPLE_ID] + negative,
                missing=missing, bad_rle=bad_rle, sample=sample)


@pytest.fixture(scope='module')
def converted(siim_folder):
    out = siim_folder['root'] / 'out'
    summary = load_converter().main([
        str(siim_folder['root'] / 'dicom-images-train'),
        str(siim_folder['root'] / 'train-rle.csv'), str(out), '--positives-only',
        '--val-ratio', '0.2', '--test-ratio', '0.2'
    ])
    return out, summary


def read_list(path):
    return path.read_text().split()


def test_images_and_masks(converted, siim_folder):
    out, summary = converted
    kept = siim_folder['positive'] + siim_folder['negative']
    assert summary['kept'] == len(kept) and summary['kept_positive'] == 6
    pixels = pydicom.dcmread(siim_folder['sample']).pixel_array
    for image_id in kept:
        image = np.asarray(Image.open(out / 'images' / f'{image_id}.png'))
        mask_png = Image.open(out / 'masks' / f'{image_id}.png')
        assert mask_png.mode == 'P'
        mask = np.asarray(mask_png)
        assert np.array_equal(image, pixels)
        expected = decode_image_rles(siim_folder['rows'][image_id], image_id=image_id)
        assert np.array_equal(mask, expected), image_id
    # The real sample DICOM has RLE -1: an empty mask.
    assert np.asarray(Image.open(out / 'masks' / f'{SAMPLE_ID}.png')).max() == 0
    # The image with three rows has the union of three regions.
    multi = siim_folder['positive'][-1]
    assert len(siim_folder['rows'][multi]) == 3
    assert np.asarray(Image.open(out / 'masks' / f'{multi}.png')).sum() == \
        decode_image_rles(siim_folder['rows'][multi]).sum()


def test_skips_are_counted_and_named(converted, siim_folder):
    out, summary = converted
    assert summary['skipped'] == {'malformed RLE': 1, 'missing DICOM': 1}
    assert summary['skipped_images']['missing DICOM'] == [siim_folder['missing']]
    (bad,) = summary['skipped_images']['malformed RLE']
    assert bad.startswith(siim_folder['bad_rle']) and 'odd number' in bad
    assert json.loads((out / 'summary.json').read_text())['skipped'] == summary['skipped']
    assert not (out / 'images' / f'{siim_folder["missing"]}.png').exists()


def test_split_lists(converted, siim_folder):
    out, summary = converted
    lists = {p.stem: read_list(p) for p in (out / 'splits').glob('*.txt')}
    kept = set(siim_folder['positive'] + siim_folder['negative'])
    train, val, test = (set(lists[n]) for n in ('train_100pct', 'val', 'test'))
    assert not (train & val or train & test or val & test)
    assert train | val | test == kept
    assert set(lists['train_1pct']) <= set(lists['train_10pct']) <= train
    positives = set(siim_folder['positive'])
    for name in ('train_1pct', 'train_100pct', 'val', 'test'):
        assert set(lists[f'{name}_pos']) == set(lists[name]) & positives
        assert summary['lists'][name]['images'] == len(lists[name])


def test_split_is_deterministic_and_stable_on_the_real_ids(siim_folder):
    tool = load_converter()
    rows = siim_folder['rows']
    ids = sorted(rows)
    splits = {i: tool.assign_split(i, 0.15, 0.15, seed=0) for i in ids}
    shares = {s: sum(v == s for v in splits.values()) / len(ids) for s in tool.SPLITS}
    assert abs(shares['val'] - 0.15) < 0.02 and abs(shares['test'] - 0.15) < 0.02
    # The split of an image does not depend on which other images are there.
    assert all(tool.assign_split(i, 0.15, 0.15, seed=0) == splits[i] for i in ids[::7])
    assert sum(tool.assign_split(i, 0.15, 0.15, seed=1) != splits[i] for i in ids) > 1000
    positives = set(siim_positive_ids(rows))
    positive = {i: i in positives for i in ids}
    train = [i for i in ids if splits[i] == 'train']
    one, ten = (tool.train_fraction(train, positive, p, seed=0) for p in (1, 10))
    assert set(one) < set(ten) < set(train)
    assert len(ten) == pytest.approx(len(train) / 10, abs=2)
    rate = sum(positive[i] for i in train) / len(train)
    assert sum(positive[i] for i in ten) / len(ten) == pytest.approx(rate, abs=0.01)


def test_missing_folder_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        load_converter().main([str(tmp_path / 'nope'), str(tmp_path / 'x.csv'),
                               str(tmp_path / 'out')])
    assert 'is not a folder' in capsys.readouterr().err


def test_gzipped_csv_is_read(tmp_path, siim_folder):
    gz = tmp_path / 'train-rle.csv.gz'
    with gzip.open(gz, 'wt') as f:
        f.write((siim_folder['root'] / 'train-rle.csv').read_text())
    assert read_siim_rle_csv(str(gz)) == read_siim_rle_csv(
        str(siim_folder['root'] / 'train-rle.csv'))


def test_resize_keeps_masks_binary(siim_folder, tmp_path):
    out = tmp_path / 'out256'
    summary = load_converter().main([
        str(siim_folder['root'] / 'dicom-images-train'),
        str(siim_folder['root'] / 'train-rle.csv'), str(out), '--size', '256'
    ])
    assert summary['size'] == 256 and not any('_pos' in n for n in summary['lists'])
    image_id = siim_folder['positive'][0]
    image = Image.open(out / 'images' / f'{image_id}.png')
    mask = np.asarray(Image.open(out / 'masks' / f'{image_id}.png'))
    assert image.size == (256, 256) and mask.shape == (256, 256)
    assert set(np.unique(mask).tolist()) == {0, 1}
    full = decode_image_rles(siim_folder['rows'][image_id])
    assert abs(mask.sum() * 16 - full.sum()) < 0.1 * full.sum()
