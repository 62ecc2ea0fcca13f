# Copyright (c) medvlp contributors. All rights reserved.
"""Converters skip and name bad inputs (--strict fails), and check the output first."""
import csv
import gzip
import io
import shutil
import sys
import tarfile
from pathlib import Path

import pytest

pytest.importorskip('medvlp.text')
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_dataset_converters import load_tool  # noqa: E402


@pytest.fixture()
def openi_folder(shared_data, tmp_path):
    """Five real OpenI XML reports, plus a malformed, an empty and a header-only one."""
    folder = tmp_path / 'xml'
    folder.mkdir()
    with tarfile.open(shared_data / 'openi' / 'NLMCXR_reports.tgz') as archive:
        members = sorted((m for m in archive if m.name.endswith('.xml')),
                         key=lambda m: m.name)[:5]
        for member in members:
            (folder / Path(member.name).name).write_bytes(
                archive.extractfile(member).read())
    (folder / 'broken.xml').write_bytes(b'<eCitation><uId id="CXR9"></eCitation')
    (folder / 'empty.xml').write_bytes(b'')
    (folder / 'header.xml').write_bytes(b'<?xml version="1.0" encoding="utf-8"?>\n')
    return folder


def test_openi_skips_and_names_bad_xml_files(openi_folder, tmp_path, capsys):
    tool = load_tool('prepare_openi')
    out = tmp_path / 'openi.json'
    meta = tool.main([str(openi_folder), str(out)])
    bad = meta['counts']['bad_inputs']
    assert bad['empty XML file']['examples'] == [str(openi_folder / 'empty.xml')]
    malformed = {name for reason, entry in bad.items() if reason.startswith('malformed XML')
                 for name in entry['examples']}
    assert malformed == {str(openi_folder / 'broken.xml'), str(openi_folder / 'header.xml')}
    assert meta['counts']['reports'] == 5 and out.is_file()
    printed = capsys.readouterr().out
    assert '3 unreadable inputs skipped' in printed and 'broken.xml' in printed

    with pytest.raises(SystemExit) as info:
        tool.main([str(openi_folder), str(tmp_path / 'strict.json'), '--strict'])
    assert info.value.code == 2
    error = capsys.readouterr().err
    assert 'prepare_openi.py: error: ' in error and 'broken.xml: malformed XML' in error
    assert not (tmp_path / 'strict.json').exists()


def test_openi_names_file_and_row_of_a_bad_label(openi_folder, tmp_path, capsys):
    labels = tmp_path / 'labels.csv'
    labels.write_text('filename,Cardiomegaly\nCXR1,1\nCXR2,maybe\n', encoding='utf-8')
    tool = load_tool('prepare_openi')
    meta = tool.main([str(openi_folder), str(tmp_path / 'a.json'), '--labels', str(labels)])
    bad = meta['counts']['bad_inputs']
    reason = next(r for r in bad if r.startswith('bad label value'))
    assert bad[reason]['examples'] == [f'{labels}, row 3']


def test_openi_checks_the_output_before_the_work(openi_folder, tmp_path, capsys,
                                                 monkeypatch):
    tool = load_tool('prepare_openi')
    monkeypatch.setattr(tool, 'process_texts', lambda *a: pytest.fail('work was started'))
    blocker = tmp_path / 'afile'
    blocker.write_text('x')
    with pytest.raises(SystemExit):
        tool.main([str(openi_folder), str(blocker / 'out' / 'openi.json')])
    assert f'"{blocker}" is a file, not a folder' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tool.main([str(openi_folder), str(tmp_path)])
    assert 'is a folder; give a file name' in capsys.readouterr().err


def _rewrite_gz_csv(path, edit):
    with gzip.open(path, 'rt', newline='') as f:
        rows = list(csv.reader(f))
    edit(rows)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    with gzip.open(path, 'wt', newline='') as f:
        f.write(buffer.getvalue())


@pytest.fixture()
def mimic_copy(mimic_layout, tmp_path):
    jpg_root = tmp_path / 'jpg'
    shutil.copytree(mimic_layout['jpg_root'], jpg_root)
    return jpg_root, mimic_layout['reports_root']


def test_mimic_skips_and_names_malformed_id_rows(mimic_copy, tmp_path, capsys):
    jpg_root, reports = mimic_copy
    split = jpg_root / 'mimic-cxr-2.0.0-split.csv.gz'
    _rewrite_gz_csv(split, lambda rows: rows.append(['d-bad', 's5x', '1000003x', 'train']))
    tool = load_tool('prepare_mimic_cxr')
    meta = tool.main([str(jpg_root), str(tmp_path / 'm.json'), '--reports-root', str(reports)])
    bad = meta['counts']['bad_inputs']
    assert len(bad) == 1
    (reason, entry), = bad.items()
    assert "subject_id='1000003x'" in reason and "study_id='s5x'" in reason
    assert entry['examples'] == [f'{split}, row 12']
    assert meta['counts']['kept_records'] == 5  # the good rows are converted as before
    assert 'malformed table rows skipped' in capsys.readouterr().out
    with pytest.raises(SystemExit):
        tool.main([str(jpg_root), str(tmp_path / 's.json'), '--reports-root', str(reports),
                   '--strict'])
    assert f'{split}, row 12: malformed' in capsys.readouterr().err


def test_mimic_empty_label_table_is_named(mimic_copy, tmp_path, capsys):
    jpg_root, reports = mimic_copy
    labels = jpg_root / 'mimic-cxr-2.0.0-chexpert.csv.gz'
    labels.write_bytes(b'')
    with pytest.raises(SystemExit) as info:
        load_tool('prepare_mimic_cxr').main([str(jpg_root), str(tmp_path / 'm.json'),
                                             '--reports-root', str(reports)])
    assert info.value.code == 2
    error = capsys.readouterr().err
    assert f'prepare_mimic_cxr.py: error: {labels} is empty (0 bytes)' in error
    assert 'Traceback' not in error
