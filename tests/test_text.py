"""TRM on text: the TinyStories loaders (.txt, parquet, arrow), the tokenizer, causal attention, the
language-model presets, and `trm train --task tinystories --smoke`, `trm eval`, `trm generate`.

Every file is written by the test itself, in the dataset's own layouts, from the synthetic stand-in.
"""
import json
import math
import os

import numpy as np
import pytest
import torch

pytest.importorskip("tokenizers")

from trm_core import build_model, cli, compat
from trm_core import checkpoint as ckpt_io
from trm_core.config import ModelConfig
from trm_core.data import text
from trm_core.data.dataset import IGNORE_LABEL
from trm_core.data.tokenizer import EOS, TextTokenizer, gpt_neo, train_bpe
from trm_core.errors import UserError
from trm_core.lm import generate, perplexity_per_step

STORIES = text.synthetic_stories(120, seed=3)


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRM_CACHE", str(tmp_path / "cache"))  # token files land here, not in ~/.cache


@pytest.fixture
def txt(tmp_path):
    """TinyStories-train.txt and TinyStories-valid.txt, stories separated by <|endoftext|>."""
    text.write_stories(tmp_path / "TinyStories-valid.txt", STORIES[100:])
    return text.write_stories(tmp_path / "TinyStories-train.txt", STORIES[:100])


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe(STORIES, vocab_size=400)


# ----------------------------------------------------------------------------------------------
# Loaders
# ----------------------------------------------------------------------------------------------
def test_txt_layout_streams_stories_across_chunk_boundaries(txt, monkeypatch):
    monkeypatch.setattr(text, "_CHUNK", 7)  # separators and stories cut in the middle of a read
    assert list(text.read_txt(txt)) == STORIES[:100]
    stream = text.read_txt(txt, limit=3)
    assert iter(stream) is stream and list(stream) == STORIES[:3]  # a generator: nothing read ahead


def test_txt_layout_finds_the_valid_file_beside_train(txt):
    train, valid = text.find_sources(txt)
    assert list(valid.stories()) == STORIES[100:]
    assert list(train.stories(limit=2, skip=1)) == STORIES[1:3]
    train2, valid2 = text.find_sources(txt.parent)  # the folder: *train* and *valid* files
    assert train2.files == [txt] and list(valid2.stories()) == STORIES[100:]


def test_parquet_and_arrow_layouts(tmp_path):
    pa = pytest.importorskip("pyarrow", reason="the parquet/arrow layouts need pyarrow (pip install pyarrow)")
    import pyarrow.parquet as pq

    table = pa.table({"text": STORIES[:100]})
    folder = tmp_path / "hub" / "data"
    folder.mkdir(parents=True)
    pq.write_table(table, folder / "train-00000-of-00001.parquet", row_group_size=16)
    pq.write_table(pa.table({"text": STORIES[100:]}), folder / "validation-00000-of-00001.parquet")
    train, valid = text.find_sources(tmp_path / "hub")
    assert list(train.stories()) == STORIES[:100] and list(valid.stories()) == STORIES[100:]
    # arrow: the streaming layout `datasets` writes, and the random-access file layout
    with pa.OSFile(str(tmp_path / "stream-train.arrow"), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as w:
        for batch in table.to_batches(max_chunksize=16):
            w.write_batch(batch)
    with pa.OSFile(str(tmp_path / "file-train.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
        w.write_table(table)
    for name in ("stream-train.arrow", "file-train.arrow"):
        assert list(text.read_table(tmp_path / name)) == STORIES[:100], name
    with pytest.raises(UserError, match="no 'story' column"):
        list(text.read_table(folder / "train-00000-of-00001.parquet", column="story"))


def test_tokens_are_memory_mapped_and_labels_are_shifted_inputs(txt, tokenizer):
    train, _ = text.find_sources(txt)
    split = text.build_split(train, tokenizer, seq_len=16)
    assert isinstance(split.tokens, np.memmap) and split.tokens.dtype == np.uint16
    assert split.num_stories == 100 and split.num_rows > 100  # stories longer than 16 tokens give several rows
    x, y = split.rows(np.arange(split.num_rows))
    valid = y != IGNORE_LABEL
    both = valid[:, :-1] & valid[:, 1:]
    assert (x[:, 1:][both] == y[:, :-1][both]).all()  # labels = inputs shifted by one
    assert (x[valid[:, 0].nonzero()[0][:1], 0] == tokenizer.eos_id).all()  # a story's first row starts at EOS
    ids = np.asarray(split.tokens, np.int64)
    story0 = ids[1:np.flatnonzero(ids == tokenizer.eos_id)[1]]
    assert tokenizer.decode(story0) == STORIES[0]
    assert (y == tokenizer.eos_id).sum() == 100  # every story ends by predicting <|endoftext|>
    # batches: deterministic, resumable
    a = text.TextBatches(split, 8, seed=1)
    a.next_batch()
    b = text.TextBatches(split, 8, seed=1)
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.next_batch()["inputs"], b.next_batch()["inputs"])


def test_bad_text_inputs_are_clear_user_errors(tmp_path, tokenizer):
    with pytest.raises(UserError, match="no such file or folder.*TinyStories"):
        text.find_sources(tmp_path / "missing.txt")
    empty = tmp_path / "empty-train.txt"
    empty.write_text(f"\n{EOS}\n  \n")
    with pytest.raises(UserError, match="holds no stories"):
        text.build_split(text.find_sources(empty)[0], tokenizer, 16)
    (tmp_path / "notes.csv").write_text("a,b\n")
    with pytest.raises(UserError, match="not a .txt, .parquet or .arrow"):
        text.find_sources(tmp_path / "notes.csv")


# ----------------------------------------------------------------------------------------------
# Tokenizer
# ----------------------------------------------------------------------------------------------
def test_bpe_tokenizer_round_trips_text_and_json(tokenizer):
    sample = 'Once upon a time, Lily said, "I can help you!" Ünïcode too.'
    ids = tokenizer.encode(sample)
    assert tokenizer.decode(ids) == sample  # byte-level: any text comes back exactly
    assert tokenizer.vocab_size <= 400 and max(ids) < tokenizer.vocab_size
    again = TextTokenizer.from_json(tokenizer.to_json())
    assert again.encode(sample) == ids and again.digest() == tokenizer.digest()
    assert (tokenizer.pad_id, tokenizer.eos_id) == (0, 1)
    with pytest.raises(UserError, match="not a trm_core tokenizer"):
        TextTokenizer.from_json("[1, 2]")


def test_capped_tokenizer_keeps_ids_below_the_cap(tokenizer, tmp_path):
    raw = tmp_path / "tokenizer.json"  # the tokenizers library's own file, as GPT-Neo's is
    raw.write_text(tokenizer.tok.to_str())
    capped = gpt_neo(str(tmp_path), cap=300)
    ids = capped.encode(STORIES[0] + EOS)
    assert capped.vocab_size == 300 and max(ids) < 300 and ids[-1] == capped.eos_id == 299
    assert capped.unk_id in ids or max(tokenizer.encode(STORIES[0])) < 298
    assert TextTokenizer.from_json(capped.to_json()).encode(STORIES[1]) == capped.encode(STORIES[1])
    with pytest.raises(UserError, match="no GPT-Neo tokenizer.json"):
        gpt_neo(str(tmp_path / "nowhere"))


# ----------------------------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, target", [("trm-lm-1m", 1_000_000), ("trm-lm-10m", 10_000_000)])
def test_language_model_presets_have_their_sizes(name, target):
    model = build_model(name)
    assert model.config.causal and model.config.puzzle_emb_ndim == 0 and model.config.vocab_size == 10_000
    assert abs(model.num_parameters() - target) <= 0.15 * target, model.num_parameters()


def test_causal_attention_never_looks_ahead():
    torch.manual_seed(0)
    kw = dict(vocab_size=50, seq_len=12, hidden_size=32, num_heads=2, N_sup=3)
    causal, full = build_model("trm-lm-1m", **kw), build_model("trm-lm-1m", **kw, causal=False)
    full.load_state_dict(causal.state_dict())
    x = torch.randint(0, 50, (2, 12))
    x2 = x.clone()
    x2[:, 7] = (x[:, 7] + 1) % 50  # change one later token
    a, b = causal.reason(x).logits, causal.reason(x2).logits  # (steps, B, L, V): every supervision step
    assert torch.allclose(a[:, :, :7], b[:, :, :7], rtol=0, atol=1e-5)  # earlier positions: the same, every step
    assert not torch.allclose(a[:, :, 7:], b[:, :, 7:])
    f1, f2 = full.reason(x).logits, full.reason(x2).logits
    assert not torch.allclose(f1[:, :, :7], f2[:, :, :7])  # the non-causal twin does look ahead
    with pytest.raises(UserError, match="causal=True needs mixer='attention'"):
        ModelConfig(mixer="mlp", causal=True)


def test_compat_honours_the_reference_causal_key():
    ref = dict(seq_len=8, vocab_size=5, num_puzzle_identifiers=1, hidden_size=32, num_heads=2, expansion=4,
               pos_encodings="rope", H_cycles=2, L_cycles=2, L_layers=1, halt_max_steps=2, puzzle_emb_ndim=0)
    assert compat.config_from_reference({**ref, "causal": True}, "trm").causal is True
    assert compat.config_from_reference({**ref, "causal": False}, "trm").causal is False
    assert compat.config_from_reference(ref, "trm").causal is False


# ----------------------------------------------------------------------------------------------
# The commands
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """`trm train --task tinystories --data TinyStories-train.txt --smoke`, once for the tests below."""
    folder = tmp_path_factory.mktemp("text")
    old = os.environ.get("TRM_CACHE")
    os.environ["TRM_CACHE"] = str(folder / "cache")
    try:
        text.write_stories(folder / "TinyStories-valid.txt", STORIES[100:])
        data = text.write_stories(folder / "TinyStories-train.txt", STORIES[:100])
        out = folder / "run"
        code = cli.main(["train", "--task", "tinystories", "--data", str(data), "--smoke", "--out", str(out),
                         "progress=false", "hidden_size=32", "num_heads=2", "seq_len=32"])
    finally:
        os.environ.pop("TRM_CACHE") if old is None else os.environ.__setitem__("TRM_CACHE", old)
    assert code == 0
    return out, data


def test_smoke_run_trains_two_batches_and_saves_the_tokenizer(smoke_run):
    out, _ = smoke_run
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)  # plain data: no pickled objects
    assert ckpt["step"] == 2 and ckpt["source"]["batch"] == 2 and ckpt["model_config"]["causal"]
    assert ckpt["data"]["name"] == "tinystories" and ckpt["model_config"]["puzzle_emb_ndim"] == 0
    saved = TextTokenizer.from_json(ckpt["tokenizer"])
    beside = TextTokenizer.load(out / "tokenizer.json")
    assert saved.digest() == beside.digest() and saved.vocab_size == ckpt["model_config"]["vocab_size"]
    assert saved.decode(saved.encode(STORIES[5])) == STORIES[5]
    result = json.loads((out / "eval.json").read_text())
    assert len(result["per_step_perplexity"]) == ckpt["model_config"]["N_sup"]


def test_eval_reports_finite_perplexity_per_step(smoke_run, capsys):
    out, data = smoke_run
    code, stdout, _ = run(capsys, "eval", "--checkpoint", out / "checkpoint.pt", "--data", data, "--json")
    assert code == 0
    m = json.loads(stdout)
    assert m["stories"] == 20 and len(m["per_step_perplexity"]) == 4  # the valid file beside train
    assert all(math.isfinite(p) and p > 1 for p in m["per_step_perplexity"])
    code, stdout, _ = run(capsys, "eval", "--checkpoint", out / "checkpoint.pt", "--data", data, "--steps", "2")
    assert code == 0 and "after each supervision step: 1:" in stdout and " 3:" not in stdout


def test_generate_writes_text_from_the_prompt(smoke_run, capsys):
    out, _ = smoke_run
    args = ["generate", "--checkpoint", out / "checkpoint.pt", "--max-new-tokens", "8", "--seed", "4"]
    code, first, _ = run(capsys, *args)
    assert code == 0 and first.startswith("Once upon a time") and len(first.strip()) > len("Once upon a time")
    assert run(capsys, *args)[1] == first  # the same seed, the same story
    code, greedy, _ = run(capsys, *args, "--temperature", "0", "--prompt", "Tom went")
    assert code == 0 and greedy.startswith("Tom went")


def test_resume_a_text_run(smoke_run, tmp_path, capsys):
    import shutil

    out, _ = smoke_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    code, stdout, _ = run(capsys, "train", "--resume", copy, "--steps", "3")
    assert code == 0 and "at step 2" in stdout
    assert torch.load(copy / "checkpoint.pt", weights_only=True)["step"] == 3


def test_text_commands_say_what_is_wrong(smoke_run, tmp_path, capsys):
    out, data = smoke_run
    code, _, err = run(capsys, "train", "--task", "tinystories", "--data", tmp_path / "nope.txt", "--smoke",
                       "--out", tmp_path / "r1")
    assert code == 2 and "no such file or folder" in err and "TinyStories" in err
    empty = tmp_path / "empty-train.txt"
    empty.write_text("")
    code, _, err = run(capsys, "train", "--task", "tinystories", "--data", empty, "--smoke", "--out", tmp_path / "r2")
    assert code == 2 and "no stories" in err
    code, _, err = run(capsys, "train", "--task", "sudoku", "--data", data)
    assert code == 2 and "--data is for --task tinystories" in err
    puzzle = build_model("trm-mlp-tiny", vocab_size=6, seq_len=16)  # a Sudoku checkpoint, not a language model
    ckpt_io.save_atomic({"format": ckpt_io.FORMAT, "model_config": puzzle.config.to_dict(),
                         "data": {"name": "sudoku"}, "model": puzzle.state_dict(), "ema": None},
                        tmp_path / "sudoku.pt")
    code, _, err = run(capsys, "generate", "--checkpoint", tmp_path / "sudoku.pt")
    assert code == 2 and "not a language model" in err and "--task tinystories" in err
    code, _, err = run(capsys, "eval", "--checkpoint", out / "checkpoint.pt", "--data", data, "--samples", "2")
    assert code == 2 and "perplexity" in err


def test_library_perplexity_and_generation(smoke_run):
    from trm_core.lm import load_text_checkpoint

    out, data = smoke_run
    model, tok, _ = load_text_checkpoint(out / "checkpoint.pt")
    split = text.build_split(text.find_sources(data)[1], tok, model.config.seq_len)
    m = perplexity_per_step(model, split, steps=2, max_rows=4)
    assert m["rows"] == 4 and len(m["per_step_perplexity"]) == 2
    assert generate(model, tok, "Lily", max_new_tokens=3, seed=1).startswith("Lily")
    with pytest.raises(UserError):
        generate(model, tok, "Lily", temperature=-1)


def test_notebook_09_exercises():
    from trm_core import exercises

    assert exercises.check("09.1", 579, quiet=True, vocab_size=579).ok
    assert "exp of it" in exercises.check("09.1", math.log(579), quiet=True, vocab_size=579).message
    assert exercises.check("09.2", 6, quiet=True).ok
    assert "can NOT change" in exercises.check("09.2", 10, quiet=True).message
    assert "non-causal" in exercises.check("09.2", 16, quiet=True).message
