"""The bundled encoder extended with Chinese characters (core/encoder_vocab.py)."""

from __future__ import annotations

import json

import pytest

from core.encoder_vocab import chinese_share, common_characters, extend_encoder


@pytest.mark.unit
def test_common_characters_and_chinese_share() -> None:
    top = common_characters(3500)
    assert len(top) == 3500 and len(set(top)) == 3500
    assert {"的", "是", "不", "码", "质", "量"} <= set(top)
    assert chinese_share(["质量很好", "runs small", "", "尺码偏小 but ok"]) == pytest.approx(2 / 3)


@pytest.mark.integration
def test_the_extended_encoder_reads_chinese(tmp_path) -> None:
    from transformers import AutoModel, AutoTokenizer

    from core.modeling import base_model_path

    base = base_model_path()
    before = AutoTokenizer.from_pretrained(base).tokenize("尺码偏小，希望有大码")
    assert before.count("[UNK]") >= 5  # the bundled vocabulary cannot read it
    texts = [
        "质量很好，穿着很舒服，就是尺码偏小",
        "衣服起球了，想退货",
        "发货太慢了",
        "颜色和图片不一样",
    ]
    out = tmp_path / "encoder"
    meta = extend_encoder(base, out, texts * 8, minutes=5, max_steps=2, batch_size=8)
    assert meta["steps"] == 2 and meta["added_characters"] > 3000
    assert not (tmp_path / "encoder.partial").exists()  # written aside, then moved in place
    tokenizer = AutoTokenizer.from_pretrained(out)
    tokens = tokenizer.tokenize("尺码偏小，希望有大码")
    assert "[UNK]" not in tokens and tokens[:2] == ["尺", "码"]
    assert tokenizer.tokenize("runs small") == ["runs", "small"]  # English reads as before
    model = AutoModel.from_pretrained(out)
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer)
    saved = json.loads((out / "shoplens_extension.json").read_text())
    assert saved["vocabulary"] == len(tokenizer) and saved["texts"] == 32
