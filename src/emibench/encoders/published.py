"""The published architectures of the paper's and TAEMI's models, as their hub repos declare them.

Each dict holds the values of the repo's ``config.json`` (and ``preprocessor_config.json``) that
shape the network or its input; training-only values (dropouts, masking) are kept where the
transformers config class reads them, so a model built from these dicts has the published layer
shapes. ``emibench make-rehearsal-models`` builds random-initialised models from them
(:mod:`emibench.encoders.rehearsal`). Values marked "unsure" in docs/rehearsal.md were written from
knowledge of the published files, not read from them (no hub access here).
"""

from __future__ import annotations

from typing import Any

# open_clip ViT-B-16 / "openai" is the OpenAI CLIP checkpoint; open_clip resolves the tag to this
# hub repo and reads ``open_clip_model.safetensors`` there (fp32, like the published file).
CLIP_REPO = "timm/vit_base_patch16_clip_224.openai"
CLIP_ARCH, CLIP_TAG = "ViT-B-16", "openai"

# The paper's 1024-d audio encoder (section 3.1): self-supervised Wav2Vec2 2.0 large on LibriLight.
WAV2VEC2_LARGE_LV60: dict[str, Any] = {
    "architectures": ["Wav2Vec2ForPreTraining"],
    "hidden_size": 1024,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "intermediate_size": 4096,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-5,
    "do_stable_layer_norm": True,
    "feat_extract_norm": "layer",
    "feat_extract_activation": "gelu",
    "conv_bias": True,
    "conv_dim": [512] * 7,
    "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
    "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "num_feat_extract_layers": 7,
    "num_conv_pos_embeddings": 128,
    "num_conv_pos_embedding_groups": 16,
    "num_codevector_groups": 2,
    "num_codevectors_per_group": 320,
    "codevector_dim": 768,
    "proj_codevector_dim": 768,
    "num_negatives": 100,
    "contrastive_logits_temperature": 0.1,
    "diversity_loss_weight": 0.1,
    "hidden_dropout": 0.1,
    "attention_dropout": 0.1,
    "activation_dropout": 0.0,
    "feat_proj_dropout": 0.1,
    "feat_quantizer_dropout": 0.0,
    "final_dropout": 0.0,
    "layerdrop": 0.1,
    "apply_spec_augment": True,
    "mask_time_prob": 0.05,
    "mask_time_length": 10,
    "mask_feature_prob": 0.0,
    "mask_feature_length": 10,
    "initializer_range": 0.02,
    "vocab_size": 32,
    "pad_token_id": 0,
    "bos_token_id": 1,
    "eos_token_id": 2,
}

WAV2VEC2_FEATURE_EXTRACTOR: dict[str, Any] = {
    "feature_size": 1,
    "sampling_rate": 16000,
    "padding_value": 0.0,
    "padding_side": "right",
    "do_normalize": True,
    "return_attention_mask": True,
}

# TAEMI's audio encoder: wav2vec2-large-robust pruned to 12 layers, fine-tuned on MSP-Podcast for
# arousal, dominance and valence. The regression head (``classifier.dense`` 1024 -> 1024, tanh,
# ``classifier.out_proj`` 1024 -> 3) is defined by the model card's own code on top of
# ``Wav2Vec2Model``; its weights are in the checkpoint.
WAV2VEC2_EMOTION_MSP_DIM: dict[str, Any] = {
    **WAV2VEC2_LARGE_LV60,
    "architectures": ["Wav2Vec2ForSpeechClassification"],
    "num_hidden_layers": 12,
    "activation_dropout": 0.1,
    "final_dropout": 0.1,
    "vocab_size": None,
    "id2label": {"0": "arousal", "1": "dominance", "2": "valence"},
    "label2id": {"arousal": 0, "dominance": 1, "valence": 2},
    "problem_type": "regression",
    "finetuning_task": "wav2vec2_reg",
    "pooling_mode": "mean",
}

BERT_BASE_UNCASED: dict[str, Any] = {
    "architectures": ["BertForMaskedLM"],
    "vocab_size": 30522,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
    "position_embedding_type": "absolute",
}

# TAEMI's documented fallback for Alibaba-NLP/gte-en-mlm-base (which needs remote modeling code).
DISTILBERT_BASE_UNCASED: dict[str, Any] = {
    "architectures": ["DistilBertForMaskedLM"],
    "vocab_size": 30522,
    "dim": 768,
    "n_layers": 6,
    "n_heads": 12,
    "hidden_dim": 3072,
    "activation": "gelu",
    "dropout": 0.1,
    "attention_dropout": 0.1,
    "max_position_embeddings": 512,
    "sinusoidal_pos_embds": False,
    "initializer_range": 0.02,
    "qa_dropout": 0.1,
    "seq_classif_dropout": 0.2,
    "pad_token_id": 0,
    "tie_weights_": True,
}

# Tokenizer settings of both uncased WordPiece models (their vocab.txt is the same 30,522 entries).
UNCASED_TOKENIZER: dict[str, Any] = {"do_lower_case": True, "model_max_length": 512}

VIT_BASE_PATCH16_224_IN21K: dict[str, Any] = {
    "architectures": ["ViTModel"],
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-12,
    "image_size": 224,
    "patch_size": 16,
    "num_channels": 3,
    "qkv_bias": True,
}

VIT_IMAGE_PROCESSOR: dict[str, Any] = {
    "do_resize": True,
    "size": {"height": 224, "width": 224},
    "resample": 2,
    "do_rescale": True,
    "rescale_factor": 1 / 255,
    "do_normalize": True,
    "image_mean": [0.5, 0.5, 0.5],
    "image_std": [0.5, 0.5, 0.5],
}

# Whisper large-v3-turbo: large-v3's 32-layer encoder with 4 decoder layers; 128 mel bins; the
# multilingual vocabulary with 100 languages (51,866 ids). The published weights are float16.
WHISPER_LARGE_V3_TURBO: dict[str, Any] = {
    "architectures": ["WhisperForConditionalGeneration"],
    "vocab_size": 51866,
    "num_mel_bins": 128,
    "d_model": 1280,
    "encoder_layers": 32,
    "decoder_layers": 4,
    "encoder_attention_heads": 20,
    "decoder_attention_heads": 20,
    "encoder_ffn_dim": 5120,
    "decoder_ffn_dim": 5120,
    "activation_function": "gelu",
    "max_source_positions": 1500,
    "max_target_positions": 448,
    "scale_embedding": False,
    "dropout": 0.0,
    "attention_dropout": 0.0,
    "activation_dropout": 0.0,
    "encoder_layerdrop": 0.0,
    "decoder_layerdrop": 0.0,
    "init_std": 0.02,
    "apply_spec_augment": False,
    "median_filter_width": 7,
    "use_weighted_layer_sum": False,
    "classifier_proj_size": 256,
    "pad_token_id": 50257,
    "bos_token_id": 50257,
    "eos_token_id": 50257,
    "decoder_start_token_id": 50258,
    "begin_suppress_tokens": [220, 50257],
    "use_cache": True,
}

# Whisper large-v3 (TAEMI's authors' ASR): large-v3-turbo's architecture with all 32 decoder
# layers; the published weights are float16 too.
WHISPER_LARGE_V3: dict[str, Any] = {**WHISPER_LARGE_V3_TURBO, "decoder_layers": 32}

WHISPER_FEATURE_EXTRACTOR: dict[str, Any] = {
    "feature_size": 128,
    "sampling_rate": 16000,
    "hop_length": 160,
    "chunk_length": 30,
    "n_fft": 400,
    "padding_value": 0.0,
    "return_attention_mask": False,
}

# Generation settings of large-v3-turbo that are not derived from the tokenizer (lang_to_id,
# task_to_id, the special ids and suppress_tokens are derived from openai-whisper's vocabulary).
WHISPER_GENERATION: dict[str, Any] = {
    "max_length": 448,
    "max_initial_timestamp_index": 50,
    "return_timestamps": False,
    "is_multilingual": True,
}
