#!/usr/bin/env python3
"""Train here, load with PEFT: run by hand in the fixture venv (see make_fixtures.py), after `npm run build`.

Runs scripts/golden/ours_to_peft.mjs, which writes peftscale adapters (prompt tuning, projected prefix
tuning, LSTM P-tuning, LoRA on three sites, (IA)³ on four sites with two feed-forward ones) in PEFT's format with our logits beside each, then loads every
one with PeftModel.from_pretrained onto test/fixtures/hf/tiny-gpt2 and compares PEFT's logits with ours.
It also loads a checkpoint written here (d_ff != 4d, so n_inner is read) with GPT2LMHeadModel.from_pretrained.
Then a quick experiment (scripts/golden/export_experiment.json: tiny-gpt2 on the RTE rows, a few steps of
prompt tuning, LoRA on all four sites and (IA)³) runs through the CLI, `peftscale export` writes its
adapters, and every PEFT-format one is loaded with PeftModel.from_pretrained and compared the same way.
Exits 1 if any differs by more than 1e-4.
"""
import json
import os
import subprocess
import sys
import tempfile

import torch
from peft import PeftModel
from transformers import GPT2LMHeadModel

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BASE = os.path.join(ROOT, 'test', 'fixtures', 'hf', 'tiny-gpt2')

with tempfile.TemporaryDirectory() as out:
    subprocess.run(['node', os.path.join(ROOT, 'scripts', 'golden', 'ours_to_peft.mjs'), out], cwd=ROOT, check=True)
    ours = json.load(open(os.path.join(out, 'checkpoint.json')))
    ids = torch.tensor([ours['input_ids']])
    with torch.no_grad():
        logits = GPT2LMHeadModel.from_pretrained(os.path.join(out, 'checkpoint'), dtype=torch.float32).eval()(input_ids=ids).logits
    worst = (logits - torch.tensor(ours['logits']).view(*ours['shape'])).abs().max().item()
    print(f'checkpoint: max |transformers - peftscale| = {worst:.2e}')
    for name in sorted(n for n in os.listdir(out) if n not in ('checkpoint', 'checkpoint.json')):
        folder = os.path.join(out, name)
        ours = json.load(open(os.path.join(folder, 'ours.json')))
        model = PeftModel.from_pretrained(GPT2LMHeadModel.from_pretrained(BASE, dtype=torch.float32), folder).eval()
        ids = torch.tensor([ours['input_ids']])
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
        logits = logits[:, -ids.shape[1]:, :]  # prompt methods return the virtual positions first
        expected = torch.tensor(ours['logits']).view(*ours['shape'])
        difference = (logits - expected).abs().max().item()
        worst = max(worst, difference)
        print(f'{name}: max |PEFT - peftscale| = {difference:.2e}')

    # A quick experiment run: its trained adapters, exported, must load in PEFT with our logits.
    cli = os.path.join(ROOT, 'dist', 'experiments', 'cli.js')
    experiment = os.path.join(ROOT, 'scripts', 'golden', 'export_experiment.json')
    trials, exported = os.path.join(out, 'run', 'trials'), os.path.join(out, 'run', 'exported')
    subprocess.run(['node', cli, 'experiment', experiment, '--trial-cache', trials, '--results', os.path.join(out, 'run', 'results'),
                    '--cache', os.path.join(out, 'run', 'cache'), '--workers', '1', '--no-report'], cwd=ROOT, check=True)
    subprocess.run(['node', cli, 'export', experiment, '--trial-cache', trials, '--out', exported], cwd=ROOT, check=True)
    folders = sorted(os.listdir(exported))
    assert len(folders) == 3, folders
    for name in folders:
        folder = os.path.join(exported, name)
        subprocess.run(['node', os.path.join(ROOT, 'scripts', 'golden', 'ours_to_peft.mjs'), '--logits', folder], cwd=ROOT, check=True)
        ours = json.load(open(os.path.join(folder, 'ours.json')))
        model = PeftModel.from_pretrained(GPT2LMHeadModel.from_pretrained(BASE, dtype=torch.float32), folder).eval()
        ids = torch.tensor([ours['input_ids']])
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[:, -ids.shape[1]:, :]
        difference = (logits - torch.tensor(ours['logits']).view(*ours['shape'])).abs().max().item()
        worst = max(worst, difference)
        print(f'exported {name}: max |PEFT - peftscale| = {difference:.2e}')
    sys.exit(0 if worst <= 1e-4 else 1)
