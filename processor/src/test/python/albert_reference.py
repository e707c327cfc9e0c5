#!/usr/bin/python3
"""Independent numeric reference for the Streamformer encoder, built on PyTorch's own modules.

Usage: albert_reference.py MODEL_DIR INPUTS_JSON
       albert_reference.py MODEL_DIR --export-onnx OUT_FILE
  MODEL_DIR    holds config.json (Hugging Face ALBERT format + "streamformer" extension) and
               model.safetensors
  INPUTS_JSON  a list of sequences: {"ids": [...], "mask": [...] or null, "segments": [...] or null}
The first form prints a JSON list of logits rows, one per sequence, computed in one padded batch.
The second writes the same model as ONNX with torch.onnx.export (opset 14, the Hugging Face
convention: int64 input_ids, attention_mask, token_type_ids [batch, sequence] -> logits).

It mirrors Hugging Face's AlbertForSequenceClassification in eval mode (post-LayerNorm layers,
additive attention mask of finfo.min, tanh pooler on the first token). Only torch and numpy are
needed; the safetensors file is parsed here.
"""
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I8": np.int8, "U8": np.uint8,
          "I32": np.int32, "I64": np.int64, "I16": np.int16}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[base + begin:base + end]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = bits.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(DTYPES[info["dtype"]]).newbyteorder("<"))
        out[name] = torch.from_numpy(arr.astype(np.float32).reshape(info["shape"]).copy())
    for name in list(out):
        if name.endswith("_scale"):
            base_name = name[:-len("_scale")]
            rows = out[base_name].shape[0]
            out[base_name] = out[base_name] * out[name].reshape(rows, *([1] * (out[base_name].dim() - 1)))
            del out[name]
    return out


def layer_map(strategy, groups, layers):
    if strategy == "none":
        return list(range(layers))
    if strategy == "all":
        return [0] * layers
    if strategy == "sequence":
        return [int(i / (layers / groups)) for i in range(layers)]
    if strategy == "cycle":
        return [i % groups for i in range(layers)]
    if strategy == "cycle-reverse":
        head = [i % groups for i in range(layers - groups)]
        return head + list(reversed(range(groups)))
    raise ValueError(strategy)


def linear(weights, prefix):
    w = weights[prefix + ".weight"]
    layer = nn.Linear(w.shape[1], w.shape[0])
    with torch.no_grad():
        layer.weight.copy_(w)
        layer.bias.copy_(weights[prefix + ".bias"])
    return layer


def norm(weights, prefix, eps):
    w = weights[prefix + ".weight"]
    layer = nn.LayerNorm(w.shape[0], eps=eps)
    with torch.no_grad():
        layer.weight.copy_(w)
        layer.bias.copy_(weights[prefix + ".bias"])
    return layer


def embedding(weights, name):
    return nn.Embedding.from_pretrained(weights[name], freeze=True)


class Attention(nn.Module):
    def __init__(self, weights, prefix, heads, kv_heads, eps):
        super().__init__()
        self.query = linear(weights, prefix + "query")
        self.key = linear(weights, prefix + "key")
        self.value = linear(weights, prefix + "value")
        self.dense = linear(weights, prefix + "dense")
        self.norm = norm(weights, prefix + "LayerNorm", eps)
        self.heads = heads
        self.kv_heads = kv_heads

    def forward(self, x, mask_bias):
        b, s, h = x.shape
        d = self.query.weight.shape[0] // self.heads
        q = self.query(x).view(b, s, self.heads, d).transpose(1, 2)
        k = self.key(x).view(b, s, self.kv_heads, d).transpose(1, 2)
        v = self.value(x).view(b, s, self.kv_heads, d).transpose(1, 2)
        repeat = self.heads // self.kv_heads
        if repeat > 1:  # torch 1.13 exports repeat_interleave with a fixed batch size; skip the no-op
            k = k.repeat_interleave(repeat, dim=1)
            v = v.repeat_interleave(repeat, dim=1)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + mask_bias
        probs = torch.softmax(scores, dim=-1)
        context = torch.matmul(probs, v).transpose(1, 2).reshape(b, s, self.heads * d)
        return self.norm(x + self.dense(context))


class FeedForward(nn.Module):
    def __init__(self, weights, prefix, act, eps):
        super().__init__()
        self.ffn = linear(weights, prefix + "ffn")
        self.ffn_output = linear(weights, prefix + "ffn_output")
        self.norm = norm(weights, prefix + "full_layer_layer_norm", eps)
        self.approximate = "tanh" if act in ("gelu_new", "gelu_pytorch_tanh") else "none"

    def forward(self, x):
        return self.norm(x + self.ffn_output(F.gelu(self.ffn(x), approximate=self.approximate)))


class Model(nn.Module):
    """The encoder as one module, every shared set registered once."""

    def __init__(self, parts):
        super().__init__()
        self.word = parts["word"]
        self.position = parts["position"]
        self.segment = parts["segment"]
        self.emb_norm = parts["emb_norm"]
        self.projection = parts["projection"]
        self.attention_sets = nn.ModuleList(parts["attention_sets"])
        self.ffn_sets = nn.ModuleList(parts["ffn_sets"])
        self.amap = parts["amap"]
        self.fmap = parts["fmap"]
        self.pooler = parts["pooler"]
        self.classifier = parts["classifier"]

    def forward(self, input_ids, attention_mask, token_type_ids):
        positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
        h = self.word(input_ids) + self.segment(token_type_ids) + self.position(positions)
        h = self.emb_norm(h)
        if self.projection is not None:
            h = self.projection(h)
        mask = attention_mask.to(torch.float32)
        mask_bias = (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float32).min
        for i in range(len(self.amap)):
            h = self.ffn_sets[self.fmap[i]](self.attention_sets[self.amap[i]](h, mask_bias))
        pooled = torch.tanh(self.pooler(h[:, 0]))
        return self.classifier(pooled)


def build(config, weights):
    ext = config.get("streamformer", {})
    layers = config["num_hidden_layers"]
    if "attention_sharing" in ext:
        amap = layer_map(ext["attention_sharing"], ext.get("attention_groups", 1), layers)
        fmap = layer_map(ext["ffn_sharing"], ext.get("ffn_groups", 1), layers)
    else:
        amap = fmap = layer_map("sequence", config.get("num_hidden_groups", 1), layers)
    albert = amap == fmap and amap == layer_map("sequence", max(amap) + 1, layers) \
        and ext.get("num_key_value_heads", config["num_attention_heads"]) == config["num_attention_heads"] \
        and ext.get("embedding_projection", True) \
        and ext.get("attention_head_size", config["hidden_size"] // config["num_attention_heads"]) \
        * config["num_attention_heads"] == config["hidden_size"]
    eps = config.get("layer_norm_eps", 1e-12)
    heads = config["num_attention_heads"]
    kv_heads = ext.get("num_key_value_heads", heads)
    act = config.get("hidden_act", "gelu_new")

    def att_prefix(s):
        return (f"albert.encoder.albert_layer_groups.{s}.albert_layers.0.attention." if albert
                else f"albert.encoder.attention_sets.{s}.attention.")

    def ffn_prefix(s):
        return (f"albert.encoder.albert_layer_groups.{s}.albert_layers.0." if albert
                else f"albert.encoder.ffn_sets.{s}.")

    attention = [Attention(weights, att_prefix(s), heads, kv_heads, eps) for s in range(max(amap) + 1)]
    ffn = [FeedForward(weights, ffn_prefix(s), act, eps) for s in range(max(fmap) + 1)]
    return Model(dict(
        word=embedding(weights, "albert.embeddings.word_embeddings.weight"),
        position=embedding(weights, "albert.embeddings.position_embeddings.weight"),
        segment=embedding(weights, "albert.embeddings.token_type_embeddings.weight"),
        emb_norm=norm(weights, "albert.embeddings.LayerNorm", eps),
        projection=(linear(weights, "albert.encoder.embedding_hidden_mapping_in")
                    if ext.get("embedding_projection", True) else None),
        attention_sets=attention, ffn_sets=ffn, amap=amap, fmap=fmap,
        pooler=linear(weights, "albert.pooler"),
        classifier=linear(weights, "classifier"))).eval()


def run(model, sequences):
    b = len(sequences)
    s = max(len(x["ids"]) for x in sequences)
    ids = torch.zeros(b, s, dtype=torch.long)
    seg = torch.zeros(b, s, dtype=torch.long)
    mask = torch.zeros(b, s, dtype=torch.long)
    for i, x in enumerate(sequences):
        n = len(x["ids"])
        ids[i, :n] = torch.tensor(x["ids"])
        if x.get("segments"):
            seg[i, :n] = torch.tensor(x["segments"])
        mask[i, :n] = torch.tensor(x["mask"]) if x.get("mask") else 1
    return model(ids, mask, seg)


def export_onnx(model, out):
    ids = torch.tensor([[2, 5, 6, 3], [2, 7, 3, 0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    seg = torch.zeros_like(ids)
    axes = {0: "batch", 1: "sequence"}
    torch.onnx.export(model, (ids, mask, seg), out, opset_version=14,
                      input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
                      dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                                    "logits": {0: "batch"}})


def main():
    model_dir = sys.argv[1]
    with open(f"{model_dir}/config.json") as f:
        config = json.load(f)
    weights = read_safetensors(f"{model_dir}/model.safetensors")
    if sys.argv[2] == "--export-onnx":
        with torch.no_grad():
            export_onnx(build(config, weights), sys.argv[3])
        return
    inputs_path = sys.argv[2]
    with open(inputs_path) as f:
        sequences = json.load(f)
    with torch.no_grad():
        logits = run(build(config, weights), sequences)
    json.dump(logits.tolist(), sys.stdout)


if __name__ == "__main__":
    main()
