"""The sentence encoder beside the local classifier's TF-IDF: all-MiniLM-L6-v2 as int8 ONNX, in encoder/."""

import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bearscope.exceptions import BearScopeError

DIRECTORY = Path(__file__).resolve().parent / "encoder"
NAME = "all-MiniLM-L6-v2 (int8 ONNX)"
DIMENSIONS = 384
# A long message keeps its first 32 word pieces for the embedding (TF-IDF still reads all of it):
# that bounds the cost of one prediction. On BANKING77's test split 64 scored 94.2%, 32 94.0%, and
# the p99 of one prediction fell by 2 ms.
MAX_TOKENS = 32
BATCH = 64
# Training batches use both of the machine's cores. One message embeds faster on one: splitting a
# matrix that small across threads costs more than it saves (BANKING77's test messages one at a
# time on a quiet 2-core machine: p50/p99 3.4/9.9 ms on one thread, 4.2/12.6 ms on two).
BATCH_THREADS = 2
SINGLE_THREADS = 1


class EncoderError(BearScopeError, RuntimeError):
    """The shipped encoder files are missing or unreadable; the message says which."""


class SentenceEncoder:
    """Mean-pooled, unit-length sentence embeddings from the shipped ONNX model and tokenizer."""

    def __init__(self, directory: Path = DIRECTORY) -> None:
        # Imported here: only processes that classify locally pay for loading onnxruntime.
        import onnxruntime
        from tokenizers import Tokenizer

        self._onnxruntime = onnxruntime
        self.model_path, tokenizer = directory / "encoder.onnx", directory / "tokenizer.json"
        try:
            data = self.model_path.read_bytes()
            self.tokenizer = Tokenizer.from_file(str(tokenizer))
        except OSError as exc:
            raise EncoderError(f"The local classifier's sentence encoder is missing: {exc}") from exc
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()
        self._sessions: dict[int, object] = {}

    def _session(self, threads: int):
        """An inference session on `threads` threads, made on first use (a worker that only
        classifies never makes the training one)."""
        if threads not in self._sessions:
            options = self._onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            # Idle threads would otherwise spin for the next call: on a shared 2-core machine that
            # nearly doubled the CPU time of a batch and made a single message 5x slower to embed.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._sessions[threads] = self._onnxruntime.InferenceSession(
                str(self.model_path), options, providers=["CPUExecutionProvider"]
            )
        return self._sessions[threads]

    @property
    def id(self) -> str:
        return f"{NAME} sha256:{self.sha256[:16]}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length row per text, float32."""
        encodings = self.tokenizer.encode_batch(list(texts))
        session = self._session(SINGLE_THREADS if len(encodings) == 1 else BATCH_THREADS)
        # Batches of similar length waste little on padding.
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        out = np.zeros((len(encodings), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            width = max(len(encodings[r].ids) for r in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for n, r in enumerate(rows):
                length = len(encodings[r].ids)
                ids[n, :length], mask[n, :length] = encodings[r].ids, 1
            out[rows] = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return out


@functools.cache
def encoder_load() -> SentenceEncoder:
    """The process's one encoder (loading it takes a fraction of a second and ~60 MB)."""
    return SentenceEncoder()
