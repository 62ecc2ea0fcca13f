# Copyright (c) medvlp contributors. All rights reserved.
"""build_mesh_vocab.py writes where the user says and leaves shipped resources alone."""
import pytest

from medvlp.text.resources import MESH_SEED_FILE, MESH_VOCAB_FILE, resource_path
from .helpers import load_tool


@pytest.fixture(scope='module')
def tool():
    return load_tool('dataset_converters/build_mesh_vocab.py')


def test_out_is_required(tool, capsys):
    with pytest.raises(SystemExit):
        tool.main(['mesh.csv'])
    assert '--out' in capsys.readouterr().err


def test_shipped_vocabulary_is_not_overwritten_without_force(tool, shared_data, tmp_path,
                                                             capsys, monkeypatch):
    mesh_csv = shared_data / 'vocab' / 'mesh_terms.csv'
    # the real resource path is refused (nothing is written to it)
    shipped = resource_path(MESH_VOCAB_FILE)
    with open(shipped, 'rb') as f:
        before = f.read()
    assert tool.main([str(mesh_csv), '--out', shipped]) == 1
    assert 'is a resource shipped with medvlp' in capsys.readouterr().err
    with open(shipped, 'rb') as f:
        assert f.read() == before
    # --force replaces it: shown on a stand-in resource folder, not the shared checkout's
    fake = tmp_path / 'radiology_mesh.tsv'
    fake.write_text('old\n')
    seed = ['--seed', resource_path(MESH_SEED_FILE)]
    monkeypatch.setattr(tool, 'resource_path', lambda name: str(tmp_path / name))
    assert tool.main([str(mesh_csv), *seed, '--out', str(fake)]) == 1
    assert fake.read_text() == 'old\n'
    assert tool.main([str(mesh_csv), *seed, '--out', str(fake), '--force']) == 0
    assert fake.read_bytes() == before  # the deterministic rebuild of the shipped file
