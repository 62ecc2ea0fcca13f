# Copyright (c) medvlp contributors. All rights reserved.
"""The embedded demo set is what prepare_demo_data.py makes from the source collection."""
import csv
import json

LICENCES = {'CC BY', 'CC BY-SA', 'CC BY-NC-SA'}


def test_demo_set_is_reproducible_and_redistributable(shared_data, repo_root, tmp_path,
                                                     run_tool):
    out = tmp_path / 'cxr'
    proc = run_tool('dataset_converters/prepare_demo_data.py', shared_data / 'covid-cxr', out,
                    env={'MEDVLP_NLTK_DATA': str(shared_data / 'vocab' / 'nltk_data')})
    assert 'kept 100 of 380 images' in proc.stdout
    assert 'skipped  216: licence not redistributable' in proc.stdout
    demo = repo_root / 'demo' / 'cxr'
    # the shipped annotations match the current text pipeline byte for byte
    assert (out / 'annotations.jsonl').read_bytes() == (demo / 'annotations.jsonl').read_bytes()
    assert (out / 'CREDITS.csv').read_bytes() == (demo / 'CREDITS.csv').read_bytes()
    assert sorted(p.name for p in (out / 'images').iterdir()) == \
        sorted(p.name for p in (demo / 'images').iterdir())

    with open(demo / 'CREDITS.csv', encoding='utf-8') as f:
        credits = list(csv.DictReader(f))
    assert len(credits) == 100 and len({c['patientid'] for c in credits}) == 100
    for row in credits:
        licence = ' '.join(w for w in row['license'].upper().split() if not w[0].isdigit())
        assert licence in LICENCES, row
        assert row['url'] or row['doi'], row
    records = [json.loads(line) for line in (demo / 'annotations.jsonl').read_text().splitlines()]
    assert all(r['view'] in ('PA', 'AP', 'AP Supine', 'AP Erect') for r in records)
    assert all(r['words'] and r['sentences'] for r in records)
