"""The tiny GPT-2 the Hugging Face tests and the LLM bench cell serve, made with the real
libraries: a byte-level BPE tokenizer trained by `tokenizers` on a fixed corpus, with a chat
template, and a GPT-2 of 2 layers and 32-wide embeddings from a fixed seed, saved by
`save_pretrained` as safetensors. Needs torch, transformers and tokenizers (the torch venv)."""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "a model server answers requests for predictions",
    "kserve serves models on kubernetes with an openai compatible api",
    "hello world, how are you today? I am fine, thank you.",
    "user: what is the capital of france? assistant: paris is the capital.",
    "élan café naïve: accents are bytes too",
] * 20
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
NAME = "tiny-gpt2"


def build(root: Path, *, positions: int = 64, name: str = NAME) -> Path:
    """Save the model under root/name; `positions` is its context length (n_positions)."""
    import torch
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    raw.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    raw.train_from_iterator(CORPUS, trainer=trainer)
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=positions,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = transformers.GPT2LMHeadModel(config)
    directory = root / name
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
