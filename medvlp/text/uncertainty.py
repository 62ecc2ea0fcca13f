# Copyright (c) medvlp contributors. All rights reserved.
"""Uncertainty of MeSH matches ("may represent *pneumonia*", "*effusion* is not excluded").

The same NegEx-style scopes as :mod:`medvlp.text.negation` with trigger phrases drawn from
the NegBio uncertainty patterns (``negbio/patterns/uncertainty_patterns.txt``, Peng et al.,
AMIA 2018, a US Government work) and CheXpert's pre-/post-uncertainty lists. NegBio applies
its patterns to a dependency graph; medvlp has no parser, so each pattern is written here as
the surface phrases it describes:

* **pre-uncertainty triggers** cover the following words (up to ``max_scope``): hedging
  words ("possible", "probable", "questionable", "suspected", "likely"), suggestion and
  concern ("suggestive of", "concerning for", "suspicious for", "question of"), modal
  readings ("may represent", "could reflect", "may be due to", "may be compatible with"),
  non-exclusion ("cannot exclude", "cannot rule out", "to rule out"), a differential
  ("differential diagnosis includes", "versus") and "secondary to";
* **post-uncertainty triggers** cover the preceding words (up to ``max_post_scope``): "is
  not excluded", "cannot be excluded", "is suspected", "is likely", "is possible", "is
  questioned";
* scopes end at the sentence end and at the negation terminators ("but", "however",
  ";", ...); pseudo-triggers ("not suspicious", "no suspicious", "unlikely to represent")
  block the triggers they contain.

Negation and uncertainty are independent flags: "no definite pneumonia, possibly early"
can be both; a finding counts as positive when it is neither.
"""
from .negation import TERMINATORS, ScopeCueDetector

PRE_UNCERTAINTY = (
    'possible', 'possibly', 'presumably', 'presumed', 'probable', 'probably',
    'questionable', 'question of', 'questioned', 'suspect', 'suspected', 'suspicious for',
    'suspicion of', 'suspicion for', 'concern for', 'concerning for', 'worrisome for',
    'suggestion of', 'suggest', 'suggests', 'suggesting', 'suggestive of', 'consider',
    'considered', 'favor', 'favored', 'favoring', 'likely', 'most likely', 'may represent',
    'could represent', 'might represent', 'may reflect', 'could reflect', 'might reflect',
    'may indicate', 'could indicate', 'may include', 'could include', 'may be', 'could be',
    'might be', 'may be due to', 'could be due to', 'possibly due to', 'may be related to',
    'could be related to', 'may be compatible with', 'could be compatible with',
    'may relate to', 'cannot exclude', 'can not exclude', 'cannot rule out',
    'can not rule out', 'rule out', 'to rule out', 'r / o', 'differential diagnosis',
    'differential diagnosis includes', 'differential includes', 'versus', 'vs', 'equivocal',
    'indeterminate', 'secondary to', 'question left', 'uncertain', 'not certain')
POST_UNCERTAINTY = (
    'is possible', 'are possible', 'is suspected', 'are suspected', 'is likely', 'are likely',
    'is probable', 'is questioned', 'are questioned', 'is considered', 'is favored',
    'is not excluded', 'are not excluded', 'not excluded', 'is not ruled out',
    'not ruled out', 'cannot be excluded', 'can not be excluded', 'could not be excluded',
    'cannot be ruled out', 'can not be ruled out', 'not be excluded', 'not be ruled out',
    'is a possibility', 'not entirely excluded', 'is not entirely excluded')
PSEUDO_UNCERTAINTY = (
    'not suspicious', 'no suspicious', 'not likely', 'unlikely', 'unlikely to represent',
    'no question', 'without question')
#: Negation terminators, without the phrases that are uncertainty triggers here.
UNCERTAINTY_TERMINATORS = tuple(
    t for t in TERMINATORS if t not in ('concerning for', 'suspicious for', 'worrisome for'))


class UncertaintyDetector(ScopeCueDetector):
    """Mark MeSH matches whose mention is uncertain (rules in the module docstring).

    Args:
        max_scope (int): Longest forward scope of a pre-uncertainty trigger, in words.
            Defaults to 20.
        max_post_scope (int): Longest backward scope of a post-uncertainty trigger, in
            words. Defaults to 8.
    """

    flag = 'uncertain'
    PRE = PRE_UNCERTAINTY
    POST = POST_UNCERTAINTY
    PSEUDO = PSEUDO_UNCERTAINTY
    TERMINATORS = UNCERTAINTY_TERMINATORS
