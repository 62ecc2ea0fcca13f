# Copyright (c) medvlp contributors. All rights reserved.
"""Runs the worked example of docs/en/advanced_guides/add_dataset.md on the real data."""
import csv
import re
import sys
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[2] / 'docs' / 'en' / 'advanced_guides' / 'add_dataset.md'


def test_guide_example_runs(shared_data, tmp_path, text_module, monkeypatch, mm_log,
                            clean_user_package):
    text = GUIDE.read_text(encoding='utf-8')
    module = re.search(r'```python\n# file: my_project/covid_cxr.py\n(.*?)```', text, re.S)
    usage = re.search(r'```python\n(from my_project.covid_cxr import .*?)```', text, re.S)
    assert module and usage, 'the guide should hold the module and its usage'
    package = tmp_path / 'my_project'
    package.mkdir()
    (package / '__init__.py').touch()
    (package / 'covid_cxr.py').write_text(module.group(1))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, 'my_project', raising=False)
    monkeypatch.delitem(sys.modules, 'my_project.covid_cxr', raising=False)

    covid = shared_data / 'covid-cxr'
    namespace = {}
    exec(usage.group(1).replace("'data/covid-cxr'", repr(str(covid))), namespace)
    dataset = namespace['dataset']

    with open(covid / 'metadata.csv', encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    frontal = [r for r in rows if r['view'].upper().split()[0] in ('PA', 'AP')]
    with_notes = [r for r in frontal if r['clinical_notes'].strip()]
    assert len(dataset) == len(with_notes)
    assert dataset.load_summary['other view'] == len(rows) - len(frontal)
    assert dataset.load_summary['empty report'] == len(frontal) - len(with_notes)
    sample = namespace['sample']
    assert tuple(sample['inputs'].shape) == (3, 224, 224)
    first = with_notes[0]['finding'].split('/')
    assert sample['data_samples'].gt_label.tolist() == \
        [i for i, name in enumerate(('COVID-19', 'Pneumonia')) if name in first]
    # the log lines quoted in the guide are what the dataset prints
    quoted = re.findall(r'^CovidCXRDataset: loaded .*$', text, re.M)[0]
    logged = [line for line in mm_log.text().splitlines() if 'loaded' in line][0]
    assert re.sub(r'from \S+;', '', quoted) == re.sub(r'from \S+;', '', logged)
