# Copyright (c) medvlp contributors. All rights reserved.
"""SIIM run-length encoding on the real ``train-rle.csv``."""
import gzip

import numpy as np
import pytest

from medvlp.datasets.segmentation_rle import (RLEError, decode_image_rles, read_siim_rle_csv,
                                              rle_decode, rle_encode, siim_positive_ids)

RLE_CSV = 'labels/siim-pneumothorax-train-rle.csv.gz'


@pytest.fixture(scope='module')
def siim_rows(shared_data):
    return read_siim_rle_csv(str(shared_data / RLE_CSV))


def test_real_csv_header_has_the_leading_space(shared_data):
    with gzip.open(shared_data / RLE_CSV, 'rt') as f:
        assert f.readline().rstrip('\n') == 'ImageId, EncodedPixels'


def test_real_csv_counts(siim_rows):
    # The counts documented for the file (shared/data/labels/README.md and the issue).
    assert sum(len(r) for r in siim_rows.values()) == 12954
    assert len(siim_rows) == 12047
    assert len(siim_rows) - len(siim_positive_ids(siim_rows)) == 9378
    assert sum(len(r) > 1 for r in siim_rows.values()) == 624


def test_every_real_row_round_trips(siim_rows):
    rows = [(i, r) for i, rles in siim_rows.items() for r in rles if r != '-1']
    assert len(rows) == 12954 - 9378
    for image_id, rle in rows:
        mask = rle_decode(rle, image_id=image_id)
        assert mask.shape == (1024, 1024) and mask.dtype == np.uint8
        assert rle_encode(mask) == rle, image_id


def test_multi_row_images_are_the_union_of_their_rows(siim_rows):
    multi = [(i, r) for i, r in siim_rows.items() if len(r) > 1]
    assert max(len(r) for _, r in multi) == 10
    # The first 100 multi-row images and the one with the most rows.
    for image_id, rles in multi[:100] + [max(multi, key=lambda item: len(item[1]))]:
        union = decode_image_rles(rles, image_id=image_id)
        parts = [rle_decode(r, image_id=image_id) for r in rles]
        assert np.array_equal(union, np.logical_or.reduce(parts).astype(np.uint8))
        assert union.sum() >= max(p.sum() for p in parts)
    # A row that adds pixels is not lost, and overlapping rows count once.
    a = '10 5'
    b = '12 6'  # pixels 12..17, overlapping 12..14 of a
    union = decode_image_rles([a, b], shape=(8, 8))
    assert union.sum() == 8 and rle_encode(union) == '10 8'


def test_known_shape_decodes_column_major():
    # A 10 x 5 block at rows 10..19, columns 100..104: five runs down five columns.
    rle = '102410 10' + ' 1014 10' * 4
    mask = rle_decode(rle)
    expected = np.zeros((1024, 1024), np.uint8)
    expected[10:20, 100:105] = 1
    assert np.array_equal(mask, expected)
    assert rle_encode(expected) == rle
    # One run of 1024 from pixel 0 is the whole first column, not the first row.
    column = rle_decode('0 1024')
    assert column[:, 0].all() and column.sum() == 1024
    # A 2 x 3 non-square image: the run goes down the columns.
    assert rle_decode('1 3', shape=(2, 3)).tolist() == [[0, 1, 0], [1, 1, 0]]


def test_empty_mask_is_minus_one():
    assert rle_decode('-1').sum() == 0
    assert rle_decode(' -1 ').sum() == 0
    assert rle_encode(np.zeros((16, 16))) == '-1'
    assert decode_image_rles(['-1']).sum() == 0


@pytest.mark.parametrize('rle,message', [
    ('5 10 3', 'odd number of integers'),
    ('1048570 10', 'past the 1024x1024 image'),
    ('0 1000000 48576 1', 'past the 1024x1024 image'),
    ('5 x', 'other than integers'),
    ('5 -2', 'negative'),
    ('', 'is empty'),
])
def test_malformed_rle_names_the_image(rle, message):
    with pytest.raises(RLEError, match=message) as info:
        rle_decode(rle, image_id='1.2.3.bad')
    assert '1.2.3.bad' in str(info.value)


def test_csv_without_the_columns_is_rejected(tmp_path):
    path = tmp_path / 'bad.csv'
    path.write_text('id,mask\n1,-1\n')
    with pytest.raises(RLEError, match='ImageId, EncodedPixels'):
        read_siim_rle_csv(str(path))
