"""Whisper tokenizers made offline: Whisper's special and timestamp tokens over a byte-level BPE.

- :func:`whisper_tokenizer` lays Whisper's special tokens (``<|endoftext|>``,
  ``<|startoftranscript|>``, the 100 language tokens, ``<|translate|>``, ``<|transcribe|>``,
  ``<|startoflm|>``, ``<|startofprev|>``, ``<|nospeech|>``, ``<|notimestamps|>``) and then the
  1,501 timestamp tokens ``<|0.00|>`` .. ``<|30.00|>`` over any byte-level BPE vocabulary, in
  Whisper's order, so language detection and timestamp logic work unchanged.
- :func:`multilingual_tokenizer` is Whisper's real multilingual tokenizer (large-v3 and turbo:
  51,866 ids), built from the tiktoken vocabulary that the ``openai-whisper`` package ships
  (``whisper/assets/multilingual.tiktoken``) and checked against that package's own encoder.
"""

from __future__ import annotations

from pathlib import Path

N_TIMESTAMPS = 1501  # <|0.00|> .. <|30.00|> in steps of 20 ms
CHECK_TEXTS = (
    "Hello world, I'm so happy to see you again!",
    " ça va? 日本語のテキスト 12345",
    "  two spaces\n\nand new lines",
)


def special_tokens() -> list[str]:
    """Whisper's special tokens in id order, end-of-text first (timestamps not included)."""
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    return [
        "<|endoftext|>",
        "<|startoftranscript|>",
        *[f"<|{code}|>" for code in LANGUAGES],
        "<|translate|>",
        "<|transcribe|>",
        "<|startoflm|>",
        "<|startofprev|>",
        "<|nospeech|>",
        "<|notimestamps|>",
    ]


def whisper_tokenizer(vocab: dict[str, int], merges: list[tuple[str, str]]):
    """A ``WhisperTokenizer`` over the BPE ``vocab``/``merges`` with Whisper's added tokens.

    The special tokens take the ids right after the vocabulary, the timestamps right after them.
    """
    from tokenizers import AddedToken
    from transformers import WhisperTokenizer

    tokenizer = WhisperTokenizer(vocab=vocab, merges=merges, pad_token="<|endoftext|>")
    tokenizer.add_special_tokens(
        {
            "additional_special_tokens": [
                AddedToken(t, special=True, normalized=False) for t in special_tokens()[1:]
            ]
        }
    )
    # Timestamps are ordinary added tokens placed right after the last special token, as in Whisper.
    timestamps = [
        AddedToken(f"<|{i * 0.02:.2f}|>", special=False, normalized=False)
        for i in range(N_TIMESTAMPS)
    ]
    tokenizer.add_tokens(timestamps)
    if tokenizer.convert_tokens_to_ids("<|0.00|>") != (
        tokenizer.convert_tokens_to_ids("<|notimestamps|>") + 1
    ):
        raise RuntimeError("whisper tokenizer: timestamp tokens do not follow <|notimestamps|>")
    return tokenizer


def tiktoken_path() -> Path:
    """``multilingual.tiktoken`` inside the installed ``openai-whisper`` package."""
    try:
        import whisper
    except ImportError as exc:
        raise ImportError(
            "Whisper's real tokenizer is built from the openai-whisper package's tiktoken "
            "vocabulary: pip install openai-whisper"
        ) from exc
    return Path(whisper.__file__).parent / "assets" / "multilingual.tiktoken"


def multilingual_tokenizer():
    """Whisper's multilingual tokenizer (100 languages, 51,866 ids) from ``openai-whisper``.

    Raises:
        RuntimeError: the converted tokenizer encodes a check text or a special token differently
            from openai-whisper's own tiktoken encoder.
    """
    from transformers.convert_slow_tokenizer import TikTokenConverter
    from whisper.tokenizer import get_tokenizer

    path = str(tiktoken_path())
    vocab, merges = TikTokenConverter(vocab_file=path).extract_vocab_merges_from_model(path)
    tokenizer = whisper_tokenizer(vocab, merges)
    reference = get_tokenizer(multilingual=True, num_languages=100)
    for text in CHECK_TEXTS:
        if tokenizer.encode(text, add_special_tokens=False) != reference.encode(text):
            raise RuntimeError(f"whisper tokenizer: {text!r} encodes unlike openai-whisper")
    for token in (*special_tokens(), "<|0.00|>", "<|30.00|>"):
        if tokenizer.convert_tokens_to_ids(token) != reference.encoding.encode_single_token(token):
            raise RuntimeError(f"whisper tokenizer: {token} has another id than in openai-whisper")
    return tokenizer
