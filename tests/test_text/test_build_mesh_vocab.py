# Copyright (c) medvlp contributors. All rights reserved.
"""tools/dataset_converters/build_mesh_vocab.py against the real MeSH term list."""
import pytest

from medvlp.text.resources import MESH_SEED_FILE, MESH_VOCAB_FILE, resource_path
from .helpers import load_tool, run_tool_process


@pytest.fixture(scope='module')
def tool():
    return load_tool('dataset_converters/build_mesh_vocab.py')


@pytest.fixture(scope='module')
def mesh_csv(shared_data):
    path = shared_data / 'vocab' / 'mesh_terms.csv'
    if not path.is_file():
        pytest.skip(f'real data not found at {path}; set MEDVLP_SHARED_DATA')
    return path


def test_rebuild_reproduces_shipped_vocabulary(tool, mesh_csv, tmp_path, capsys):
    out = tmp_path / 'radiology_mesh.tsv'
    assert tool.main([str(mesh_csv), '--out', str(out)]) == 0
    assert 'headings' in capsys.readouterr().out
    with open(resource_path(MESH_VOCAB_FILE), 'rb') as f:
        assert out.read_bytes() == f.read()


def test_unknown_heading_is_an_error(tool, mesh_csv, tmp_path, capsys):
    seed = tmp_path / 'seed.tsv'
    with open(resource_path(MESH_SEED_FILE), encoding='utf-8') as f:
        seed.write_text(f.read() + 'Lung Opacity Syndrome\topacity syndrome\n', encoding='utf-8')
    out = tmp_path / 'out.tsv'
    assert tool.main([str(mesh_csv), '--seed', str(seed), '--out', str(out)]) == 1
    err = capsys.readouterr().err
    assert "'Lung Opacity Syndrome' is not a MeSH descriptor heading" in err
    assert '--allow-missing' in err and not out.exists()
    assert tool.main([str(mesh_csv), '--seed', str(seed), '--out', str(out),
                      '--allow-missing']) == 0
    assert 'warning' in capsys.readouterr().err
    assert 'Lung Opacity Syndrome' not in out.read_text(encoding='utf-8')


def test_seed_errors(tool, mesh_csv, tmp_path, capsys):
    seed = tmp_path / 'seed.tsv'
    seed.write_text('Pneumothorax\tpneumothorax\nPleural Effusion\tPneumothoraces\n')
    assert tool.main([str(mesh_csv), '--seed', str(seed), '--out', str(tmp_path / 'o')]) == 1
    assert 'clashes' in capsys.readouterr().err
    seed.write_text('Pneumothorax pneumothorax\n')
    assert tool.main([str(mesh_csv), '--seed', str(seed), '--out', str(tmp_path / 'o')]) == 1
    assert 'seed.tsv:1' in capsys.readouterr().err
    assert tool.main([str(tmp_path / 'none.csv'), '--out', str(tmp_path / 'o')]) == 1


@pytest.mark.slow
def test_command_line_exit_status(mesh_csv, tmp_path):
    seed = tmp_path / 'seed.tsv'
    seed.write_text('Not A Heading\tnot a heading\n')
    proc = run_tool_process('dataset_converters/build_mesh_vocab.py', mesh_csv,
                            '--seed', seed, '--out', tmp_path / 'o.tsv')
    assert proc.returncode == 1 and "'Not A Heading'" in proc.stderr
