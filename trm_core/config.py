"""Model configuration (one plain dataclass) and the named presets.

Paper names are used where the paper has them; the reference code's names differ:

=============  ===================  ==========================================================
here           reference code       meaning
=============  ===================  ==========================================================
``T``          ``H_cycles``         outer cycles per supervision step (y updates)
``n``          ``L_cycles``         inner latent updates per cycle (z updates)
``layers``     ``L_layers``         blocks in the network (HRM: in its low-level net)
``h_layers``   ``H_layers``         HRM only: blocks in the high-level net
``N_sup``      ``halt_max_steps``   supervision steps (the ACT maximum)
``mixer``      ``mlp_t``            "attention" or "mlp" (the MLP across tokens, ``mlp_t=True``)
``causal``     ``causal``           attention sees only earlier tokens (TRM as a language model)
=============  ===================  ==========================================================
"""
from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass

from .errors import UserError


def checked_fields(cls, values: dict, what: str | None = None) -> dict:
    """``values`` for the dataclass ``cls``, each checked against its field's type (names too).

    An int is accepted for a float field; a whole float (2.0) for an int field; "true"/"false" for a
    bool. Anything else raises a UserError naming the setting, its value and the type it needs.
    """
    what = what or cls.__name__
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise UserError(f"unknown {what} field(s): {', '.join(unknown)}")
    out = {}
    for key, value in values.items():
        kind = hints[key]
        kind = typing.get_origin(kind) or kind
        bad = UserError(f"{what} setting {key}={value!r} must be {getattr(kind, '__name__', kind)}")
        if kind is bool:
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
                value = value.lower() in ("true", "1")
            elif not isinstance(value, bool):
                raise bad
        elif kind is int:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad
        elif kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise bad
            value = float(value)
        elif kind is str:
            if not isinstance(value, str):
                raise bad
        elif kind is tuple:
            if not isinstance(value, (list, tuple)) or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
                raise bad
            value = tuple(float(v) for v in value)
        out[key] = value
    return out


@dataclass
class ModelConfig:
    """Everything that fixes a TRM or HRM network (and its ACT wrapper)."""

    arch: str = "trm"  # "trm" or "hrm"
    # Task dimensions
    vocab_size: int = 11
    seq_len: int = 81
    num_puzzle_identifiers: int = 1
    # Network
    hidden_size: int = 512  # D
    num_heads: int = 8
    expansion: float = 4.0
    mlp_multiple: int = 256  # SwiGLU widths are rounded up to this (256 as published; less for CPU presets)
    mixer: str = "attention"  # "attention" | "mlp"
    pos_encodings: str = "rope"  # "rope" | "learned" | "none"
    causal: bool = False  # attention sees only earlier positions (a language model); the reference's `causal`
    layers: int = 2
    h_layers: int = 0  # HRM only; 0 means "same as layers"
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    # Puzzle embeddings (0 = none). TRM always reserves ``puzzle_emb_len`` positions when enabled.
    puzzle_emb_ndim: int = 0
    puzzle_emb_len: int = 16
    # Recursion
    T: int = 3
    n: int = 6
    # Deep supervision / ACT
    N_sup: int = 16
    halt_exploration_prob: float = 0.1
    act_continue: bool = False  # HRM's Q-learning continue target (TRM drops it: no_ACT_continue)

    def __post_init__(self):
        for key, value in checked_fields(type(self), dataclasses.asdict(self)).items():
            setattr(self, key, value)  # types first: "hidden_size=1.5" is named, not a crash later
        problems = []
        if self.arch not in ("trm", "hrm"):
            problems.append(f"arch must be 'trm' or 'hrm', got {self.arch!r}")
        if self.mixer not in ("attention", "mlp"):
            problems.append(f"mixer must be 'attention' or 'mlp', got {self.mixer!r}")
        if self.pos_encodings not in ("rope", "learned", "none"):
            problems.append(f"pos_encodings must be 'rope', 'learned' or 'none', got {self.pos_encodings!r}")
        for name in ("vocab_size", "seq_len", "hidden_size", "num_heads", "layers", "T", "n", "N_sup",
                     "num_puzzle_identifiers", "mlp_multiple"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.causal and self.mixer != "attention":
            problems.append("causal=True needs mixer='attention' (the MLP across tokens mixes every position)")
        if self.h_layers < 0:
            problems.append(f"h_layers must be >= 0 (0: as many as layers), got {self.h_layers}")
        if self.mixer == "attention" and self.num_heads >= 1 and self.hidden_size % self.num_heads:
            problems.append(f"hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}")
        if not (self.expansion > 0 and self.rms_norm_eps > 0 and self.rope_theta > 0):
            problems.append("expansion, rms_norm_eps and rope_theta must be > 0")
        if not 0 <= self.halt_exploration_prob <= 1:
            problems.append(f"halt_exploration_prob must be in [0, 1], got {self.halt_exploration_prob}")
        if self.puzzle_emb_ndim < 0 or self.puzzle_emb_len < 0:
            problems.append("puzzle_emb_ndim and puzzle_emb_len must be >= 0")
        if problems:
            raise UserError("invalid ModelConfig: " + "; ".join(problems))
        if self.h_layers == 0:
            self.h_layers = self.layers

    # Derived sizes -----------------------------------------------------------------------
    @property
    def num_puzzle_positions(self) -> int:
        """Positions prepended for the puzzle embedding (0 when there is none)."""
        if self.puzzle_emb_ndim == 0:
            return 0
        if self.puzzle_emb_len:
            return self.puzzle_emb_len
        return -(self.puzzle_emb_ndim // -self.hidden_size)  # ceil division, as the reference

    @property
    def total_len(self) -> int:
        """Sequence length the network sees: puzzle positions + tokens."""
        return self.seq_len + self.num_puzzle_positions

    @property
    def effective_depth(self) -> int:
        """Layers traversed per supervision step: T (n + 1) layers for TRM."""
        if self.arch == "trm":
            return self.T * (self.n + 1) * self.layers
        return self.T * (self.n * self.layers + self.h_layers)

    def replace(self, **changes) -> "ModelConfig":
        return dataclasses.replace(self, **checked_fields(type(self), changes))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        if not isinstance(d, dict):
            raise UserError(f"a model config must be a dict of ModelConfig fields, got {type(d).__name__}")
        return cls(**checked_fields(cls, d))  # unknown names are named here


_SUDOKU = dict(vocab_size=11, seq_len=81)  # PAD, blank, digits 1-9
_MAZE = dict(vocab_size=6, seq_len=900)  # PAD + "# SGo"
_ARC = dict(vocab_size=12, seq_len=900)  # PAD, EOS, colours 0-9
_PAPER_TRM = dict(arch="trm", hidden_size=512, num_heads=8, layers=2, puzzle_emb_ndim=512, puzzle_emb_len=16, N_sup=16)

#: Named presets. Each entry: (what it is / what it shrinks, config fields).
PRESET_NOTES: dict[str, str] = {
    "trm-mlp-sudoku": "paper TRM-MLP for Sudoku-Extreme (5,028,866 params; 87.4%). GPU.",
    "trm-att-sudoku": "paper TRM-Att for Sudoku-Extreme (6,828,034 params; 74.7%). GPU.",
    "trm-att-maze": "paper TRM-Att for Maze-Hard 30x30, T=3 n=4 (6,822,914 params; 85.3%). GPU.",
    "trm-att-arc": "paper TRM-Att for ARC-AGI, T=3 n=4 (6,829,058 params; 44.6% ARC-AGI-1). GPU, days.",
    "hrm-sudoku": "paper HRM for Sudoku-Extreme, two 4-block nets, T=2 n=2 (27,275,266 params; 55.0%). GPU.",
    "trm-mlp-tiny": "laptop TRM-MLP (the demo's): D=64 (not 512), SwiGLU widths rounded to 32 (not 256), "
    "T=2 n=4 (not 3, 6), 6 supervision steps (not 16), no puzzle embedding. "
    "Learns 6x6 Sudoku in 4 minutes on 2 CPU cores.",
    "trm-att-tiny": "laptop TRM-Att: D=128, 2 heads, widths rounded to 32, T=2 n=4, 6 supervision steps. "
    "Minutes on a CPU.",
    "hrm-tiny": "laptop HRM: D=64 MLP mixer, two 2-block nets, widths rounded to 32, T=2 n=2, 6 supervision steps; "
    "about the compute of trm-mlp-tiny per step (with its extra Q pass).",
    "trm-mlp-small": "CPU/MPS TRM-MLP for 9x9: D=192, widths rounded to 64, T=3 n=4, 8 supervision steps. "
    "An hour on a CPU.",
    "trm-lm-1m": "TRM as a language model (TinyStories, 10K-token BPE): causal attention, D=48, 3 heads, "
    "128-token context, T=2 n=2, 4 supervision steps; 1,015,394 params at 10K tokens (mostly the "
    "embedding and the output head). Minutes on a CPU.",
    "trm-lm-10m": "TRM as a language model: causal attention, D=352, 4 heads, 256-token context, T=3 n=4, "
    "8 supervision steps; 10,059,458 params at 10K tokens. GPU or MPS.",
}

PRESETS: dict[str, dict] = {
    "trm-mlp-sudoku": dict(**_PAPER_TRM, **_SUDOKU, mixer="mlp", pos_encodings="none", T=3, n=6),
    "trm-att-sudoku": dict(**_PAPER_TRM, **_SUDOKU, mixer="attention", pos_encodings="rope", T=3, n=6),
    "trm-att-maze": dict(**_PAPER_TRM, **_MAZE, mixer="attention", pos_encodings="rope", T=3, n=4),
    "trm-att-arc": dict(**_PAPER_TRM, **_ARC, mixer="attention", pos_encodings="rope", T=3, n=4),
    "hrm-sudoku": dict(
        arch="hrm", **_SUDOKU, hidden_size=512, num_heads=8, layers=4, h_layers=4, mixer="attention",
        pos_encodings="rope", puzzle_emb_ndim=512, puzzle_emb_len=1, T=2, n=2, N_sup=16, act_continue=True,
    ),
    "trm-mlp-tiny": dict(arch="trm", hidden_size=64, num_heads=2, layers=2, mixer="mlp", pos_encodings="none",
                         mlp_multiple=32, T=2, n=4, N_sup=6),
    "trm-att-tiny": dict(arch="trm", hidden_size=128, num_heads=2, layers=2, mixer="attention", pos_encodings="rope",
                         mlp_multiple=32, T=2, n=4, N_sup=6),
    "hrm-tiny": dict(
        arch="hrm", hidden_size=64, num_heads=2, layers=2, h_layers=2, mixer="mlp", pos_encodings="none",
        mlp_multiple=32, T=2, n=2, N_sup=6, act_continue=True,
    ),
    "trm-mlp-small": dict(arch="trm", hidden_size=192, num_heads=3, layers=2, mixer="mlp", pos_encodings="none",
                          mlp_multiple=64, T=3, n=4, N_sup=8),
    # Language models: no puzzle embedding (text has no puzzle ids), causal attention with RoPE.
    "trm-lm-1m": dict(arch="trm", vocab_size=10_000, seq_len=128, hidden_size=48, num_heads=3, layers=2,
                      mixer="attention", pos_encodings="rope", causal=True, mlp_multiple=32, T=2, n=2, N_sup=4),
    "trm-lm-10m": dict(arch="trm", vocab_size=10_000, seq_len=256, hidden_size=352, num_heads=4, layers=2,
                       mixer="attention", pos_encodings="rope", causal=True, mlp_multiple=64, T=3, n=4, N_sup=8),
}


def preset(name: str, **overrides) -> ModelConfig:
    """Build the named preset, with task dimensions or any field overridden.

    >>> preset("trm-mlp-tiny", vocab_size=8, seq_len=36).hidden_size
    64
    """
    if name not in PRESETS:
        raise UserError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    fields = {**PRESETS[name], **overrides}
    return ModelConfig.from_dict(fields)
