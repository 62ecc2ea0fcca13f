# Copyright (c) medvlp contributors. All rights reserved.
"""iter_report_texts: the corpus formats the training tools accept."""
import gzip
import json

import pytest

from medvlp.text.corpus import iter_report_texts
from .helpers import MIMIC_REPORT


def test_folder_of_mimic_reports_and_single_file(tmp_path):
    study = tmp_path / 'files' / 'p10' / 'p10000032'
    study.mkdir(parents=True)
    (study / 's1.txt').write_text(MIMIC_REPORT)
    (study / 's2.txt').write_text('INDICATION: cough\nIMPRESSION: Clear lungs.')
    (study / 's3.txt').write_text('   ')
    texts = list(iter_report_texts([str(tmp_path)]))
    assert len(texts) == 2 and texts[1] == 'Clear lungs.'
    assert texts[0].startswith('PA and lateral views') and texts[0].endswith('No pneumothorax.')
    assert list(iter_report_texts([str(study / 's2.txt')], sections=('indication', ))) == [
        'cough']


def test_json_formats(tmp_path):
    rows = [{'findings': 'Clear lungs.', 'impression': 'Normal.'}, {'findings': None},
            {'report': 'No effusion.'}]
    jsonl = tmp_path / 'r.jsonl.gz'
    with gzip.open(jsonl, 'wt', encoding='utf-8') as f:
        f.write('\n'.join(json.dumps(row) for row in rows) + '\n')
    annotations = tmp_path / 'ann.json'
    annotations.write_text(json.dumps({'data_list': rows, 'metainfo': {}}))
    expected = ['Clear lungs.\n\nNormal.', 'No effusion.']
    assert list(iter_report_texts([str(jsonl)])) == expected
    assert list(iter_report_texts([str(annotations)], limit=1)) == expected[:1]


def test_bad_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match='not found'):
        list(iter_report_texts([str(tmp_path / 'missing.jsonl')]))
    (tmp_path / 'r.csv').write_text('a,b\n')
    with pytest.raises(ValueError, match='unsupported'):
        list(iter_report_texts([str(tmp_path / 'r.csv')]))
