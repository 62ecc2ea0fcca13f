# Copyright (c) medvlp contributors. All rights reserved.
"""Datasets explain empty results, treat NaN strings as empty, count duplicates and refuse
images that are too large or too small, by file name."""
import io
import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from medvlp.datasets import ImageReportDataset
from medvlp.datasets.transforms import CorruptImageError
from medvlp.registry import TRANSFORMS


def write_jsonl(path, rows):
    path.write_text('\n'.join(json.dumps(r) for r in rows) + '\n', encoding='utf-8')
    return str(path)


@pytest.fixture()
def folder(tmp_path, covid_images):
    images = tmp_path / 'images'
    images.mkdir()
    for i, src in enumerate(covid_images[:2], 1):
        (images / f'good{i}.png').write_bytes(src.read_bytes())
    return tmp_path


def test_wrong_data_prefix_explains_what_removed_the_records(folder, text_module):
    ann = write_jsonl(folder / 'ann.jsonl', [
        dict(img_path='good1.png', report='FINDINGS: Clear lungs.'),
        dict(img_path='good2.png', report='FINDINGS: Small effusion.'),
    ])
    with pytest.raises(ValueError) as info:
        ImageReportDataset(ann, data_prefix=str(folder / 'imgs'))
    message = str(info.value)
    assert 'none of the 2 records' in message and '2 missing image' in message
    assert f'data_prefix "{folder / "imgs"}"' in message and 'imgs/good1.png' in message
    assert 'need at least one array' not in message

    with pytest.raises(ValueError, match=r"2 other split \(split=\['test'\]\)"):
        ImageReportDataset(write_jsonl(folder / 'split.jsonl', [
            dict(img_path='good1.png', report='FINDINGS: Clear.', split='train'),
            dict(img_path='good2.png', report='FINDINGS: Clear.', split='train')]),
            data_prefix=str(folder / 'images'), split='test')


def test_unrecognised_report_column_lists_the_columns_found(folder, text_module):
    ann = write_jsonl(folder / 'ann.jsonl', [
        dict(img_path='good1.png', radiology_note='FINDINGS: Clear lungs.'),
        dict(img_path='good2.png', radiology_note='FINDINGS: Small effusion.'),
    ])
    with pytest.raises(ValueError) as info:
        ImageReportDataset(ann, data_prefix=str(folder / 'images'))
    message = str(info.value)
    assert 'no record has report text' in message
    assert "['img_path', 'radiology_note']" in message and "columns=dict(report=" in message
    # naming the column fixes it
    ds = ImageReportDataset(ann, data_prefix=str(folder / 'images'),
                            columns=dict(report='radiology_note'))
    assert len(ds) == 2 and ds.get_data_info(0)['words']


@pytest.mark.parametrize('text', ['NaN', 'nan', 'None', ' null '])
def test_missing_value_strings_are_empty_reports(folder, text_module, text):
    ann = write_jsonl(folder / 'ann.jsonl', [
        dict(img_path='good1.png', report='FINDINGS: Clear lungs.'),
        dict(img_path='good2.png', report=text),
    ])
    ds = ImageReportDataset(ann, data_prefix=str(folder / 'images'))
    assert len(ds) == 1 and ds.load_summary['empty report'] == 1


def test_duplicates_are_counted_and_warned(folder, text_module, mm_log):
    rows = [dict(img_path='good1.png', report='FINDINGS: Clear lungs.')] * 3 + \
        [dict(img_path='good2.png', report='FINDINGS: Small effusion.')]
    ann = write_jsonl(folder / 'ann.jsonl', rows)
    ds = ImageReportDataset(ann, data_prefix=str(folder / 'images'))
    assert len(ds) == 4 and ds.load_summary['duplicate'] == 2
    assert '2 records of' in mm_log.text() and 'repeat an image path' in mm_log.text()
    skipped = ImageReportDataset(ann, data_prefix=str(folder / 'images'), on_duplicate='skip')
    assert len(skipped) == 2 and 'skipped: 0 missing image, 0 empty report, 2 duplicate' \
        in mm_log.text()
    with pytest.raises(ValueError, match='good1.png" appears in more than one record'):
        ImageReportDataset(ann, data_prefix=str(folder / 'images'), on_duplicate='error')


def _png_bytes(width, height):
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width), 128, np.uint8)).save(buffer, format='PNG')
    return buffer.getvalue()


def _bomb_png(width, height):
    """A tiny PNG whose header claims ``width x height`` pixels (a decompression bomb)."""
    data = bytearray(_png_bytes(1, 1))
    ihdr = struct.pack('>II', width, height) + bytes(data[24:29])  # depth, colour, ...
    data[16:29] = ihdr
    data[29:33] = struct.pack('>I', zlib.crc32(b'IHDR' + ihdr))
    return bytes(data)


def test_pixel_limit_names_the_file_and_honours_on_error(tmp_path, mm_log):
    bomb = tmp_path / 'bomb.png'
    bomb.write_bytes(_bomb_png(10000, 10000))
    with pytest.raises(CorruptImageError, match=r'"[^"]*bomb.png" has 10000 x 10000'):
        TRANSFORMS.build(dict(type='LoadCXRImage'))(dict(img_path=str(bomb)))
    # beyond Pillow's own limit (2 x 89 M pixels), even with medvlp's limit disabled
    bomb.write_bytes(_bomb_png(14000, 14000))
    with pytest.raises(CorruptImageError, match='bomb.png" is too large to decode'):
        TRANSFORMS.build(dict(type='LoadCXRImage', max_pixels=None))(
            dict(img_path=str(bomb)))
    big = tmp_path / 'big.png'
    big.write_bytes(_png_bytes(300, 200))
    skip = TRANSFORMS.build(dict(type='LoadCXRImage', max_pixels=50_000, on_error='skip'))
    assert skip(dict(img_path=str(big))) is None and skip.num_skipped == 1
    assert 'big.png" has 300 x 200 = 60000 pixels' in mm_log.text()


def test_images_smaller_than_a_patch_are_refused_or_skipped_and_counted(tmp_path, mm_log):
    tiny = tmp_path / 'tiny.png'
    tiny.write_bytes(_png_bytes(1, 1))
    with pytest.raises(CorruptImageError, match=r'tiny.png" is 1 x 1 pixels, smaller'):
        TRANSFORMS.build(dict(type='LoadCXRImage'))(dict(img_path=str(tiny)))
    skip = TRANSFORMS.build(dict(type='LoadCXRImage', on_error='skip'))
    assert skip(dict(img_path=str(tiny))) is None and skip.num_skipped == 1
    assert '1 skipped so far' in mm_log.text()
    ok = TRANSFORMS.build(dict(type='LoadCXRImage', min_size=0))(dict(img_path=str(tiny)))
    assert ok['img'].shape == (1, 1, 3)
