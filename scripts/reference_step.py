"""The reference training step in PyTorch, for `peftscale bench reference --compare-pytorch`.

The same step as experiments/bench/bench_reference.ts runReferenceStep: a GPT-2-architecture model (pre-LayerNorm, fused
q/k/v, GELU with the tanh approximation, LM head tied to the token embedding), next-token cross-entropy
on random tokens, Adam at 1e-3; full fine-tuning, prompt tuning (k trainable vectors before the input
embeddings, the rest frozen) or LoRA (rank r deltas B·A on c_attn, scaled alpha / r). Idiomatic PyTorch
(nn.Linear, scaled_dot_product_attention), on one intra-op and one inter-op thread unless told otherwise.

Prints one JSON object: the settings, torch's version and build, and every measured step's milliseconds.
Only needs torch; run it with a Python whose torch works (a venv from the local wheel mirror will do).
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LoRA(nn.Module):
    """y = base(x) + (x·Aᵀ)·Bᵀ · alpha/r, with the base frozen and B starting at zero."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float):
        super().__init__()
        self.base = base
        self.a = nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
        self.b = nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x):
        return self.base(x) + (x @ self.a.t() @ self.b.t()) * self.scale


class Block(nn.Module):
    def __init__(self, d: int, heads: int, d_ff: int, eps: float):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d, eps=eps)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=eps)
        self.c_fc = nn.Linear(d, d_ff)
        self.mlp_proj = nn.Linear(d_ff, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)  # [B, T, D] each
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))  # [B, H, T, Dh]
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # [B, H, T, Dh]
        x = x + self.c_proj(attended.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate='tanh'))


class GPT2(nn.Module):
    def __init__(self, vocab: int, context: int, d: int, layers: int, heads: int, d_ff: int, eps: float):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(context, d)
        self.h = nn.ModuleList(Block(d, heads, d_ff, eps) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d, eps=eps)

    def forward(self, tokens, prompt=None):
        x = self.wte(tokens)  # [B, T, D]
        if prompt is not None:
            x = torch.cat([prompt.unsqueeze(0).expand(tokens.shape[0], -1, -1), x], dim=1)  # [B, k+T, D]
        x = x + self.wpe(torch.arange(x.shape[1]))
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.t()  # [B, k+T, V], tied head


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--method', choices=['full', 'prompt-tuning', 'lora'], default='full')
    parser.add_argument('--d-model', type=int, default=128)
    parser.add_argument('--layers', type=int, default=4)
    parser.add_argument('--heads', type=int, default=4)
    parser.add_argument('--d-ff', type=int, default=512)
    parser.add_argument('--vocab', type=int, default=256)
    parser.add_argument('--context', type=int, default=128)
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--tokens', type=int, default=64)
    parser.add_argument('--prompt-length', type=int, default=20)
    parser.add_argument('--rank', type=int, default=8)
    parser.add_argument('--alpha', type=float, default=8)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(args.threads)
    torch.manual_seed(0)
    model = GPT2(args.vocab, args.context, args.d_model, args.layers, args.heads, args.d_ff, 1e-5)
    prompt = None
    if args.method == 'full':
        trainable = list(model.parameters())
    else:
        for p in model.parameters():
            p.requires_grad_(False)
        if args.method == 'prompt-tuning':
            prompt = nn.Parameter(torch.randn(args.prompt_length, args.d_model) * 0.5)
            trainable = [prompt]
        else:
            for block in model.h:
                block.c_attn = LoRA(block.c_attn, args.rank, args.alpha)
            trainable = [p for block in model.h for p in (block.c_attn.a, block.c_attn.b)]
    optimizer = torch.optim.Adam(trainable, lr=1e-3)
    tokens = torch.randint(0, args.vocab, (args.batch, args.tokens))
    virtual = 0 if prompt is None else args.prompt_length

    def step():
        optimizer.zero_grad(set_to_none=True)
        logits = model(tokens, prompt)[:, virtual:-1]  # [B, T-1, V]: each real position predicts the next token
        loss = F.cross_entropy(logits.reshape(-1, args.vocab), tokens[:, 1:].reshape(-1))
        loss.backward()
        optimizer.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    samples, cpu_samples = [], []
    for _ in range(args.steps):
        start, cpu_start = time.perf_counter(), time.process_time()
        loss = step()
        samples.append((time.perf_counter() - start) * 1000)
        cpu_samples.append((time.process_time() - cpu_start) * 1000)
    config = torch.__config__.show()
    print(json.dumps({
        'engine': 'pytorch',
        'torch': torch.__version__,
        'blas': 'mkl' if 'USE_MKL=ON' in config or 'MKL' in config else 'other',
        'python': sys.version.split()[0],
        'threads': torch.get_num_threads(),
        'method': args.method,
        'trainable': sum(p.numel() for p in trainable),
        'medianMs': statistics.median(samples),
        'cpuMedianMs': statistics.median(cpu_samples),
        'lastLoss': loss,
        'samplesMs': samples,
    }))


if __name__ == '__main__':
    main()
