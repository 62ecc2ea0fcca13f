# Copyright (c) medvlp contributors. All rights reserved.
"""prepare_{nih,chexpert,rsna,covid}.py on the real label tables and lists; the sampler."""
import csv
import gzip
import importlib.util
import io
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from medvlp.datasets.classification import (COVIDCXRDataset, official_split_list,
                                            parse_split_list)
from medvlp.datasets.classification.sampling import patient_disjoint_split

REPO_ROOT = Path(__file__).resolve().parents[2]
CONVERTERS = REPO_ROOT / 'tools' / 'dataset_converters'


def load_tool(name):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, CONVERTERS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def read_list(path, k):
    return parse_split_list(str(path), k)


@pytest.mark.slow
def test_chexpert_converter_rebuilds_the_shipped_lists(shared_data, tmp_path, capsys):
    out = tmp_path / 'chexpert'
    load_tool('prepare_chexpert').main(
        [str(shared_data / 'labels' / 'chexpert_train.csv.gz'), str(out), '--gzip'])
    printed = capsys.readouterr().out
    for split, fraction, name in [('train', 1, 'train_1'), ('train', 10, 'train_10'),
                                  ('train', 100, 'train_list'), ('val', 100, 'val_list'),
                                  ('test', 100, 'test_list')]:
        # same images and labels as MRM's lists (and the rebuilt 100% list), none skipped
        assert (gzip.decompress((out / f'{name}.txt.gz').read_bytes()) ==
                gzip.decompress(open(official_split_list('CheXpert', split, fraction),
                                     'rb').read())), name
    assert re.search(r'train_100\s+218414\s+65620\s+26412', printed)
    assert 'skipped: nothing' in printed


def test_chexpert_frontal_filter_policy_and_bad_columns(shared_data, tmp_path, capsys):
    text = gzip.decompress((shared_data / 'labels' / 'chexpert_train.csv.gz').read_bytes())
    lines = text.decode().splitlines()[:3001]
    small = tmp_path / 'train.csv'
    small.write_text('\n'.join(lines) + '\n')
    rows = list(csv.DictReader(io.StringIO('\n'.join(lines))))
    laterals = sum(r['Frontal/Lateral'] == 'Lateral' for r in rows)
    out = tmp_path / 'sampled'
    tool = load_tool('prepare_chexpert')
    tool.main([str(small), str(out), '--sample', '0', '--frontal-only', '--uncertain',
               'Cardiomegaly=1'])
    printed = capsys.readouterr().out
    written = sum(len(read_list(out / f, 5)) for f in ('train_list.txt', 'val_list.txt',
                                                      'test_list.txt'))
    assert written == 3000 - laterals > 2000
    assert not any('lateral' in p for f in ('train_list.txt', 'test_list.txt')
                   for p, _ in read_list(out / f, 5))
    # Cardiomegaly -1 -> 1 under the override
    uncertain = [r['Path'] for r in rows if r['Cardiomegaly'] == '-1.0'
                 and r['Frontal/Lateral'] == 'Frontal']
    labels = dict(read_list(out / 'train_list.txt', 5) + read_list(out / 'val_list.txt', 5) +
                  read_list(out / 'test_list.txt', 5))
    assert uncertain and all(labels[p][1] == 1 for p in uncertain)
    assert 'images' in printed and 'Cardiomegaly' in printed
    # a table with an extra column: a one-line error naming it
    header = lines[0] + ',Comment'
    bad = tmp_path / 'bad.csv'
    bad.write_text('\n'.join([header] + [l + ',x' for l in lines[1:5]]) + '\n')
    with pytest.raises(SystemExit) as e:
        tool.main([str(bad), str(tmp_path / 'x')])
    assert e.value.code == 2
    assert "unexpected columns ['Comment']" in capsys.readouterr().err


@pytest.mark.slow
def test_nih_converter_counts_and_skips(shared_data, tmp_path, capsys):
    out = tmp_path / 'nih'
    table = shared_data / 'labels' / 'Data_Entry_2017_v2020.csv.gz'
    load_tool('prepare_nih').main([str(table), str(out)])
    printed = capsys.readouterr().out
    total = 0
    for name, official in [('train_1', ('train', 1)), ('train_list', ('train', 100)),
                           ('test_list', ('test', 100))]:
        listed = dict(parse_split_list(official_split_list('NIH_ChestX-ray', *official), 14))
        written = read_list(out / f'{name}.txt', 14)
        total += len(listed)
        assert {p for p, _ in written} <= set(listed)
        assert 0 <= len(listed) - len(written) <= 0.002 * len(listed)
        # kept images carry the list's labels; the others were skipped as disagreeing
        assert all((listed[p] == lab).all() for p, lab in written)
        skipped = len(listed) - len(written)
        split = 'train_100' if name == 'train_list' else name.replace('_list', '')
        if skipped:
            assert f'{split}: {skipped} labels disagree with the official list' in printed
    # keeping the table's labels instead: nothing skipped, disagreements still counted
    load_tool('prepare_nih').main([str(table), str(tmp_path / 'keep'), '--on-disagree',
                                   'table'])
    printed = capsys.readouterr().out
    assert len(read_list(tmp_path / 'keep' / 'train_list.txt', 14)) == 78468
    assert 'skipped: nothing' in printed and '(kept the table\'s labels)' in printed


def test_rsna_converter(shared_data, tmp_path, capsys):
    out = tmp_path / 'rsna'
    load_tool('prepare_rsna').main(
        [str(shared_data / 'labels' / 'kaggle_stage_2_train_labels.csv.zip'), str(out)])
    printed = capsys.readouterr().out
    for name, official in [('train_10', ('train', 10)), ('val_list', ('val', 100)),
                           ('test_list', ('test', 100))]:
        written = read_list(out / f'{name}.txt', 1)
        listed = parse_split_list(official_split_list('RSNA_Pneumonia', *official), 1)
        assert [p for p, _ in written] == [p for p, _ in listed]
        assert [int(y[0]) for _, y in written] == [int(y[0]) for _, y in listed]
    assert re.search(r'train_100\s+25184\s+5789\n', printed)
    assert 'test: 3000 images with the official list\'s labels' in printed


def test_covid_converter_restricts_to_present_images(shared_data, tmp_path, capsys):
    covid = shared_data / 'covid-cxr'
    out = tmp_path / 'covid'
    load_tool('prepare_covid').main([str(covid / 'splits'), str(out), '--folds', '1',
                                     '--images', str(covid / 'images'), '--metadata',
                                     str(covid / 'metadata.csv')])
    printed = capsys.readouterr().out
    names = {r['original_filename']: r['filename']
             for r in csv.DictReader(open(covid / 'metadata.csv', encoding='utf-8'))}
    for stem, name in [('train', 'train_list'), ('val', 'val_list'), ('test', 'test_list')]:
        lines = [l.split() for l in open(covid / 'splits' / 'covid1' / f'iscovid_{stem}.txt')
                 if l.strip()]
        present = [(names[f], int(y)) for f, y in lines if f in names]
        written = [(p, int(lab[0])) for p, lab in read_list(out / 'covid1' / f'{name}.txt', 1)]
        assert written == present
        split = 'train_100' if stem == 'train' else stem
        assert f'{split}: {len(lines) - len(present)} image missing' in printed
    ds = COVIDCXRDataset(ann_file=str(out / 'covid1' / 'train_list.txt'),
                         data_root=str(covid / 'images'))
    assert len(ds) == len(read_list(out / 'covid1' / 'train_list.txt', 1)) and not \
        ds.missing_images
    # the viral task: the one label "11" upstream is skipped and counted
    load_tool('prepare_covid').main([str(covid / 'splits'), str(tmp_path / 'viral'), '--task',
                                     'viral', '--folds', '1'])
    assert "test: 1 label not 0/1 ('11')" in capsys.readouterr().out


def test_sampler_is_seeded_patient_disjoint_stratified_and_nested():
    rng = np.random.default_rng(0)
    samples = []
    for patient in range(2000):
        labels = (rng.random(4) < [0.3, 0.1, 0.02, 0.5]).astype(int)
        for image in range(rng.integers(1, 4)):
            samples.append((f'p{patient}_{image}', f'p{patient}', labels))
    split = patient_disjoint_split(samples, val_ratio=0.1, test_ratio=0.2, seed=3)
    assert split == patient_disjoint_split(samples, val_ratio=0.1, test_ratio=0.2, seed=3)
    assert split != patient_disjoint_split(samples, val_ratio=0.1, test_ratio=0.2, seed=4)
    patient = {key: p for key, p, _ in samples}
    groups = {name: {patient[k] for k in keys} for name, keys in split.items()}
    assert not groups['train_100'] & groups['val'] and not groups['val'] & groups['test']
    assert not groups['train_100'] & groups['test']
    assert groups['train_1'] <= groups['train_10'] <= groups['train_100']
    assert len(split['train_100']) + len(split['val']) + len(split['test']) == len(samples)
    labels = {key: lab for key, _, lab in samples}
    overall = np.mean([lab for _, _, lab in samples], axis=0)
    for name in ('train_10', 'val', 'test'):
        share = np.mean([labels[k] for k in split[name]], axis=0)
        np.testing.assert_allclose(share, overall, atol=0.05)
    assert len(groups['test']) == pytest.approx(400, abs=10)
