# Copyright (c) medvlp contributors. All rights reserved.
"""Bad input end to end: each case is a clear error or a counted, logged skip."""
import json
import time

import numpy as np
import pytest

from medvlp.datasets import ImageReportDataset
from medvlp.datasets.transforms import CorruptImageError

PIPELINE = [
    dict(type='LoadCXRImage', on_error='skip'),
    dict(type='Resize', scale=(32, 32)),
    dict(type='TokenizeReport', max_length=48),
    dict(type='PackImageReportInputs'),
]


@pytest.fixture()
def folder(tmp_path, covid_images):
    """good1.png, good2.png (real) and half.png (the first half of a real PNG)."""
    images = tmp_path / 'images'
    images.mkdir()
    for i, src in enumerate(covid_images[:2], 1):
        (images / f'good{i}.png').write_bytes(src.read_bytes())
    data = covid_images[2].read_bytes()
    (images / 'half.png').write_bytes(data[:len(data) // 2])
    return tmp_path


def write_jsonl(path, rows):
    # json.dumps writes float('nan') as NaN, which json.loads reads back: a NaN report
    path.write_text('\n'.join(json.dumps(r, ensure_ascii=False) for r in rows) + '\n',
                    encoding='utf-8')
    return path


def test_corrupt_image_is_refetched_and_counted(folder, text_module, mm_log):
    ann = write_jsonl(folder / 'ann.jsonl', [
        dict(img_path='half.png', report='FINDINGS: No pleural effusion.'),
        dict(img_path='good1.png', report='IMPRESSION: Mild cardiomegaly.'),
    ])
    ds = ImageReportDataset(str(ann), data_prefix=str(folder / 'images'), pipeline=PIPELINE)
    assert len(ds) == 2  # the truncated file exists; only decoding can tell
    sample = ds[0]  # half.png fails to decode -> another (random) sample is returned
    assert sample['data_samples'].img_path.endswith('good1.png')
    assert sample['inputs'].shape == (3, 32, 32)
    text = mm_log.text()
    assert 'half.png' in text and '1 skipped so far' in text

    test_ds = ImageReportDataset(str(ann), data_prefix=str(folder / 'images'),
                                 pipeline=[dict(type='LoadCXRImage')], test_mode=True)
    with pytest.raises(CorruptImageError, match='half.png'):
        test_ds[0]


def test_missing_image_empty_and_nan_reports(folder, text_module, mm_log):
    ann = write_jsonl(folder / 'ann.jsonl', [
        dict(img_path='good1.png', report='FINDINGS: Lungs are clear.'),
        dict(img_path='gone.png', report='FINDINGS: Lungs are clear.'),
        dict(img_path='good2.png', report=''),
        dict(img_path='good2.png', report=float('nan')),
        dict(img_path='good2.png', report=None),
        dict(img_path='good2.png', report='   \n  '),
    ])
    ds = ImageReportDataset(str(ann), data_prefix=str(folder / 'images'))
    assert len(ds) == 1
    assert ds.load_summary['missing image'] == 1 and ds.load_summary['empty report'] == 4
    assert 'skipped: 1 missing image, 4 empty report' in mm_log.text()
    with pytest.raises(ValueError, match='empty report'):
        ImageReportDataset(str(ann), data_prefix=str(folder / 'images'),
                           on_empty_report='error')
    kept = ImageReportDataset(str(ann), data_prefix=str(folder / 'images'),
                              on_empty_report='keep', pipeline=PIPELINE)
    assert len(kept) == 5
    image_only = kept[4]['data_samples']
    assert int(image_only.attention_mask.sum()) == 2  # [CLS] [SEP]
    assert int(image_only.keyword_mask.sum()) == 0


def test_non_ascii_report(folder, text_module):
    report = ('FINDINGS: Pneumothorax apical gauche — résolution partielle, ≥2 cm. '
              'Épanchement pleural bilatéral. 肺 opacities. Naïve café-au-lait ‘quotes’.\n'
              'IMPRESSION: Right pleural effusion, unchanged.')
    ann = write_jsonl(folder / 'ann.jsonl', [dict(img_path='good1.png', report=report)])
    ds = ImageReportDataset(str(ann), data_prefix=str(folder / 'images'), pipeline=PIPELINE)
    info = ds.get_data_info(0)
    assert info['words'] and len(info['words']) == len(info['sentence_ids'])
    sample = ds[0]['data_samples']
    n = int(sample.attention_mask.sum())
    assert n > 10
    assert (sample.input_ids[:n] >= 0).all()
    assert 'effusion' in ' '.join(info['words']).lower()


def test_very_long_report(folder, text_module):
    sentence = 'There is a small left pleural effusion with adjacent atelectasis. '
    report = 'FINDINGS: ' + sentence * (20000 // len(sentence) + 1)
    report = report[:20000]
    assert len(report) == 20000
    ann = write_jsonl(folder / 'ann.jsonl', [dict(img_path='good1.png', report=report)])
    start = time.perf_counter()
    ds = ImageReportDataset(str(ann), data_prefix=str(folder / 'images'), pipeline=PIPELINE)
    sample = ds[0]['data_samples']
    assert time.perf_counter() - start < 20
    assert int(sample.attention_mask.sum()) == 48  # filled to max_length, then cut
    assert sample.input_ids.shape == (48, )
    assert (sample.word_ids[1:47] >= 0).all() and sample.word_ids[47] == -1
    assert int(sample.keyword_mask.sum()) > 0


def test_report_without_mesh_terms(folder, text_module):
    report = 'FINDINGS: The study was reviewed.\nIMPRESSION: As above.'
    ann = write_jsonl(folder / 'ann.jsonl', [dict(img_path='good1.png', report=report)])
    ds = ImageReportDataset(str(ann), data_prefix=str(folder / 'images'), pipeline=PIPELINE)
    assert ds.get_data_info(0)['mesh'] == []
    sample = ds[0]['data_samples']
    assert int(sample.keyword_mask.sum()) == 0 and int(sample.word_keyword.sum()) == 0
    assert int(sample.attention_mask.sum()) > 2
    assert np.asarray(sample.word_sentence_ids)[0] == 0
