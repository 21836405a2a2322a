"""Golden greedy outputs from llama.cpp (the prebuilt CPU wheel xllamacpp, a
test reference only, never part of the product) for the sample and the
conformance set's requantized variants of it: the first 16 greedy ids after the sample's
golden prompt, and at every step llama.cpp's second choice and the log-probability
gap between its first and second choice (a logit difference) (where it is small, quantized arithmetic may pick
either). Also Gemma 3 270M Q4_K_M on its golden prompt. Writes tests/golden/requantized.json.

Usage: python3 scripts/golden-llamacpp.py   (after scripts/requantized.sh;
reads the prompt ids from ../shared/fixtures/golden/prompt_ids.txt)"""
import hashlib
import json
import os
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root / ".tools/bench/python"))
import xllamacpp as xl  # noqa: E402

prompt = [int(x) for x in (root / "../shared/fixtures/golden/prompt_ids.txt").read_text().replace(",", " ").split()]
version = next((root / ".tools/bench/python").glob("xllamacpp-*.dist-info")).name.removeprefix("xllamacpp-").removesuffix(".dist-info")
gemma_prompt = json.loads((root / "../shared/fixtures/golden/gemma-3-270m-q4_k_m.json").read_text())["prompt"]
devnull = os.open(os.devnull, os.O_WRONLY)
stderr = os.dup(2)
out = {
    "reference": f"llama.cpp (xllamacpp {version} from PyPI), greedy (temperature 0, top_k 1), 2 threads, "
                 "end-of-sequence ignored, prompt: ../shared/fixtures/golden/prompt_ids.txt (110 ids)",
    "made_by": "scripts/requantized.sh, then python3 scripts/golden-llamacpp.py",
    "prompt_text": gemma_prompt,
    "variants": [],
}
for kind in ["Q4_1", "Q8_0", "Q4_K", "Q6_K", "F16", "Q4_K_M"]:
    # Q4_1 is the sample itself, the file the others are made from; Q4_K_M is Gemma 3 270M
    # (scripts/gemma.sh) on the prompt of ../shared/fixtures/golden/gemma-3-270m-q4_k_m.json.
    if kind == "Q4_K_M":
        folder, path = "sample/gemma-3-270m", root / "sample/gemma-3-270m/gemma-3-270m-q4_k_m.gguf"
    else:
        folder = "sample/SmolLM2-135M-Instruct" if kind == "Q4_1" else f"sample/requantized/{kind}"
        path = root / folder / f"SmolLM2-135M-Instruct.{kind}.gguf"
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    params = xl.CommonParams()
    params.model.path = str(path)
    params.n_ctx = 512
    params.cpuparams.n_threads = 2
    params.cpuparams_batch.n_threads = 2
    os.dup2(devnull, 2)
    server = xl.Server(params)
    reply = server.handle_completions({
        "prompt": gemma_prompt if kind == "Q4_K_M" else prompt, "n_predict": 16, "temperature": 0, "top_k": 1, "ignore_eos": True, "n_probs": 2,
    })
    os.dup2(stderr, 2)
    steps = reply["choices"][0]["logprobs"]["content"]
    ids = [s["id"] for s in steps]
    seconds = [s["top_logprobs"][1]["id"] for s in steps]
    gaps = [round(s["top_logprobs"][0]["logprob"] - s["top_logprobs"][1]["logprob"], 4) for s in steps]
    out["variants"].append({
        "type": kind, "prompt": "text" if kind == "Q4_K_M" else "ids", "file": f"{folder}/{path.name}", "sha256": sha,
        "ids": ids, "second_ids": seconds, "text": reply["choices"][0]["text"], "llama_cpp_top2_gap": gaps,
    })
    print(kind, ids, file=sys.stderr)
    del server
(root / "tests/golden/requantized.json").write_text(json.dumps(out, indent=1) + "\n")
