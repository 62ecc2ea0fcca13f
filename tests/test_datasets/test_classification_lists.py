# Copyright (c) medvlp contributors. All rights reserved.
"""The split lists shipped with medvlp against their sources: MRM's official lists and the
NIH, CheXpert and RSNA label tables in the shared data."""
import gzip

import numpy as np
import pytest

from medvlp.datasets.classification import (CHEXPERT_COMPETITION_CLASSES, NIH_CLASSES,
                                            official_split_list, parse_split_list)
from medvlp.datasets.classification.label_tables import (chexpert_labels, nih_labels,
                                                         read_chexpert_table, read_nih_table,
                                                         read_rsna_table, rsna_targets)

UPSTREAM_NAMES = {
    ('train', 1): 'train_1.txt',
    ('train', 10): 'train_10.txt',
    ('train', 100): 'train_list.txt',
    ('val', 100): 'val_list.txt',
    ('test', 100): 'test_list.txt'
}
#: Line counts of MRM's lists (shared/data/splits/README.md), None where upstream has none.
LINES = {
    'NIH_ChestX-ray': [785, 7847, 78468, 11219, 22433],
    'CheXpert': [2184, 21841, 218414, 5000, 234],
    'RSNA_Pneumonia': [251, 2518, 25184, 1500, 3000],
}
NUM_LABELS = {'NIH_ChestX-ray': 14, 'CheXpert': 5, 'RSNA_Pneumonia': 1}


def upstream_text(shared_data, folder, name):
    path = shared_data / 'splits' / folder / name
    if path.is_file():
        return path.read_bytes().decode()
    gz = path.with_name(name + '.gz')
    return gzip.decompress(gz.read_bytes()).decode() if gz.is_file() else None


def shipped(folder, split, fraction=100):
    return parse_split_list(official_split_list(folder, split, fraction), NUM_LABELS[folder])


@pytest.mark.parametrize('folder', sorted(LINES))
def test_shipped_lists_are_the_official_ones(shared_data, folder):
    for (split, fraction), expected in zip(UPSTREAM_NAMES, LINES[folder]):
        path = official_split_list(folder, split, fraction)
        text = gzip.decompress(open(path, 'rb').read()).decode()
        upstream = upstream_text(shared_data, folder, UPSTREAM_NAMES[split, fraction])
        if upstream is not None:
            assert text == upstream, f'{path} differs from upstream'
        else:
            assert (folder, split, fraction) == ('CheXpert', 'train', 100)
        entries = shipped(folder, split, fraction)
        assert len(entries) == expected
    # the 1% and 10% lists are drawn from the 100% one (MRM's are not nested in each other)
    images = {f: {i for i, _ in shipped(folder, 'train', f)} for f in (1, 10, 100)}
    assert images[1] <= images[100] and images[10] <= images[100]
    val, test = ({i for i, _ in shipped(folder, s)} for s in ('val', 'test'))
    assert not (images[100] & val) and not (images[100] & test) and not (val & test)


def class_counts(entries):
    return np.sum([labels for _, labels in entries], axis=0)


def test_nih_lists_match_the_label_table(shared_data):
    rows = read_nih_table(str(shared_data / 'labels' / 'Data_Entry_2017_v2020.csv.gz'))
    table = {row['Image Index']: nih_labels(row['Finding Labels']) for row in rows}
    # the parser against plain string counting over the whole table
    cells = [row['Finding Labels'].split('|') for row in rows]
    assert np.sum(list(table.values()), axis=0).tolist() == [
        sum(name in cell for cell in cells) for name in NIH_CLASSES]
    splits = {s: shipped('NIH_ChestX-ray', s) for s in ('train', 'val', 'test')}
    # the three full lists cover all 112,120 images exactly once
    listed = [image for entries in splits.values() for image, _ in entries]
    assert len(listed) == len(set(listed)) == len(table) == 112120
    for split, entries in splits.items():
        from_table = np.stack([table[image] for image, _ in entries])
        from_list = np.stack([labels for _, labels in entries])
        # >= 99.9 % agreement per class, and per-class counts within 0.2 % of the images
        agreement = (from_table == from_list).mean(axis=0)
        assert agreement.min() >= 0.999, dict(zip(NIH_CLASSES, agreement))
        diff = np.abs(from_table.sum(0).astype(int) - from_list.sum(0).astype(int))
        assert (diff <= 0.002 * len(entries)).all(), (split, diff)


def test_rsna_lists_match_the_label_table(shared_data):
    targets = rsna_targets(
        read_rsna_table(str(shared_data / 'labels' / 'kaggle_stage_2_train_labels.csv.zip')))
    for split in ('train', 'val'):
        for fraction in ((1, 10, 100) if split == 'train' else (100, )):
            for image, labels in shipped('RSNA_Pneumonia', split, fraction):
                pid = image.rsplit('/', 1)[-1][:-len('.dcm')]
                assert targets[pid] == labels[0], image
    train, val = shipped('RSNA_Pneumonia', 'train'), shipped('RSNA_Pneumonia', 'val')
    assert len(train) + len(val) == len(targets) == 26684
    assert class_counts(train)[0] + class_counts(val)[0] == sum(targets.values()) == 6012


def test_chexpert_policy_reproduces_every_official_row(shared_data):
    rows = read_chexpert_table(str(shared_data / 'labels' / 'chexpert_train.csv.gz'))
    table = {r['Path']: chexpert_labels(r, CHEXPERT_COMPETITION_CLASSES) for r in rows}
    for split, fraction in [('train', 1), ('train', 10), ('val', 100)]:
        for image, labels in shipped('CheXpert', split, fraction):
            np.testing.assert_array_equal(table[image], labels, err_msg=image)
    # the rebuilt 100% list: train.csv minus val_list, in table order, policy labels
    val = {image for image, _ in shipped('CheXpert', 'val')}
    expected = [(p, lab) for p, lab in table.items() if p not in val]
    full = shipped('CheXpert', 'train', 100)
    assert len(full) == len(expected) == 218414
    assert [p for p, _ in full] == [p for p, _ in expected]
    np.testing.assert_array_equal(np.stack([lab for _, lab in full]),
                                  np.stack([lab for _, lab in expected]))
    # a different policy would not reproduce them (the check can fail)
    flipped = {r['Path']: chexpert_labels(r, CHEXPERT_COMPETITION_CLASSES,
                                          policy={c: 0 for c in CHEXPERT_COMPETITION_CLASSES})
               for r in rows[:5000]}
    assert any((flipped[i] != lab).any() for i, lab in full[:5000] if i in flipped)
