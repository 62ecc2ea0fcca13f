# Copyright (c) medvlp contributors. All rights reserved.
"""Retrieval indexes over the demo notes and X-rays: file round trip, own note found."""
import pytest
import torch

from demo_pretrain import DEMO_PRETRAIN_CONFIGS as CONFIGS
from medvlp.apis import ImageReportRetriever, RetrievalIndex
from medvlp.utils import UserError

pytestmark = pytest.mark.slow
TOPK = 10


def test_own_note_in_top_k_more_often_than_chance(short_joimternet_run, demo_records,
                                                   tmp_path):
    config, checkpoint = short_joimternet_run
    retriever = ImageReportRetriever(str(config), str(checkpoint), text_source='note')
    ids = [r['study_id'] for r in demo_records]
    index = retriever.build_index(reports=[r['report'] for r in demo_records], report_ids=ids,
                                  images=[r['img_path'] for r in demo_records], image_ids=ids)
    images = [r['img_path'] for r in demo_records]
    before = retriever.search(index, images=images, topk=TOPK)

    path = index.save(str(tmp_path / 'demo.index.pth'))
    loaded = RetrievalIndex.load(path)
    assert repr(loaded) == repr(index) == 'RetrievalIndex(100 reports, 100 images; ' \
        'JoImTeRNet, 64-d)'
    assert torch.equal(loaded.collections['report']['embeddings'],
                       index.collections['report']['embeddings'])
    after = retriever.search(loaded, images=images, topk=TOPK)
    assert [[h['id'] for h in hits] for hits in after] == \
        [[h['id'] for h in hits] for hits in before]
    assert all(len(hits) == TOPK and hits[0]['rank'] == 1 and
               all(a['score'] >= b['score'] for a, b in zip(hits, hits[1:]))
               for hits in after)

    found = sum(own in [h['id'] for h in hits] for own, hits in zip(ids, after))
    chance = TOPK / len(ids) * len(ids)  # expected hits of a random ranking: 10 of 100
    assert found > 1.5 * chance, (f'own note in the top {TOPK} for {found} of {len(ids)} demo '
                                  f'images; chance is {chance:.0f}')
    # and the other way: a note finds its X-ray
    by_note = retriever.search(loaded, reports=[r['report'] for r in demo_records[:30]],
                               topk=TOPK)
    assert all(hits[0]['item'].endswith('.png') for hits in by_note)


def test_medim_index_and_wrong_models(medim_model, demo_records, demo_pretrain_checkpoints,
                                      repo_root, tmp_path):
    retriever = ImageReportRetriever(medim_model)
    records = demo_records[:6]
    index = retriever.build_index(reports=records, images=[r['img_path'] for r in records])
    loaded = RetrievalIndex.load(index.save(str(tmp_path / 'medim.index.pth')))
    hits = retriever.search(loaded, images=[records[0]['img_path']], topk=3)[0]
    assert [h['rank'] for h in hits] == [1, 2, 3]
    assert hits[0]['item'] == records[hits[0]['index']]['report']
    image_hits = retriever.search(loaded, images=[records[2]['img_path']], target='image')[0]
    assert image_hits[0]['id'] == records[2]['img_path']  # an image is its own nearest image

    other = ImageReportRetriever(str(repo_root / CONFIGS['joimternet']),
                                 str(demo_pretrain_checkpoints['joimternet']))
    with pytest.raises(UserError, match='the index was built with another model'):
        other.search(loaded, reports=['Pleural effusion.'])
    with pytest.raises(UserError, match=r'retrieval needs an image-report alignment model'):
        ImageReportRetriever(str(repo_root / CONFIGS['mrm']),
                             str(demo_pretrain_checkpoints['mrm']))
    bogus = tmp_path / 'bogus.pth'
    torch.save({'state_dict': {}}, bogus)
    with pytest.raises(UserError, match='is not a medvlp retrieval index'):
        RetrievalIndex.load(str(bogus))
