# Copyright (c) medvlp contributors. All rights reserved.
"""split_words and the normalisation shared by the MeSH matcher and negation."""
import pytest

from medvlp.text import normalise_word, split_words
from medvlp.text.words import word_spans


def test_split_words_keeps_compounds_numbers_and_placeholders():
    sentence = ("No pneumothorax, well-expanded lungs; 1.5cm nodule at T7-T8 (16.2/24.7). "
                "Patient's x-___ e.g. covid-19 — Épanchement ___F 10:30")
    assert split_words(sentence) == [
        'No', 'pneumothorax', ',', 'well-expanded', 'lungs', ';', '1.5cm', 'nodule', 'at',
        'T7-T8', '(', '16.2/24.7', ')', '.', "Patient's", 'x', '-', '___', 'e', '.', 'g', '.',
        'covid-19', '—', 'Épanchement', '___', 'F', '10:30']
    assert split_words('effusion.No') == ['effusion', '.', 'No']
    assert split_words('   ') == []


def test_word_spans_match_split_words():
    sentence = 'Small  left-sided effusion (1.5 cm).'
    assert [sentence[a:b] for a, b in word_spans(sentence)] == split_words(sentence)


@pytest.mark.parametrize('word, key', [
    ('Effusions', 'effusion'), ('Opacities', 'opacity'), ('masses', 'mass'),
    ('kyphoses', 'kyphosis'), ('vertebrae', 'vertebra'), ('atelectases', 'atelectasis'),
    ('pneumothoraces', 'pneumothorax'), ('Pneumo-thorax', 'pneumothorax'),
    ('hyper-inflation', 'hyperinflation'), ('nodules', 'nodule'), ('diseases', 'disease'),
    ('lungs', 'lung'), ('ribs', 'rib'), ("patient's", 'patient'), ('this', 'this'),
    ('has', 'has'), ('atelectasis', 'atelectasis'), ('hiatus', 'hiatus'), ('.', '.'),
    ('1.5cm', '1.5cm'), ('covid-19', 'covid19'), ('branches', 'branch'),
])
def test_normalise_word(word, key):
    assert normalise_word(word) == key
