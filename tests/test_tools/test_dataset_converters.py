# Copyright (c) medvlp contributors. All rights reserved.
"""prepare_openi.py on the real OpenI reports, prepare_mimic_cxr.py on a MIMIC-layout fixture.

The MIMIC-CXR fixture is built from real data: OpenI report texts rewritten into MIMIC's
``.txt`` report format and real chest X-rays (the covid-cxr PNGs saved as JPEG), with the
three official ``.csv.gz`` tables. Expected OpenI numbers are computed here from the raw
XML with regular expressions, independently of the converter's parser.
"""
import csv
import importlib.util
import json
import re
import sys
import tarfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip('medvlp.text')

REPO_ROOT = Path(__file__).resolve().parents[2]
CONVERTERS = REPO_ROOT / 'tools' / 'dataset_converters'


def load_tool(name):
    """Import a converter script as a module (its ``main(argv)`` runs in-process)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, CONVERTERS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # worker processes find its functions by name
    spec.loader.exec_module(module)
    return module


# =============================================================================== OpenI
def raw_openi_counts(tgz: Path, gold_csv: Path) -> dict:
    """Counts straight from the XML text (regex), not via the converter's parser."""
    section_re = {
        name: re.compile(rf'<AbstractText Label="{name.upper()}">(.*?)</AbstractText>', re.S)
        for name in ('findings', 'impression')
    }
    with open(gold_csv, encoding='utf-8') as f:
        gold = {row['filename'] for row in csv.DictReader(f)}
    counts = Counter()
    kept_uids, images_of = set(), {}
    with tarfile.open(tgz) as archive:
        for member in archive.getmembers():
            if not member.name.endswith('.xml'):
                continue
            xml = archive.extractfile(member).read().decode('utf-8')
            uid = re.search(r'<uId id="([^"]+)"', xml).group(1)
            images = re.findall(r'<parentImage id="([^"]+)"', xml)
            has = {name: bool((m := rx.search(xml)) and m.group(1).strip())
                   for name, rx in section_re.items()}
            counts['reports'] += 1
            counts['images'] += len(images)
            counts['reports_with_images'] += bool(images)
            counts['findings'] += has['findings']
            counts['impression'] += has['impression']
            if images and (has['findings'] or has['impression']):
                kept_uids.add(uid)
                images_of[uid] = images
                counts['kept_images'] += len(images)
                counts['kept_with_findings'] += has['findings']
                counts['kept_with_impression'] += has['impression']
                counts['kept_with_labels'] += uid in gold
            elif images:
                counts['images_without_text'] += len(images)
    counts['kept_reports'] = len(kept_uids)
    return dict(counts, images_of=images_of)


@pytest.fixture(scope='module')
def openi(shared_data, tmp_path_factory):
    src = shared_data / 'openi'
    out = tmp_path_factory.mktemp('openi') / 'openi.json'
    metainfo = load_tool('prepare_openi').main([
        str(src / 'NLMCXR_reports.tgz'), str(out), '--labels', str(src / 'openi_gld_std14.csv'),
        '--view-csv', str(src / 'nlmcxr_tsne_pa.csv.gz'), '--workers', '2'])
    with open(out, encoding='utf-8') as f:
        content = json.load(f)
    return dict(out=out, metainfo=metainfo, content=content,
                raw=raw_openi_counts(src / 'NLMCXR_reports.tgz', src / 'openi_gld_std14.csv'))


def test_openi_raw_counts_match_the_data_readme(openi):
    raw = openi['raw']
    assert (raw['reports'], raw['images'], raw['reports_with_images']) == (3955, 7470, 3851)
    assert (raw['findings'], raw['impression']) == (3425, 3921)
    assert raw['kept_reports'] == 3826


def test_openi_counts_match_the_source(openi):
    raw, content = openi['raw'], openi['content']
    records, meta = content['data_list'], content['metainfo']
    counts = meta['counts']
    assert counts['reports'] == raw['reports']
    assert counts['linked_images'] == raw['images']
    assert counts['kept_reports'] == raw['kept_reports']
    assert len(records) == counts['kept_records'] == raw['kept_images']
    assert counts['skipped_reports']['no image'] == raw['reports'] - raw['reports_with_images']
    assert counts['skipped_reports']['no findings or impression'] == \
        raw['reports_with_images'] - raw['kept_reports']
    assert counts['skipped_images'] == {'no findings or impression': raw['images_without_text']}
    # one record per linked image of every kept report, in report order
    by_report = defaultdict(list)
    for record in records:
        by_report[record['study_id']].append(record['image_id'])
    assert by_report == raw['images_of']
    # sections found by ReportProcessor in the converter's text
    first = {}
    for record in records:
        first.setdefault(record['study_id'], record)
    assert sum('findings' in r['sections'] for r in first.values()) == raw['kept_with_findings']
    assert sum('impression' in r['sections'] for r in first.values()) == \
        raw['kept_with_impression']
    assert sum(bool(r['labels']) for r in first.values()) == raw['kept_with_labels']
    assert meta['images_verified'] is False and len(meta['classes']) == 15


def test_openi_records_and_splits(openi):
    records = openi['content']['data_list']
    splits = defaultdict(set)
    for record in records:
        splits[record['study_id']].add(record['split'])
        assert record['img_path'] == record['image_id'] + '.png'
        assert len(record['words']) == len(record['sentence_ids'])
        assert set(record['openi_mesh']) == {'major', 'automatic'}
    assert all(len(s) == 1 for s in splits.values())  # a report's images never cross splits
    per_split = Counter(next(iter(s)) for s in splits.values())
    assert abs(per_split['train'] / len(splits) - 0.7) < 0.02
    assert abs(per_split['test'] / len(splits) - 0.2) < 0.02
    cxr1 = [r for r in records if r['study_id'] == 'CXR1']
    assert [r['image_id'] for r in cxr1] == ['CXR1_1_IM-0001-3001', 'CXR1_1_IM-0001-4001']
    assert cxr1[0]['labels']['normal'] == 1 and cxr1[0]['openi_mesh']['major'] == ['normal']
    assert {r['view'] for r in records} <= {'PA', 'LATERAL', None}


def test_openi_jsonl_source_gives_the_same_records(openi, shared_data, tmp_path):
    """The tidy jsonl and the original archive are the same reports: same records."""
    src = shared_data / 'openi'
    out = tmp_path / 'from_jsonl.json'
    load_tool('prepare_openi').main([
        str(src / 'openi_reports.jsonl'), str(out), '--labels',
        str(src / 'openi_gld_std14.csv'), '--view-csv', str(src / 'nlmcxr_tsne_pa.csv.gz'),
        '--images', str(_openi_image_folder(openi, tmp_path))])
    content = json.loads(out.read_text(encoding='utf-8'))
    by_id = {r['image_id']: r for r in openi['content']['data_list']}
    assert [r['image_id'] for r in content['data_list']] == \
        ['CXR1_1_IM-0001-3001', 'CXR2_IM-0652-1001']
    for record in content['data_list']:
        expected = dict(by_id[record['image_id']])
        if record['image_id'].startswith('CXR2_'):
            expected['img_path'] = record['image_id'] + '.jpg'
        assert record == expected
    assert content['metainfo']['counts']['skipped_images']['missing image'] == 7470 - 40 - 2
    assert content['metainfo']['images_verified'] is True


def _openi_image_folder(openi, tmp_path):
    folder = tmp_path / 'NLMCXR_png'
    folder.mkdir()
    (folder / 'CXR1_1_IM-0001-3001.png').write_bytes(b'png')
    (folder / 'CXR2_IM-0652-1001.jpg').write_bytes(b'jpg')
    return folder


def test_openi_output_loads_with_openi_dataset(openi):
    from medvlp.datasets import OpenIDataset
    ds = OpenIDataset(str(openi['out']), on_missing='ignore', split='test')
    assert len(ds) == openi['content']['metainfo']['counts']['splits']['test']
    assert ds.CLASSES[-1] == 'normal' and 'gt_label' in ds.get_data_info(0)


def test_openi_report_generation_layout(tmp_path, shared_data, covid_pngs):
    """R2Gen's iu_xray annotation.json: {split: [{id, report, image_path, split}]}."""
    from medvlp.datasets import OpenIDataset
    with open(shared_data / 'openi' / 'openi_reports.jsonl', encoding='utf-8') as f:
        reports = [json.loads(line) for line, _ in zip(f, range(3))]
    images = tmp_path / 'images'
    layout = {'train': [], 'val': [], 'test': []}
    for report, split, png in zip(reports, layout, covid_pngs):
        study = report['images'][0].rsplit('-', 1)[0]
        (images / study).mkdir(parents=True)
        for i in range(2):
            (images / study / f'{i}.png').write_bytes(png.read_bytes())
        layout[split].append(dict(id=study, report=report['findings'] or report['impression'],
                                  image_path=[f'{study}/0.png', f'{study}/1.png'], split=split))
    ann = tmp_path / 'annotation.json'
    ann.write_text(json.dumps(layout))
    ds = OpenIDataset(str(ann), data_prefix=str(images),
                      pipeline=[dict(type='LoadCXRImage'), dict(type='TokenizeReport')])
    assert len(ds) == 6 and ds.load_summary['processed'] == 6
    assert [ds.get_data_info(i)['split'] for i in range(0, 6, 2)] == ['train', 'validate', 'test']
    assert ds.get_data_info(0)['subject_id'] == 'CXR1'
    assert ds[1]['input_ids'].shape == (128, )
    assert len(OpenIDataset(str(ann), data_prefix=str(images), split='val')) == 2


# =============================================================================== MIMIC-CXR
from mimic_layout import CHEXPERT  # noqa: E402


@pytest.fixture(scope='module')
def covid_pngs(shared_data):
    return sorted((shared_data / 'covid-cxr' / 'images').glob('*.png'))


@pytest.fixture(scope='module')
def mimic(mimic_layout, tmp_path_factory):
    """The converter's output on the MIMIC layout of tests/mimic_layout.py (7 studies)."""
    out = tmp_path_factory.mktemp('mimic_ann') / 'mimic_cxr.json'
    metainfo = load_tool('prepare_mimic_cxr').main(
        [str(mimic_layout['jpg_root']), str(out), '--reports-root',
         str(mimic_layout['reports_root'])])
    return dict(mimic_layout, out=out, metainfo=metainfo)


def test_mimic_report_fixture_looks_like_mimic(mimic):
    text = next(mimic['reports_root'].rglob('s50414267.txt')).read_text()
    assert 'FINAL REPORT' in text and ' FINDINGS: ' in text and '___F with' in text
    from medvlp.text import extract_sections
    assert {'findings', 'impression', 'indication'} <= set(extract_sections(text))


def test_mimic_counts_and_skips(mimic):
    content = json.loads(mimic['out'].read_text(encoding='utf-8'))
    counts = content['metainfo']['counts']
    assert counts['images'] == 10 and counts['studies'] == 7
    assert counts['skipped_images'] == {'missing image': 1, 'missing report': 1,
                                        'no ViewPosition': 1, 'no findings or impression': 1,
                                        'other view': 1}
    assert counts['skipped_studies'] == {'missing report': 1, 'no findings or impression': 1}
    records = content['data_list']
    assert [(r['subject_id'], r['study_id'], r['dicom_id'], r['split'], r['view'])
            for r in records] == mimic['expected']
    assert counts['kept_records'] == len(records) == 5
    assert content['metainfo']['classes'] == CHEXPERT
    first = records[0]
    assert first['img_path'] == f"files/p10/p10000032/s50414267/{first['dicom_id']}.jpg"
    assert first['labels'] == {'Atelectasis': 1, 'Cardiomegaly': -1, 'Edema': 0}
    assert records[1]['labels'] == {'No Finding': 1}
    assert set(first['sections']) >= {'findings', 'impression'}
    assert 'findings' not in records[1]['sections']


def test_mimic_options(mimic, tmp_path):
    tool = load_tool('prepare_mimic_cxr')
    out = tmp_path / 'all.json'
    meta = tool.main([str(mimic['jpg_root']), str(out), '--reports-root',
                      str(mimic['reports_root']), '--views', 'all', '--require-sections', 'none',
                      '--splits', 'train'])
    assert meta['counts']['skipped_images'] == {'missing report': 1, 'other split': 3}
    assert meta['counts']['kept_records'] == 6
    with pytest.raises(SystemExit):
        tool.main([str(mimic['jpg_root']), str(out), '--resize', '512'])
    # deterministic: a second run writes the same bytes
    again = tmp_path / 'again.json'
    tool.main([str(mimic['jpg_root']), str(again), '--reports-root', str(mimic['reports_root'])])
    assert again.read_bytes() == mimic['out'].read_bytes()


@pytest.fixture(scope='module')
def mimic_resized(mimic):
    out = mimic['root'] / 'ann' / 'mimic_cxr_96.json'
    resized_root = mimic['root'] / 'resized-96'
    load_tool('prepare_mimic_cxr').main([
        str(mimic['jpg_root']), str(out), '--reports-root', str(mimic['reports_root']),
        '--resize', '96', '--resized-root', str(resized_root), '--workers', '2'])
    return out, resized_root


def test_mimic_resize(mimic, mimic_resized):
    from PIL import Image
    out, resized_root = mimic_resized
    content = json.loads(out.read_text(encoding='utf-8'))
    original = json.loads(mimic['out'].read_text(encoding='utf-8'))
    assert [r['img_path'] for r in content['data_list']] == \
        [r['img_path'] for r in original['data_list']]
    assert content['metainfo']['resize_shorter_side'] == 96
    for record in content['data_list']:
        with Image.open(resized_root / record['img_path']) as small, \
                Image.open(mimic['jpg_root'] / record['img_path']) as big:
            assert min(small.size) == min(96, min(big.size))
            assert abs(small.width / small.height - big.width / big.height) < 0.05
            assert small.mode == 'L'


def test_mimic_resize_to_pgm(mimic, mimic_resized, tmp_path):
    """--resized-format pgm: the same images, lossless, as greymaps LoadCXRImage reads."""
    from PIL import Image

    from medvlp.datasets.transforms import LoadCXRImage
    tool = load_tool('prepare_mimic_cxr')
    out = tmp_path / 'mimic_cxr_96_pgm.json'
    resized_root = tmp_path / 'resized-96-pgm'
    meta = tool.main([str(mimic['jpg_root']), str(out), '--reports-root',
                      str(mimic['reports_root']), '--resize', '96', '--resized-root',
                      str(resized_root), '--resized-format', 'pgm'])
    assert meta['resized_format'] == 'pgm' and meta['resize_shorter_side'] == 96
    records = json.loads(out.read_text(encoding='utf-8'))['data_list']
    jpeg_out, jpeg_root = mimic_resized
    jpeg_records = json.loads(jpeg_out.read_text(encoding='utf-8'))['data_list']
    assert json.loads(jpeg_out.read_text(encoding='utf-8'))['metainfo']['resized_format'] == \
        'jpeg'
    assert [r['img_path'] for r in records] == \
        [r['img_path'][:-len('.jpg')] + '.pgm' for r in jpeg_records]
    load = LoadCXRImage(channels=1)
    for record, jpeg_record in zip(records, jpeg_records):
        path = resized_root / record['img_path']
        assert path.read_bytes().startswith(b'P5')
        pgm = load(dict(img_path=str(path)))['img']
        jpeg = load(dict(img_path=str(jpeg_root / jpeg_record['img_path'])))['img']
        assert pgm.shape == jpeg.shape  # the same resize, stored two ways
        assert np.abs(pgm.astype(int) - jpeg.astype(int)).mean() < 2  # JPEG q95 loss only
        with Image.open(mimic['jpg_root'] / jpeg_record['img_path']) as big:
            assert min(pgm.shape) == min(96, min(big.size))
    assert not list(resized_root.rglob('*.tmp'))
    with pytest.raises(SystemExit):  # a format without --resize
        tool.main([str(mimic['jpg_root']), str(tmp_path / 'x.json'),
                   '--resized-format', 'pgm'])


def _pipeline(max_length=40):
    return [
        dict(type='LoadCXRImage'),
        dict(type='Resize', scale=(64, 64)),  # mmcv's Resize (mmengine root registry)
        dict(type='TokenizeReport', max_length=max_length),
        dict(type='PackImageReportInputs'),
    ]


@pytest.mark.parametrize('num_workers', [0, 2])
def test_mimic_full_pipeline_through_dataloader(mimic, mimic_resized, num_workers):
    from mmengine.dataset import default_collate
    from mmpretrain.models.utils import ClsDataPreprocessor
    from torch.utils.data import DataLoader

    from medvlp.datasets import MIMICCXRDataset
    from medvlp.datasets.transforms import stack_data_sample_fields
    from medvlp.registry import DATASETS
    out, resized_root = mimic_resized
    ds = DATASETS.build(dict(type='MIMICCXRDataset', ann_file=str(out),
                             data_prefix=dict(img_path=str(resized_root)), pipeline=_pipeline()))
    assert isinstance(ds, MIMICCXRDataset) and len(ds) == 3  # train split, frontal
    assert ds.CLASSES == tuple(CHEXPERT) and ds.metainfo['dataset_name'] == 'MIMIC-CXR'
    loader = DataLoader(ds, batch_size=2, num_workers=num_workers, collate_fn=default_collate)
    batches = list(loader)
    assert [b['inputs'].shape for b in batches] == [(2, 3, 64, 64), (1, 3, 64, 64)]
    samples = batches[0]['data_samples']
    assert samples[0].metainfo['study_id'] == '50414267'
    assert 'FINDINGS' not in samples[0].metainfo['report']
    assert samples[0].metainfo['sections']['impression']
    text = stack_data_sample_fields(samples)
    assert text['input_ids'].shape == (2, 40) and text['word_keyword'].shape == (2, 40)
    assert text['keyword_mask'].sum() > 0

    preprocessor = ClsDataPreprocessor(mean=[127.5] * 3, std=[127.5] * 3, num_classes=14,
                                       to_onehot=True)
    data = preprocessor(batches[0], training=True)
    assert data['inputs'].dtype == torch.float32 and data['inputs'].shape == (2, 3, 64, 64)
    assert data['inputs'].abs().max() <= 1.0 + 1e-6
    assert data['data_samples'][0].gt_score.tolist()[:2] == [1.0, 0.0]  # uncertain -> ignore
    assert np.array_equal(data['data_samples'][0].input_ids.numpy(), text['input_ids'][0].numpy())


def test_mimic_dataset_on_full_size_images(mimic):
    from medvlp.datasets import MIMICCXRDataset
    ds = MIMICCXRDataset(str(mimic['out']), data_prefix=str(mimic['jpg_root']),
                         split=None, views=None, pipeline=_pipeline())
    assert len(ds) == 5
    assert {ds[i]['data_samples'].metainfo['split'] for i in range(5)} == \
        {'train', 'validate', 'test'}
    assert {ds.get_data_info(i)['view'] for i in range(5)} == {'PA', 'AP'}


@pytest.mark.slow
def test_cli_runs_in_a_subprocess(mimic, tmp_path, run_tool):
    out = tmp_path / 'cli.json'
    proc = run_tool('dataset_converters/prepare_mimic_cxr.py', mimic['jpg_root'], out,
                    '--reports-root', mimic['reports_root'])
    assert 'skipped       1 images: missing image' in proc.stdout
    assert f'wrote {out}' in proc.stdout
    assert out.read_bytes() == mimic['out'].read_bytes()


def test_resize_helpers(covid_pngs, tmp_path):
    tool = load_tool('prepare_mimic_cxr')
    assert tool.shorter_side_size(2544, 3056, 512) == (512, 615)
    assert tool.shorter_side_size(3056, 2544, 512) == (615, 512)
    assert tool.shorter_side_size(400, 300, 512) == (400, 300)  # never upscaled
    from PIL import Image
    src = tmp_path / 'x.jpg'
    Image.open(covid_pngs[0]).convert('L').save(src, quality=95)
    data = src.read_bytes()
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(data[:len(data) // 2])
    assert tool.resize_image(str(src), str(tmp_path / 'out' / 'x.jpg'), 64) == 'resized'
    assert tool.resize_image(str(broken), str(tmp_path / 'out' / 'b.jpg'), 64) == \
        'corrupt image'
    assert not (tmp_path / 'out' / 'b.jpg').exists()
    assert tool.resize_image(str(src), str(tmp_path / 'out' / 'x.pgm'), 64, 'pgm') == \
        'resized'
    with Image.open(tmp_path / 'out' / 'x.pgm') as small, Image.open(src) as big:
        assert small.format == 'PPM' and small.mode == 'L' and min(small.size) == 64
        assert abs(small.width / small.height - big.width / big.height) < 0.05
    from medvlp.datasets.conversion import save_grey_image
    with pytest.raises(ValueError, match=r"choose one of \['jpeg', 'pgm'\]"):
        save_grey_image(Image.new('L', (4, 4)), str(tmp_path / 'y.png'), 'png')
    with pytest.raises(ValueError, match='mode "RGB"'):
        save_grey_image(Image.new('RGB', (4, 4)), str(tmp_path / 'y.pgm'), 'pgm')
    assert not list(tmp_path.glob('y.*'))
