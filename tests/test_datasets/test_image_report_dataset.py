# Copyright (c) medvlp contributors. All rights reserved.
"""ImageReportDataset: file formats, column mapping, filters, labels and option errors."""
import csv
import json

import pytest

from medvlp.datasets import (ImageReportDataset, dump_annotation_file,
                             read_annotation_file)
from medvlp.registry import DATASETS

CLASSES = ['Cardiomegaly', 'Edema', 'Pneumothorax']


def cached_record(img_path, split='train', view='PA', labels=None, **extra):
    """A record with text fields already cached, as the converters write them."""
    words = ['Mild', 'cardiomegaly', '.', 'No', 'pneumothorax', '.']
    record = dict(
        img_path=img_path, subject_id='p1', study_id='s1', split=split, view=view,
        labels=labels or {}, sections={'impression': ' '.join(words)},
        report='Mild cardiomegaly. No pneumothorax.',
        sentences=['Mild cardiomegaly.', 'No pneumothorax.'], words=words,
        sentence_ids=[0, 0, 0, 1, 1, 1],
        mesh=[dict(term='Cardiomegaly', mesh_id='D006332', start_word=1, end_word=2,
                   negated=False),
              dict(term='Pneumothorax', mesh_id='D011030', start_word=4, end_word=5,
                   negated=True)])
    record.update(extra)
    return record


@pytest.fixture()
def image_dir(tmp_path, covid_images):
    """Six real PNGs under tmp/images as a.png ... f.png."""
    folder = tmp_path / 'images'
    folder.mkdir()
    for name, src in zip('abcdef', covid_images):
        (folder / f'{name}.png').write_bytes(src.read_bytes())
    return folder


@pytest.fixture()
def cached_json(tmp_path, image_dir):
    records = [
        cached_record('a.png', 'train', 'PA', {'Cardiomegaly': 1, 'Edema': -1}),
        cached_record('b.png', 'train', 'AP', {'Pneumothorax': '1.0', 'Edema': ''}),
        cached_record('c.png', 'validate', 'LATERAL', {}),
        cached_record('d.png', 'test', 'AP Supine', {'Cardiomegaly': 0.0}),
        cached_record('missing.png', 'train', 'PA', {}),
    ]
    path = tmp_path / 'ann.json'
    dump_annotation_file(str(path), dict(classes=CLASSES, dataset_name='toy'), records)
    return path


def test_json_filters_labels_and_summary(cached_json, image_dir, mm_log):
    ds = ImageReportDataset(str(cached_json), data_prefix=dict(img_path=str(image_dir)),
                            split='train')
    assert ds.metainfo['classes'] == tuple(CLASSES) and ds.metainfo['dataset_name'] == 'toy'
    assert len(ds) == 2
    assert ds.load_summary == {'missing image': 1, 'other split': 2, 'loaded': 2}
    info = ds.get_data_info(0)
    assert info['img_path'] == str(image_dir / 'a.png')
    assert info['gt_label'] == [0] and info['uncertain_label'] == [1]
    assert ds.get_data_info(1)['gt_label'] == [2]
    assert ds.get_data_info(1)['labels'] == {'Pneumothorax': 1}  # '' = not mentioned
    assert ds.get_cat_ids(0) == [0]
    text = mm_log.text()
    assert f'loaded 2 records from {cached_json}' in text
    assert 'skipped: 1 missing image, 0 empty report' in text
    assert 'filtered out: 2 other split' in text


@pytest.mark.parametrize('uncertain,expected', [('positive', [0, 1]), ('negative', [0])])
def test_uncertain_options(cached_json, image_dir, uncertain, expected):
    ds = ImageReportDataset(str(cached_json), data_prefix=str(image_dir), split='train',
                            uncertain=uncertain)
    assert ds.get_data_info(0)['gt_label'] == expected
    assert 'uncertain_label' not in ds.get_data_info(0)


def test_views_frontal_and_explicit(cached_json, image_dir):
    ds = ImageReportDataset(str(cached_json), data_prefix=str(image_dir), views='frontal')
    assert sorted(d['view'] for d in (ds.get_data_info(i) for i in range(len(ds)))) == \
        ['AP', 'AP SUPINE', 'PA']
    assert ds.load_summary['other view'] == 1
    ds = ImageReportDataset(str(cached_json), data_prefix=str(image_dir), views=['lateral'])
    assert len(ds) == 1 and ds.get_data_info(0)['split'] == 'validate'
    ds = ImageReportDataset(str(cached_json), data_prefix=str(image_dir), split='val')
    assert len(ds) == 1


def test_classes_argument_overrides_file(cached_json, image_dir):
    ds = ImageReportDataset(str(cached_json), data_prefix=str(image_dir), split='train',
                            classes=['Edema'], uncertain='positive')
    assert ds.CLASSES == ('Edema', ) and ds.get_data_info(0)['gt_label'] == [0]


def test_on_missing_error_and_ignore(cached_json, image_dir):
    with pytest.raises(FileNotFoundError, match="missing.png.*on_missing='skip'"):
        ImageReportDataset(str(cached_json), data_prefix=str(image_dir), on_missing='error')
    ds = ImageReportDataset(str(cached_json), data_prefix=str(image_dir), on_missing='ignore')
    assert len(ds) == 5


def test_plain_list_jsonl_and_gz(tmp_path, image_dir):
    records = [cached_record('a.png'), cached_record('b.png', split='test')]
    plain = tmp_path / 'plain.json'
    plain.write_text(json.dumps(records))
    lines = tmp_path / 'ann.jsonl'
    lines.write_text('\n'.join(json.dumps(r) for r in records) + '\n\n')
    for path in (plain, lines):
        ds = ImageReportDataset(str(path), data_prefix=str(image_dir))
        assert len(ds) == 2 and ds.CLASSES is None and 'gt_label' not in ds.get_data_info(0)
    import gzip
    packed = tmp_path / 'ann.jsonl.gz'
    packed.write_bytes(gzip.compress(lines.read_bytes()))
    assert len(ImageReportDataset(str(packed), data_prefix=str(image_dir), split='test')) == 1


def test_build_from_registry_with_pipeline(cached_json, image_dir):
    ds = DATASETS.build(
        dict(type='ImageReportDataset', ann_file=str(cached_json),
             data_prefix=dict(img_path=str(image_dir)),
             pipeline=[dict(type='LoadCXRImage'), dict(type='Resize', scale=(32, 32))]))
    sample = ds[0]
    assert sample['img'].shape == (32, 32, 3)
    assert 'Dataset ImageReportDataset' in repr(ds)


def test_dump_is_deterministic(tmp_path):
    records = [cached_record('a.png', labels={'b': 1, 'a': 0})]
    one, two = tmp_path / 'one.json', tmp_path / 'two.json'
    dump_annotation_file(str(one), dict(z=1, a=2), records)
    dump_annotation_file(str(two), dict(a=2, z=1), [dict(reversed(list(records[0].items())))])
    assert one.read_bytes() == two.read_bytes()
    metainfo, rows = read_annotation_file(str(one))
    assert metainfo == dict(a=2, z=1) and rows == records


# ---------------------------------------------------------------- wrong options
@pytest.mark.parametrize('kwargs,match', [
    (dict(split='training'), r"split must be None or one of \('train', 'validate', 'test'\)"),
    (dict(uncertain='maybe'), r"uncertain must be one of \('ignore', 'positive', 'negative'\)"),
    (dict(on_missing='warn'), r"on_missing must be one of \('skip', 'error', 'ignore'\)"),
    (dict(on_empty_report='drop'), r"on_empty_report must be one of \('skip', 'keep'"),
    (dict(text_source='xml'), r"text_source must be one of \('report', 'note'\)"),
    (dict(columns=dict(image='Path')), r"unknown record fields \['image'\].*img_path"),
    (dict(views=[]), r"views must be None, 'frontal' or a list"),
])
def test_wrong_option_names_the_options(cached_json, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ImageReportDataset(str(cached_json), **kwargs)


def test_column_mapping_to_a_missing_column(tmp_path):
    path = tmp_path / 'a.csv'
    path.write_text('file,text\nx.png,No effusion.\n')
    with pytest.raises(ValueError, match=r"maps \{'img_path': 'Path'\}.*\['file', 'text'\]"):
        ImageReportDataset(str(path), columns=dict(img_path='Path'))


def test_csv_without_image_column(tmp_path):
    path = tmp_path / 'a.csv'
    path.write_text('picture,report\nx.png,No effusion.\n')
    with pytest.raises(ValueError, match=r"no image path.*columns=dict\(img_path="):
        ImageReportDataset(str(path))


def test_split_filter_on_data_without_splits(tmp_path, image_dir):
    path = tmp_path / 'a.json'
    path.write_text(json.dumps([cached_record('a.png', split=None)]))
    with pytest.raises(ValueError, match='no record .* has a split'):
        ImageReportDataset(str(path), data_prefix=str(image_dir), split='train')


def test_bad_suffix_bad_label_and_missing_file(tmp_path, image_dir):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        ImageReportDataset(str(tmp_path / 'none.json'))
    (tmp_path / 'a.txt').write_text('x')
    with pytest.raises(ValueError, match=r'\.json, \.jsonl or \.csv'):
        ImageReportDataset(str(tmp_path / 'a.txt'))
    path = tmp_path / 'a.json'
    path.write_text(json.dumps([cached_record('a.png', labels={'Edema': 'yes'})]))
    with pytest.raises(ValueError, match="'yes' is not 1, 0, -1 or empty"):
        ImageReportDataset(str(path), data_prefix=str(image_dir))


# ---------------------------------------------------------------- raw text (needs medvlp.text)
def _write_covid_csv(path, shared_data, rows):
    with open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f)
        writer.writerow(['filename', 'clinical_notes', 'view', 'patientid', 'finding', 'COVID'])
        for row in rows:
            writer.writerow([row['filename'], row['clinical_notes'], row['view'],
                             row['patientid'], row['finding'],
                             '1.0' if 'COVID-19' in row['finding'] else '0.0'])


def test_csv_with_raw_notes_is_processed_once(tmp_path, shared_data, text_module, mm_log):
    with open(shared_data / 'covid-cxr' / 'metadata.csv', encoding='utf-8') as f:
        meta = list(csv.DictReader(f))
    empty = [r for r in meta if not r['clinical_notes'].strip()][:2]
    noted = [r for r in meta if r['clinical_notes'].strip()][:6]
    ghost = dict(noted[0], filename='not-there.png')
    path = tmp_path / 'covid.csv'
    _write_covid_csv(path, shared_data, noted + empty + [ghost])

    ds = ImageReportDataset(
        str(path), data_prefix=str(shared_data / 'covid-cxr' / 'images'), classes=['COVID'],
        columns=dict(img_path='filename', report='clinical_notes', subject_id='patientid'),
        text_source='note')
    assert len(ds) == 6
    assert ds.load_summary == {'missing image': 1, 'empty report': 2, 'processed': 6,
                               'loaded': 6}
    info = ds.get_data_info(0)
    assert info['words'] and len(info['words']) == len(info['sentence_ids'])
    assert info['subject_id'] == noted[0]['patientid'] and info['finding'] == noted[0]['finding']
    assert info['gt_label'] == ([0] if 'COVID-19' in noted[0]['finding'] else [])
    assert info['view'] == noted[0]['view'].upper()
    text = mm_log.text()
    # the missing image is skipped before text processing
    assert 'processing 8 raw reports' in text
    assert 'skipped: 1 missing image, 2 empty report' in text

    kept = ImageReportDataset(
        str(path), data_prefix=str(shared_data / 'covid-cxr' / 'images'),
        columns=dict(img_path='filename', report='clinical_notes'), on_empty_report='keep')
    assert len(kept) == 8 and kept.load_summary['image-only'] == 2
    assert kept.get_data_info(7)['words'] == []


def test_findings_and_impression_columns(tmp_path, image_dir, text_module):
    path = tmp_path / 'fi.csv'
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['image', 'findings', 'impression', 'split', 'Edema'])
        writer.writerow(['a.png', 'Heart size is normal. No effusion.', 'No acute disease.',
                         'train', '-1.0'])
        writer.writerow(['b.png', '', 'Mild pulmonary edema.', 'val', '1'])
        writer.writerow(['c.png', '', '', 'test', ''])
    ds = ImageReportDataset(str(path), data_prefix=str(image_dir), classes=['Edema'])
    assert len(ds) == 2 and ds.load_summary['empty report'] == 1
    first, second = ds.get_data_info(0), ds.get_data_info(1)
    assert 'findings' in first['sections'] and 'impression' in first['sections']
    assert first['uncertain_label'] == [0] and second['gt_label'] == [0]
    assert second['split'] == 'validate'
    with pytest.raises(ValueError, match="empty report.*on_empty_report='skip'"):
        ImageReportDataset(str(path), data_prefix=str(image_dir), on_empty_report='error')


def test_mapped_column_wins_and_extra_columns_are_kept(tmp_path, image_dir):
    path = tmp_path / 'a.json'
    record = cached_record('a.png', view='PA')
    record.update(image='b.png', ViewPosition='LL', age='54')
    path.write_text(json.dumps([record]))
    ds = ImageReportDataset(str(path), data_prefix=str(image_dir),
                            columns=dict(img_path='image', view='ViewPosition'))
    info = ds.get_data_info(0)
    assert info['img_path'] == str(image_dir / 'b.png') and info['view'] == 'LL'
    assert info['age'] == '54'
