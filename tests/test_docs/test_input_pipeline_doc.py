# Copyright (c) medvlp contributors. All rights reserved.
"""docs/en/input_pipeline.md: its commands run with the tools' real options, its pipeline
snippet is the config's, and the prose quotes the paired table's numbers."""
import re
import shlex

import pytest
from mmengine.config import Config

from tool_calls import load_tool

DOC = 'docs/en/input_pipeline.md'


def _doc(repo_root) -> str:
    return (repo_root / DOC).read_text(encoding='utf-8')


def test_benchmark_commands_parse_with_the_tools_options(repo_root):
    commands = re.findall(r'python (tools/analysis_tools/benchmark_\w+\.py)([^\n`]*)',
                          _doc(repo_root))
    assert {tool for tool, _ in commands} >= {'tools/analysis_tools/benchmark_loader.py',
                                               'tools/analysis_tools/benchmark_text_pipeline.py'}
    for tool, args in commands:
        module = load_tool(tool.split('tools/', 1)[1])
        try:
            module.parse_args(shlex.split(args))
        except SystemExit as e:  # argparse refuses an option the tool does not have
            pytest.fail(f'{tool}{args}: argparse exit {e.code}')


def test_pipeline_snippet_is_the_configs(repo_root):
    snippet = _doc(repo_root).split('```python\n', 1)[1].split('```', 1)[0]
    pipeline = snippet.split('train_pipeline = [', 1)[1].split('\n]', 1)[0]
    documented = []
    for entry in pipeline.split('dict(type=')[1:]:
        channels = re.search(r'channels=(\d)', entry)
        documented.append((entry.split("'")[1], channels and int(channels.group(1))))
    cfg = Config.fromfile(str(repo_root / 'configs/_base_/datasets/mimic_cxr_report.py'))
    actual = [(t['type'], t.get('channels')) for t in cfg.train_pipeline]
    assert documented == actual
    loader = cfg.train_dataloader
    for key in ('batch_size', 'num_workers', 'persistent_workers', 'pin_memory',
                'prefetch_factor'):
        assert f'{key}={loader[key]}' in snippet, key
    assert f"collate_fn=dict(type='{loader.collate_fn['type']}')" in snippet


def _paired_medians(text: str, header: str, rows: int) -> list:
    """The medians of the 'after' column (the third) of a paired table."""
    table = text.split(header)[1].split('\n\n')[0]
    medians = [line.strip('|').split('|')[2].replace('*', '').split()[0]
               for line in table.splitlines()[2:]]
    assert len(medians) == rows, (header, medians)
    return medians


def test_prose_quotes_the_paired_medians(repo_root):
    text = _doc(repo_root)
    medians = _paired_medians(text, '| per core | before', 5)
    pgm = _paired_medians(text, '| per core | JPEG (quality 95) | PGM', 4)
    targets = text.split('## What is left')[1].split('* **Where')[0]
    quoted = re.findall(r'\((\d[\d,]+)(?: samples/s| reports/s)?\)', targets)
    assert len(quoted) == 4 and set(quoted[:3]) <= set(medians), (quoted, medians)
    assert quoted[3] == pgm[1], (quoted, pgm)  # the PGM worker
