# Copyright (c) medvlp contributors. All rights reserved.
"""Image -> report and report -> image retrieval: Recall@K and mean rank."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from medvlp.registry import METRICS

TIE_MODES = ('pessimistic', 'random')


def retrieval_ranks(sim: torch.Tensor,
                    relevant: torch.Tensor,
                    ties: str = 'pessimistic',
                    generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """1-based rank of the best-ranked relevant item for every query.

    A tie is not a hit. With ``ties='pessimistic'`` the rank is one plus the number of
    irrelevant candidates scoring at least as high as the best relevant one (for one relevant
    candidate: the number of candidates scoring >= the true one), so collapsed embeddings,
    where every score ties, rank every query last. ``ties='random'`` breaks ties uniformly at
    random instead, which gives collapsed embeddings exactly the recall of chance (K / N).

    Args:
        sim (torch.Tensor): ``[Q, N]`` similarity of each query with each candidate.
        relevant (torch.Tensor): ``[Q, N]`` bool, True where the candidate matches.
        ties (str): ``'pessimistic'`` or ``'random'``. Defaults to ``'pessimistic'``.
        generator (torch.Generator, optional): Random source of ``ties='random'``.

    Returns:
        torch.Tensor: ``[Q]`` ranks (1 = the top candidate is relevant).

    Raises:
        ValueError: If a query has no relevant candidate, ``sim`` is not finite or ``ties``
            is unknown.
    """
    if ties not in TIE_MODES:
        raise ValueError(f'ties must be one of {TIE_MODES}, got {ties!r}')
    if not relevant.any(1).all():
        raise ValueError('every query needs at least one relevant candidate')
    if not torch.isfinite(sim).all():
        bad = int((~torch.isfinite(sim)).any(1).sum())
        raise ValueError(f'{bad} of {sim.size(0)} queries have non-finite (NaN/inf) '
                         'similarity scores')
    best = sim.masked_fill(~relevant, float('-inf')).max(1, keepdim=True).values
    irrelevant = ~relevant
    beaten_by = ((sim > best) & irrelevant).sum(1)
    tied = ((sim == best) & irrelevant).sum(1)
    if ties == 'pessimistic':
        return beaten_by + tied + 1
    # uniform position among the tied block: 0..tied irrelevant candidates ahead
    ahead = (torch.rand(tied.shape, generator=generator) * (tied + 1).float()).floor().long()
    return beaten_by + ahead.clamp(max=tied) + 1


def recall_at_k(ranks: torch.Tensor, topk: Sequence[int]) -> Dict[str, float]:
    """Percentage of queries whose first relevant candidate is within the top K."""
    return {f'R@{k}': (ranks <= k).float().mean().item() * 100 for k in topk}


@METRICS.register_module()
class ImageReportRetrievalMetric(BaseMetric):
    """Recall@K and mean rank for image -> report and report -> image retrieval.

    The model's ``predict`` returns, per sample, an image embedding ``img_feat`` and a
    report embedding ``txt_feat`` (any scale: they are L2-normalised here) and optionally
    ``match_key`` (e.g. the study id): a report is relevant to every image with the same
    key, so two views of one study both count as hits. Without keys, sample ``i`` matches
    only sample ``i``.

    Ties are not hits (see :func:`retrieval_ranks`): embeddings that collapsed to a constant
    score at most chance level (R@K = 0 with ``ties='pessimistic'``, K / N on average with
    ``ties='random'``), and NaN or infinite embeddings raise a ValueError naming how many
    samples have them instead of producing a score.

    ``subset_size`` evaluates on random subsets, as JoImTeRNet did with several 1,000-pair
    subsets (``subset_size=1000, num_subsets=5``); the results are averaged.

    Args:
        topk (Sequence[int]): The K of Recall@K. Defaults to (1, 5, 10).
        subset_size (int, optional): Pairs per subset; None uses all. Defaults to None.
        num_subsets (int): Number of subsets. Defaults to 1.
        seed (int): Seed of the subset draw and of random tie-breaking. Defaults to 0.
        ties (str): ``'pessimistic'`` (a tie ranks the true candidate last among the tied)
            or ``'random'``. Defaults to ``'pessimistic'``.
        collect_device (str): Device for collecting results across ranks.
        prefix (str, optional): Prefix of the metric names. Defaults to 'retrieval'.
    """
    default_prefix = 'retrieval'

    def __init__(self,
                 topk: Sequence[int] = (1, 5, 10),
                 subset_size: Optional[int] = None,
                 num_subsets: int = 1,
                 seed: int = 0,
                 ties: str = 'pessimistic',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if subset_size is None and num_subsets != 1:
            raise ValueError('num_subsets > 1 needs a subset_size')
        if ties not in TIE_MODES:
            raise ValueError(f'ties must be one of {TIE_MODES}, got {ties!r}')
        self.ties = ties
        self.topk = tuple(topk)
        self.subset_size = subset_size
        self.num_subsets = num_subsets
        self.seed = seed

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:  # dicts or mmengine data elements: both have .get
            img, txt = sample.get('img_feat'), sample.get('txt_feat')
            if img is None or txt is None:
                raise KeyError('ImageReportRetrievalMetric needs img_feat and txt_feat in '
                               "the model's predictions")
            self.results.append(dict(img=img.detach().float().cpu(),
                                     txt=txt.detach().float().cpu(),
                                     key=sample.get('match_key')))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        img = torch.stack([r['img'] for r in results])
        txt = torch.stack([r['txt'] for r in results])
        bad_img = ~torch.isfinite(img.flatten(1)).all(1)
        bad_txt = ~torch.isfinite(txt.flatten(1)).all(1)
        if bad_img.any() or bad_txt.any():
            raise ValueError(
                f'retrieval: {int((bad_img | bad_txt).sum())} of {len(results)} samples have '
                f'non-finite (NaN/inf) embeddings ({int(bad_img.sum())} image, '
                f'{int(bad_txt.sum())} report); the model diverged or its checkpoint is '
                'corrupt, so no retrieval score is reported')
        img, txt = F.normalize(img, dim=-1), F.normalize(txt, dim=-1)
        key_index: Dict = {}
        key_ids = torch.tensor([
            key_index.setdefault(r['key'] if r['key'] is not None else ('#', i),
                                 len(key_index)) for i, r in enumerate(results)])
        total = len(results)
        if self.subset_size is not None and self.subset_size > total:
            MMLogger.get_current_instance().warning(
                f'subset_size={self.subset_size} exceeds the {total} evaluated pairs; '
                'using all pairs')
        size = min(self.subset_size or total, total)
        gen = torch.Generator().manual_seed(self.seed)
        self._tie_generator = torch.Generator().manual_seed(self.seed + 1)
        summed: Dict[str, float] = {}
        for _ in range(self.num_subsets):
            idx = torch.randperm(total, generator=gen)[:size] if size < total \
                else torch.arange(total)
            metrics = self._evaluate(img[idx], txt[idx], key_ids[idx])
            for name, value in metrics.items():
                summed[name] = summed.get(name, 0.) + value / self.num_subsets
        return summed

    def _evaluate(self, img: torch.Tensor, txt: torch.Tensor,
                  key_ids: torch.Tensor) -> Dict[str, float]:
        sim = img @ txt.t()
        relevant = key_ids[:, None] == key_ids[None, :]
        out = {}
        for name, ranks in (('i2t', self._ranks(sim, relevant)),
                            ('t2i', self._ranks(sim.t(), relevant.t()))):
            out.update({f'{name}_{k}': v for k, v in recall_at_k(ranks, self.topk).items()})
            out[f'{name}_mean_rank'] = ranks.float().mean().item()
        return out

    def _ranks(self, sim: torch.Tensor, relevant: torch.Tensor) -> torch.Tensor:
        return retrieval_ranks(sim, relevant, self.ties, self._tie_generator)
