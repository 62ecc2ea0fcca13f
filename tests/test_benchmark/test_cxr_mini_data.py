# Copyright (c) medvlp contributors. All rights reserved.
"""The cxr-mini split on the real covid-cxr data: patient-disjoint, deterministic, checked.

The leakage check: no held-out image or patient is in any pre-training or
downstream-training annotation that the preset writes (read back from the files).
"""
import csv
import json
import shutil

import pytest

from medvlp.benchmark.cxr_mini import (ANNOTATIONS, TEST_FILES, TRAINING_FILES, LeakageError,
                                       check_leakage, is_written, write_cxr_mini)


@pytest.fixture(scope='module')
def cxr_mini(shared_data, tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv('MEDVLP_NLTK_DATA', str(shared_data / 'vocab' / 'nltk_data'))
    out = tmp_path_factory.mktemp('cxr_mini') / 'data'
    summary = write_cxr_mini(str(shared_data / 'covid-cxr'), str(out), log=lambda _: None)
    return out, summary


@pytest.fixture(scope='module')
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _patients(out):
    with open(out / 'metadata.csv', encoding='utf-8') as f:
        return {row['filename']: row['patientid'] for row in csv.DictReader(f)}


def _images(out, key):
    text = (out / ANNOTATIONS[key]).read_text(encoding='utf-8').splitlines()
    if key in ('pretrain', 'retrieval_test'):
        return [json.loads(line)['img_path'].split('/')[-1] for line in text]
    if key.startswith('cls'):
        return [line.split()[0] for line in text]
    return [line + '.png' for line in text]


def test_no_held_out_image_or_patient_in_training_files(cxr_mini, shared_data):
    out, summary = cxr_mini
    patient_of = _patients(out)
    with open(shared_data / 'covid-cxr' / 'metadata.csv', encoding='utf-8') as f:
        source = {row['filename']: row['patientid'] for row in csv.DictReader(f)}
    assert patient_of == source  # the patients come from the shared metadata, unchanged
    test_images = {n for key in TEST_FILES for n in _images(out, key)}
    test_patients = {patient_of[n] for n in test_images}
    assert test_patients == set(summary['patients']['test'])
    for key in TRAINING_FILES:
        names = _images(out, key)
        assert names, key
        assert not set(names) & test_images, key
        assert not {patient_of[n] for n in names} & test_patients, key
    # every image is somewhere, the split covers all 233 patients, ~30% of them held out
    assert len(summary['patients']['dev']) + len(summary['patients']['test']) == 233
    assert 0.25 < len(summary['patients']['test']) / 233 < 0.35
    assert summary['counts']['pretrain'] + summary['counts']['retrieval_test'] == 366
    assert summary['counts']['cls_train'] + summary['counts']['cls_test'] == 380
    assert summary['counts']['seg_train'] + summary['counts']['seg_test'] == 212
    # both classes in both parts (stratified), so every AUC is defined
    for key in ('cls_train', 'cls_test'):
        labels = [line.split()[1] for line in
                  (out / ANNOTATIONS[key]).read_text().splitlines()]
        assert set(labels) == {'0', '1'}, key


def test_the_split_is_written_once_and_deterministically(cxr_mini, shared_data, tmp_path):
    out, summary = cxr_mini
    src = str(shared_data / 'covid-cxr')
    assert is_written(str(out), src)
    before = {p: (out / p).stat().st_mtime_ns for p in summary['files']}
    again = write_cxr_mini(src, str(out), log=lambda _: None)
    assert again == summary
    assert {p: (out / p).stat().st_mtime_ns for p in summary['files']} == before
    # a different split seed is a different split, not a silent reuse of this one
    assert not is_written(str(out), src, seed=1)
    # a damaged file makes the folder count as not written
    copy = tmp_path / 'copy'
    shutil.copytree(out, copy)
    with open(copy / ANNOTATIONS['cls_train'], 'a') as f:
        f.write('extra.png 1\n')
    assert not is_written(str(copy), src)


@pytest.mark.parametrize('key', TRAINING_FILES)
def test_leakage_check_catches_a_held_out_image(cxr_mini, tmp_path, key):
    out, _ = cxr_mini
    assert check_leakage(str(out))[ANNOTATIONS[key]] > 0
    copy = tmp_path / 'copy'
    shutil.copytree(out, copy)
    held_out = {'pretrain': 'retrieval_test', 'cls_train': 'cls_test',
                'seg_train': 'seg_test'}[key]
    path = copy / ANNOTATIONS[key]
    line = (copy / ANNOTATIONS[held_out]).read_text(encoding='utf-8').splitlines()[0]
    path.write_text(path.read_text(encoding='utf-8') + line + '\n', encoding='utf-8')
    with pytest.raises(LeakageError, match='held-out'):
        check_leakage(str(copy))


def test_retrieval_pairs_share_a_study_per_note(cxr_mini):
    out, _ = cxr_mini
    records = [json.loads(line) for line in
               (out / 'retrieval_test.jsonl').read_text(encoding='utf-8').splitlines()]
    by_study = {}
    for r in records:
        by_study.setdefault(r['study_id'], set()).add(r['report'])
    assert all(len(reports) == 1 for reports in by_study.values())
    assert len(by_study) < len(records)  # some patients have several images of one note


def test_bad_source_folders_are_named(tmp_path):
    from medvlp.utils.cli import UserError
    with pytest.raises(UserError, match='metadata.csv does not exist'):
        write_cxr_mini(str(tmp_path / 'nowhere'), str(tmp_path / 'out'), log=lambda _: None)
    (tmp_path / 'metadata.csv').write_text('filename,patientid\na.png,1\n')
    with pytest.raises(UserError, match=r"missing columns \['finding', 'view', "
                                        r"'clinical_notes'\]"):
        write_cxr_mini(str(tmp_path), str(tmp_path / 'out'), log=lambda _: None)
