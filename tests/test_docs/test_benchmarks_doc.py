# Copyright (c) medvlp contributors. All rights reserved.
"""docs/en/benchmarks.md: the cxr-mini results are the runner's block, and the prose quotes
that block's numbers (so a rerun that changes them makes this test point at the text)."""
import re

import pytest

DOC = 'docs/en/benchmarks.md'
METHODS = ('random', 'mae', 'medim', 'medim_random_masks', 'mrm', 'joimternet')


def _summary(text):
    block = text.split('<!-- benchmark:cxr-mini:begin -->')[1].split(
        '<!-- benchmark:cxr-mini:end -->')[0]
    assert block.startswith('\n<!-- written by tools/benchmark.py --doc; do not edit -->')
    rows = {}
    table = block.split('#### Summary')[1].split('\n\n')[1]
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip('|').split('|')]
        rows[cells[0]] = [float(c.split()[0]) if c != '-' else None for c in cells[1:]]
    return block, rows


def test_cxr_mini_block_is_generated_with_three_seeds_per_cell(repo_root):
    text = (repo_root / DOC).read_text(encoding='utf-8')
    block, rows = _summary(text)
    assert set(rows) == set(METHODS)
    assert block.count('(n=3)') >= 6 * 4 + 3 * 3
    assert '96 cells (0 failed)' in block
    image = re.search(r'!\[cxr-mini results\]\((images/[^)]+\.png)\)', block).group(1)
    assert (repo_root / 'docs/en' / image).stat().st_size > 10_000
    assert '--preset cxr-mini --jobs 2' in block


@pytest.mark.parametrize('method, column, quoted', [
    ('medim', 0, 0.673), ('medim_random_masks', 0, 0.676), ('random', 0, 0.60),
    ('medim', 1, 0.627), ('medim_random_masks', 1, 0.605),
    ('medim', 4, 14.6), ('medim_random_masks', 4, 16.8), ('joimternet', 4, 12.6),
])
def test_prose_quotes_the_generated_numbers(repo_root, method, column, quoted):
    text = (repo_root / DOC).read_text(encoding='utf-8')
    _, rows = _summary(text)
    prose = text.split('### What the numbers show')[1].split('### The published')[0]
    assert str(quoted) in prose
    digits = len(str(quoted).split('.')[1])
    # the table keeps 4 significant digits; the prose rounds them
    assert rows[method][column] == pytest.approx(quoted, abs=0.6 * 10 ** -digits)
