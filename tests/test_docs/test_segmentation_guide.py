# Copyright (c) medvlp contributors. All rights reserved.
"""The segmentation guide names files that exist and the counts and defaults of the code."""
import csv
import importlib.util
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = REPO_ROOT / 'docs' / 'en' / 'user_guides' / 'segmentation.md'


def test_paths_in_the_guide_exist():
    text = GUIDE.read_text()
    paths = set(re.findall(r'((?:configs|tools|medvlp|tests)/[\w./-]+\.(?:py|md))', text))
    assert len(paths) > 15
    missing = sorted(p for p in paths if not (REPO_ROOT / p).is_file())
    assert not missing, missing
    listed = {p.name for p in (REPO_ROOT / 'configs/benchmarks/segmentation').glob('*.py')}
    named = {Path(p).name for p in paths if p.startswith('configs/benchmarks/segmentation/')}
    # every recipe is in the guide (the -10pct/-1pct variants are named as suffixes)
    assert {n for n in listed if 'pct' not in n} <= named


def test_lung_split_counts(shared_data):
    from medvlp.datasets.segmentation import LungMaskDataset
    text = GUIDE.read_text()
    with open(shared_data / 'covid-cxr/metadata.csv', encoding='utf-8') as f:
        patients = {row['filename']: row['patientid'] for row in csv.DictReader(f)}
    for split, (images, people) in (('train', (168, 117)), ('val', (44, 28))):
        data = LungMaskDataset(data_root=str(shared_data / 'covid-cxr'), split=split,
                               lazy_init=True).load_data_list()
        names = [d['img_path'].split('/')[-1] for d in data]
        assert (len(names), len({patients[n] for n in names})) == (images, people)
    assert '168 training images of 117 patients and 44 held-out images of 28' in text


def test_converter_defaults_match_the_guide():
    spec = importlib.util.spec_from_file_location(
        'prepare_siim_doc', REPO_ROOT / 'tools/dataset_converters/prepare_siim.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    args = tool.parse_args([str(REPO_ROOT), str(GUIDE), 'out'])
    assert (args.val_ratio, args.test_ratio, tuple(args.fractions)) == (0.15, 0.15, (1, 10, 100))
    text = GUIDE.read_text()
    assert 'test (15%), val (15%)' in text and 'train (70%)' in text
