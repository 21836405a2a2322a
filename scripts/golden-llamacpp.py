"""Golden greedy outputs from llama.cpp (the prebuilt CPU wheel xllamacpp, a
test reference only, never part of the product) for the sample and the
conformance set's requantized variants of it: the first 16 greedy ids after the sample's
golden prompt, and at every step llama.cpp's second choice and the log-probability
gap between its first and second choice (a logit difference) (where it is small, quantized arithmetic may pick
either). Also Gemma 3 270M Q4_K_M on its golden prompt; for the sample and Gemma, the same again with the
quantized caches our decoder steps down to in a long chat (llama.cpp's --cache-type-k/-v: q8_0 and q8_0,
then q8_0 and q4_0). Writes tests/golden/requantized.json.
With --scale, the same for the scale set (scripts/scale-set.sh) on the sample's prompt ids, into
tests/golden/scale.json (the 3B's is checked by an ignored test, outside CI).

Usage: python3 scripts/golden-llamacpp.py [--scale]   (after scripts/requantized.sh, or
scripts/scale-set.sh; reads the prompt ids from ../shared/fixtures/golden/prompt_ids.txt)"""
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


# ggml's type ids, for CommonParams.cache_type_k/_v.
GGML_TYPE = {"f16": 1, "q4_0": 2, "q8_0": 8}
# The rungs of our cache's ladder below f16 (crates/inference/src/decoder/cache.rs), as (keys, values).
QUANTIZED_CACHES = [("q8_0", "q8_0"), ("q8_0", "q4_0")]


def greedy(path, prompt, cache=("f16", "f16")):
    """llama.cpp's 16 greedy steps after `prompt`, its cache keeping keys and values
    in `cache`: ids, second choices, gaps and text."""
    params = xl.CommonParams()
    params.cache_type_k, params.cache_type_v = (GGML_TYPE[t] for t in cache)
    params.model.path = str(path)
    params.n_ctx = 512
    params.cpuparams.n_threads = 2
    params.cpuparams_batch.n_threads = 2
    os.dup2(devnull, 2)
    server = xl.Server(params)
    reply = server.handle_completions({
        "prompt": prompt, "n_predict": 16, "temperature": 0, "top_k": 1, "ignore_eos": True, "n_probs": 2,
    })
    os.dup2(stderr, 2)
    del server
    steps = reply["choices"][0]["logprobs"]["content"]
    return {
        "ids": [s["id"] for s in steps],
        "second_ids": [s["top_logprobs"][1]["id"] for s in steps],
        "text": reply["choices"][0]["text"],
        "llama_cpp_top2_gap": [round(s["top_logprobs"][0]["logprob"] - s["top_logprobs"][1]["logprob"], 4) for s in steps],
    }


if "--scale" in sys.argv[1:]:
    scale = {
        "reference": f"llama.cpp (xllamacpp {version} from PyPI), greedy (temperature 0, top_k 1), 2 threads, "
                     "end-of-sequence ignored, prompt: ../shared/fixtures/golden/prompt_ids.txt (110 ids, no BOS added)",
        "made_by": "scripts/scale-set.sh, then python3 scripts/golden-llamacpp.py --scale",
        "variants": [],
    }
    for name in ["llama-0.5b", "gemma3-1b", "llama-1.2b", "llama-3b"]:
        path = root / "sample/scale" / f"{name}-q4_k_m.gguf"
        g = greedy(path, prompt)
        del g["text"]  # random weights: no sensible text
        scale["variants"].append({"name": name, "file": f"sample/scale/{path.name}",
                                  "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), **g})
        print(name, g["ids"], file=sys.stderr)
    (root / "tests/golden/scale.json").write_text(json.dumps(scale, indent=1) + "\n")
    sys.exit(0)

for kind in ["Q4_1", "Q8_0", "Q4_K", "Q6_K", "F16", "Q4_K_M"]:
    # Q4_1 is the sample itself, the file the others are made from; Q4_K_M is Gemma 3 270M
    # (scripts/gemma.sh) on the prompt of ../shared/fixtures/golden/gemma-3-270m-q4_k_m.json.
    if kind == "Q4_K_M":
        folder, path = "sample/gemma-3-270m", root / "sample/gemma-3-270m/gemma-3-270m-q4_k_m.gguf"
    else:
        folder = "sample/SmolLM2-135M-Instruct" if kind == "Q4_1" else f"sample/requantized/{kind}"
        path = root / folder / f"SmolLM2-135M-Instruct.{kind}.gguf"
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    g = greedy(path, gemma_prompt if kind == "Q4_K_M" else prompt)
    variant = {
        "type": kind, "prompt": "text" if kind == "Q4_K_M" else "ids", "file": f"{folder}/{path.name}", "sha256": sha,
        "ids": g["ids"], "second_ids": g["second_ids"], "text": g["text"], "llama_cpp_top2_gap": g["llama_cpp_top2_gap"],
    }
    if kind in ("Q4_1", "Q4_K_M"):
        variant["caches"] = []
        for cache in QUANTIZED_CACHES:
            c = greedy(path, gemma_prompt if kind == "Q4_K_M" else prompt, cache)
            variant["caches"].append({"k": cache[0], "v": cache[1], **c})
            print(kind, cache, c["ids"], file=sys.stderr)
    out["variants"].append(variant)
    print(kind, g["ids"], file=sys.stderr)
(root / "tests/golden/requantized.json").write_text(json.dumps(out, indent=1) + "\n")
