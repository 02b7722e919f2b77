"""Tiny BERTs (one per predictive task) and a tiny BART, made with the real libraries from a
fixed seed: a WordPiece tokenizer trained by `tokenizers` on the shared corpus, 2 layers,
32-wide, saved by `save_pretrained` as safetensors. A BERT without a task head (BertModel)
serves text_embedding; its config names no task, so `--task` must say it."""

from __future__ import annotations

from pathlib import Path

import torch
import transformers
from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

BERT_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
BERT_HEADS = {
    "bert-seq": ("BertForSequenceClassification", {"num_labels": 3}),
    "bert-tok": ("BertForTokenClassification", {"num_labels": 4}),
    "bert-mlm": ("BertForMaskedLM", {}),
    "bert-emb": ("BertModel", {}),
}


def bert_tokenizer(corpus: list[str]) -> transformers.PreTrainedTokenizerFast:
    raw = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    raw.normalizer = normalizers.BertNormalizer(lowercase=True)
    raw.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    raw.decoder = decoders.WordPiece()
    raw.train_from_iterator(
        corpus, trainer=trainers.WordPieceTrainer(vocab_size=300, special_tokens=BERT_SPECIAL)
    )
    cls, sep = raw.token_to_id("[CLS]"), raw.token_to_id("[SEP]")
    raw.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    return transformers.BertTokenizerFast(
        tokenizer_object=raw,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def build_berts(root: Path, corpus: list[str]) -> dict[str, Path]:
    tokenizer = bert_tokenizer(corpus)
    made = {}
    for name, (cls_name, extra) in BERT_HEADS.items():
        torch.manual_seed(1)
        config = transformers.BertConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=64,
            **extra,
        )
        model = getattr(transformers, cls_name)(config)
        made[name] = root / name
        model.save_pretrained(made[name])
        tokenizer.save_pretrained(made[name])
    return made


def build_bart(root: Path, tokenizer: transformers.PreTrainedTokenizerFast) -> Path:
    torch.manual_seed(2)
    config = transformers.BartConfig(
        vocab_size=len(tokenizer),
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=64,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.bos_token_id,
        forced_bos_token_id=None,
        forced_eos_token_id=None,
    )
    model = transformers.BartForConditionalGeneration(config)
    directory = root / "tiny-bart"
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
