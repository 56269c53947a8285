#!/usr/bin/env python3
"""Golden fixtures from the real stack (transformers, PEFT, tokenizers, safetensors), run by hand.

Writes test/fixtures/hf/ (well under 1 MB): tiny random GPT-2 checkpoints as the ecosystem writes them,
a GPT-2-style byte-level BPE tokenizer trained here on a small text, PEFT adapters for prompt tuning,
prefix tuning, P-tuning and LoRA, and the expected logits and token ids that the TypeScript golden tests
compare against. CI never runs this: it only reads the committed files.

    python3 -m venv /tmp/golden-venv
    /tmp/golden-venv/bin/pip install torch transformers peft safetensors tokenizers numpy pyarrow datasets
    /tmp/golden-venv/bin/python scripts/golden/make_fixtures.py

Folders written (under test/fixtures/hf/):
  tiny-gpt2/                 save_pretrained as it is (config.json, model.safetensors with the
                             `transformer.` prefix and no lm_head, generation_config.json) plus the
                             tokenizer (vocab.json, merges.txt, tokenizer.json, tokenizer_config.json)
  tiny-gpt2-sharded-bf16/    the same model saved in bfloat16, sharded, with model.safetensors.index.json;
                             vocab.json + merges.txt only
  tiny-gpt2-hub-f16/         the layout of older hub files: float16, no `transformer.` prefix, the
                             attention buffers h.N.attn.bias / h.N.attn.masked_bias, an explicit
                             lm_head.weight equal to wte; vocab.json + merges.txt only
  adapters/<method>/         adapter_config.json + adapter_model.safetensors as PEFT saves them (also
                             ia3: IA3Config's GPT-2 defaults; lora-all-linear: target_modules="all-linear",
                             which PEFT saves as the list of full module paths)
  data/                      the rows of test/fixtures/data as Hugging Face `datasets` writes them: Parquet
                             (<name>.parquet) and JSON lines (<name>.datasets.jsonl), integer ClassLabel labels
                             for RTE, SST-2 with its `idx` column (the row of the original dev.tsv)
  hub-cache/                 a Hugging Face hub cache ($HF_HUB_CACHE) holding tiny-gpt2 as the hub client lays
                             it out: models--tiny-gpt2/{blobs,refs/main,snapshots/<revision>/} (snapshot files
                             are relative symlinks into blobs/), with a second, pinned revision
  golden.safetensors         input_ids and the logits of every case (see CASES below)
  golden.json                versions, shapes, the cases, and tokenizer goldens (text -> ids)
"""
from __future__ import annotations

import json
import os
import shutil
import sys

import numpy as np
import peft
import tokenizers
import torch
import transformers
from peft import (IA3Config, LoraConfig, PeftModel, PrefixTuningConfig, PromptEncoderConfig, PromptTuningConfig,
                  TaskType, get_peft_model)
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'hf')
SEED = 1234

# The model: small, but every shape distinct (D != heads != layers) so that a transposed or misplaced
# tensor cannot pass by accident.
VOCAB = 384
CONFIG = dict(vocab_size=VOCAB, n_positions=48, n_embd=32, n_layer=2, n_head=4, layer_norm_epsilon=1e-5,
              activation_function='gelu_new', initializer_range=0.3, bos_token_id=VOCAB - 1,
              eos_token_id=VOCAB - 1)
K = 4  # virtual tokens of every prompt method
LORA_RANK = 4
LORA_ALPHA = 16
P_TUNING_HIDDEN = 24

# A small text with what GPT-2's pre-tokenizer cares about: contractions, numbers, punctuation, runs
# of spaces, newlines and some non-ASCII.
CORPUS = """The quick brown fox jumps over the lazy dog. It's a dog's life, isn't it? We'll see, they'd say.
Numbers: 1, 22, 333, 4444, 3.14159 and 1,000,000 people in 2021. I'm here; you're there; we've been.
Prompt tuning closes the gap to model tuning as models grow: the power of scale for parameter-efficient
prompt tuning. Café, naïve, résumé, Zürich, São Paulo; 日本語のテキスト; emoji 🤗 and 👍🏽 too.
    Indented lines, tabs\tand\ttrailing spaces   
The premise says the hypothesis is true, false or unknown. Is the sentence positive or negative?
""" * 3

TOKENIZER_STRINGS = [
    '',
    'a',
    'Hello world',
    ' leading space',
    '  two leading spaces',
    'trailing spaces   ',
    'multiple   spaces   between',
    'tabs\tand\nnewlines\n\n',
    "don't won't I'm they're we've she'll he'd it's",
    "'s 't 're 've 'm 'll 'd",
    "CAN'T SHOUT'S",
    'numbers 12345 3.14159 1,000,000 2021',
    '42abc abc42 4 2',
    'unicode: café naïve résumé Zürich',
    '日本語のテキスト',
    'emoji 🤗 👍🏽 🇫🇷',
    'combining e\u0301 vs \u00e9',
    'punctuation!!! ??? ... --- (brackets) [x] {y}',
    'The quick brown fox jumps over the lazy dog.',
    'an unseen word: floccinaucinihilipilification',
    'text<|endoftext|>more text',
    '<|endoftext|>',
    '\u00a0non-breaking\u2009thin\u3000ideographic spaces',
    'line\r\nwindows',
]


def seeded(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)


def make_tokenizer(folder: str) -> GPT2TokenizerFast:
    """A GPT-2-style byte-level BPE (no prefix space, <|endoftext|> last), trained on CORPUS."""
    bpe = tokenizers.ByteLevelBPETokenizer(add_prefix_space=False, trim_offsets=True)
    bpe.train_from_iterator([CORPUS], vocab_size=VOCAB - 1, min_frequency=2, special_tokens=[],
                            show_progress=False)
    assert bpe.get_vocab_size() == VOCAB - 1, f'BPE trained {bpe.get_vocab_size()} tokens, need {VOCAB - 1}'
    bpe.add_special_tokens(['<|endoftext|>'])
    fast = GPT2TokenizerFast(tokenizer_object=bpe._tokenizer, bos_token='<|endoftext|>',
                             eos_token='<|endoftext|>', unk_token='<|endoftext|>', add_prefix_space=False)
    assert fast.convert_tokens_to_ids('<|endoftext|>') == VOCAB - 1
    fast.save_pretrained(folder)
    # vocab.json + merges.txt as GPT-2 ships them (<|endoftext|> last in vocab.json), beside tokenizer.json.
    bpe.save_model(folder)
    vocab = dict(sorted(fast.get_vocab().items(), key=lambda item: item[1]))
    with open(os.path.join(folder, 'vocab.json'), 'w', encoding='utf-8') as f:
        json.dump(vocab, f, ensure_ascii=False)
    return fast


def randomise(model: GPT2LMHeadModel) -> None:
    """LayerNorm weights and every bias away from 1 and 0, so that misusing one shows in the logits."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith('.bias') or '.ln_' in name or 'ln_f' in name:
                param.add_(torch.randn_like(param) * 0.2)


def logits_of(model: torch.nn.Module, ids: torch.Tensor, k: int = 0) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits  # [B, k+T, V] or [B, T, V]
    if out.shape[1] == ids.shape[1] + k:
        out = out[:, k:, :]  # prompt tuning and P-tuning return the virtual positions too
    assert out.shape[1] == ids.shape[1], out.shape
    return out.float().contiguous()


def save_adapter(model: peft.PeftModel, name: str) -> str:
    folder = os.path.join(OUT, 'adapters', name)
    model.peft_config['default'].base_model_name_or_path = 'tiny-gpt2'  # not this machine's path
    model.save_pretrained(folder)
    os.remove(os.path.join(folder, 'README.md'))  # PEFT's model-card boilerplate
    return folder


def hub_style_copy(model: GPT2LMHeadModel, folder: str, tokenizer_folder: str) -> None:
    """float16, no `transformer.` prefix, attention buffers and an explicit lm_head, like older hub files."""
    os.makedirs(folder, exist_ok=True)
    state = {}
    n = CONFIG['n_positions']
    for name, tensor in model.state_dict().items():
        if name == 'lm_head.weight':
            continue
        state[name.removeprefix('transformer.')] = tensor.detach().half().contiguous()
    for layer in range(CONFIG['n_layer']):
        state[f'h.{layer}.attn.bias'] = torch.tril(torch.ones(n, n)).view(1, 1, n, n).half()
        state[f'h.{layer}.attn.masked_bias'] = torch.tensor(-1e4).half()
    state['lm_head.weight'] = state['wte.weight'].clone()
    save_file(state, os.path.join(folder, 'model.safetensors'), metadata={'format': 'pt'})
    config = model.config.to_dict()
    config.pop('dtype', None)
    config.pop('torch_dtype', None)
    config['n_ctx'] = n
    with open(os.path.join(folder, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2, sort_keys=True)
    for file in ('vocab.json', 'merges.txt'):
        shutil.copy(os.path.join(tokenizer_folder, file), folder)


DATA = os.path.join(ROOT, 'test', 'fixtures', 'data')


def data_fixtures(folder: str) -> None:
    """RTE and SST-2 rows as `datasets` writes them: Parquet and JSON lines, labels as ClassLabel integers."""
    import datasets
    os.makedirs(folder)
    rte = datasets.Features({'premise': datasets.Value('string'), 'hypothesis': datasets.Value('string'),
                             'idx': datasets.Value('int32'),
                             'label': datasets.ClassLabel(names=['entailment', 'not_entailment'])})
    sst2 = datasets.Features({'sentence': datasets.Value('string'),
                              'label': datasets.ClassLabel(names=['negative', 'positive']),
                              'idx': datasets.Value('int32')})
    for name in ('rte-train', 'rte-val'):
        with open(os.path.join(DATA, f'{name}.jsonl'), encoding='utf-8') as f:
            rows = [json.loads(line) for line in f if line.strip()]
        rows = [{'premise': r['premise'], 'hypothesis': r['hypothesis'], 'idx': r['idx'],
                 'label': rte['label'].str2int(r['label'])} for r in rows]
        table = datasets.Dataset.from_list(rows, features=rte)
        table.to_parquet(os.path.join(folder, f'{name}.parquet'))
        table.to_json(os.path.join(folder, f'{name}.datasets.jsonl'))
    with open(os.path.join(DATA, 'sst2-dev.tsv'), encoding='utf-8') as f:
        lines = f.read().split('\n')
    assert lines[0] == 'sentence\tlabel', lines[0]
    rows = [{'sentence': line.split('\t')[0], 'label': int(line.split('\t')[1]), 'idx': i}
            for i, line in enumerate(l for l in lines[1:] if l)]
    table = datasets.Dataset.from_list(rows, features=sst2)
    table.to_parquet(os.path.join(folder, 'sst2-dev.parquet'))
    table.to_json(os.path.join(folder, 'sst2-dev.datasets.jsonl'))


def hub_cache(folder: str, model_dir: str) -> None:
    """models--tiny-gpt2 as huggingface_hub's cache holds it: blobs by hash, snapshots of symlinks, refs/main."""
    import hashlib
    repo = os.path.join(folder, 'models--tiny-gpt2')
    os.makedirs(os.path.join(repo, 'blobs'))
    os.makedirs(os.path.join(repo, 'refs'))
    main_revision = hashlib.sha1(b'tiny-gpt2 main').hexdigest()
    pinned_revision = hashlib.sha1(b'tiny-gpt2 pinned').hexdigest()
    files = ('config.json', 'model.safetensors', 'vocab.json', 'merges.txt', 'tokenizer.json',
             'tokenizer_config.json', 'generation_config.json')
    for revision, names in ((main_revision, files), (pinned_revision, files[:4])):
        snapshot = os.path.join(repo, 'snapshots', revision)
        os.makedirs(snapshot)
        for name in names:
            with open(os.path.join(model_dir, name), 'rb') as f:
                data = f.read()
            blob = hashlib.sha256(data).hexdigest()
            if not os.path.exists(os.path.join(repo, 'blobs', blob)):
                with open(os.path.join(repo, 'blobs', blob), 'wb') as f:
                    f.write(data)
            os.symlink(os.path.join('..', '..', 'blobs', blob), os.path.join(snapshot, name))
    with open(os.path.join(repo, 'refs', 'main'), 'w') as f:
        f.write(main_revision)  # the hub client writes the commit hash without a newline


def main() -> None:
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    seeded(SEED)
    base_dir = os.path.join(OUT, 'tiny-gpt2')
    tokenizer = make_tokenizer(base_dir)

    base = GPT2LMHeadModel(GPT2Config(**CONFIG))
    randomise(base)
    base.eval()
    base.save_pretrained(base_dir)

    sharded_dir = os.path.join(OUT, 'tiny-gpt2-sharded-bf16')
    GPT2LMHeadModel.from_pretrained(base_dir, dtype=torch.bfloat16).save_pretrained(sharded_dir, max_shard_size='40KB')
    hub_dir = os.path.join(OUT, 'tiny-gpt2-hub-f16')
    hub_style_copy(base, hub_dir, base_dir)
    for folder in (sharded_dir,):
        for file in ('vocab.json', 'merges.txt'):
            shutil.copy(os.path.join(base_dir, file), folder)

    texts = ['The quick brown fox jumps over', "It's 3.14159, isn't it? Café 🤗!"]
    rows = [tokenizer(t)['input_ids'] for t in texts]
    length = min(len(r) for r in rows)
    length = min(length, 7)  # keeps golden.safetensors small: 10 cases x [2, 7, 384] float32
    ids = torch.tensor([r[:length] for r in rows], dtype=torch.long)  # [B, T]

    golden: dict[str, torch.Tensor] = {'input_ids': ids.to(torch.int32)}
    cases: dict[str, dict] = {}

    def load_base(folder: str = base_dir) -> GPT2LMHeadModel:
        return GPT2LMHeadModel.from_pretrained(folder, dtype=torch.float32).eval()

    golden['logits_base'] = logits_of(load_base(), ids)
    cases['base'] = {'checkpoint': 'tiny-gpt2'}
    golden['logits_sharded_bf16'] = logits_of(load_base(sharded_dir), ids)
    cases['sharded_bf16'] = {'checkpoint': 'tiny-gpt2-sharded-bf16'}
    golden['logits_hub_f16'] = logits_of(load_base(hub_dir), ids)
    cases['hub_f16'] = {'checkpoint': 'tiny-gpt2-hub-f16'}

    # Each adapter: trained weights stand in for a trained adapter (random, not the no-op init), saved with
    # save_pretrained, then loaded back the way a user would (PeftModel.from_pretrained) for the logits.
    def adapter_case(name: str, config: peft.PeftConfig, k: int) -> None:
        seeded(SEED + len(cases))
        model = get_peft_model(load_base(), config)
        with torch.no_grad():
            for param_name, param in model.named_parameters():
                if param.requires_grad:
                    param.copy_(torch.randn_like(param) * 0.5)
        folder = save_adapter(model, name)
        training_logits = logits_of(model, ids, k)
        loaded = PeftModel.from_pretrained(load_base(), folder)
        golden[f'logits_{name}'] = logits_of(loaded, ids, k)
        assert torch.allclose(training_logits, golden[f'logits_{name}'], atol=1e-5), name
        cases[name] = {'checkpoint': 'tiny-gpt2', 'adapter': f'adapters/{name}'}
        if name == 'lora':
            merged = loaded.merge_and_unload()
            golden['logits_lora_merged'] = logits_of(merged, ids)
            cases['lora_merged'] = {'checkpoint': 'tiny-gpt2', 'adapter': 'adapters/lora', 'merged': True}

    adapter_case('prompt-tuning', PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=K), K)
    adapter_case('prefix-tuning', PrefixTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=K), 0)
    adapter_case('p-tuning', PromptEncoderConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=K,
                                                 encoder_hidden_size=P_TUNING_HIDDEN), K)
    adapter_case('lora', LoraConfig(task_type=TaskType.CAUSAL_LM, r=LORA_RANK, lora_alpha=LORA_ALPHA,
                                    target_modules=['c_attn', 'mlp.c_proj'], fan_in_fan_out=True,
                                    lora_dropout=0.0), 0)
    # Added after the others, so that their seeds (SEED + case index) and files stay as they were.
    adapter_case('ia3', IA3Config(task_type=TaskType.CAUSAL_LM, fan_in_fan_out=True), 0)
    adapter_case('lora-all-linear', LoraConfig(task_type=TaskType.CAUSAL_LM, r=2, lora_alpha=3,
                                               target_modules='all-linear', fan_in_fan_out=True,
                                               lora_dropout=0.0), 0)
    with open(os.path.join(OUT, 'adapters', 'lora-all-linear', 'adapter_config.json')) as f:
        saved_targets = json.load(f)['target_modules']
    assert all(t.startswith('transformer.h.') for t in saved_targets), saved_targets  # PEFT wrote full paths
    data_fixtures(os.path.join(OUT, 'data'))
    hub_cache(os.path.join(OUT, 'hub-cache'), base_dir)

    save_file({name: t.contiguous() for name, t in golden.items()}, os.path.join(OUT, 'golden.safetensors'),
              metadata={'format': 'pt'})

    # Tokenizer goldens: ids from tokenizer.json (fast) and from vocab.json + merges.txt must agree.
    from_pair = AutoTokenizer.from_pretrained(sharded_dir)  # that folder has only vocab.json + merges.txt
    token_cases = []
    for text in TOKENIZER_STRINGS:
        fast_ids = tokenizer(text)['input_ids']
        pair_ids = from_pair(text)['input_ids']
        assert fast_ids == pair_ids, (text, fast_ids, pair_ids)
        token_cases.append({'text': text, 'ids': fast_ids, 'decoded': tokenizer.decode(fast_ids),
                            'tokens': tokenizer.convert_ids_to_tokens(fast_ids)})

    info = {
        'generatedBy': 'scripts/golden/make_fixtures.py',
        'versions': {'python': sys.version.split()[0], 'torch': torch.__version__,
                     'transformers': transformers.__version__, 'peft': peft.__version__,
                     'tokenizers': tokenizers.__version__},
        'seed': SEED,
        'config': CONFIG,
        'virtualTokens': K,
        'texts': texts,
        'inputShape': list(ids.shape),
        'cases': cases,
        'tokenizer': token_cases,
    }
    with open(os.path.join(OUT, 'golden.json'), 'w', encoding='utf-8') as f:
        json.dump(info, f, indent=1, ensure_ascii=False)
        f.write('\n')

    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f'wrote {OUT}: {total / 1024:.0f} KiB')


if __name__ == '__main__':
    main()
