"""Native llama.cpp (the prebuilt CPU wheel xllamacpp) on the benchmark's prompt:
greedy, end-of-sequence ignored, N new tokens, T threads. Prints one JSON line
with prompt and decode tokens per second. A benchmark reference only: never
part of the product.  Usage: llamacpp.py MODEL PROMPT_FILE N THREADS"""
import json
import os
import sys

import xllamacpp as xl

model, prompt_file, n, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
params = xl.CommonParams()
params.model.path = model
params.n_ctx = 1024
params.cpuparams.n_threads = threads
params.cpuparams_batch.n_threads = threads
# The server's own log goes to stderr; keep stdout for the result.
devnull = os.open(os.devnull, os.O_WRONLY)
os.dup2(devnull, 2)
server = xl.Server(params)
reply = server.handle_completions({
    "prompt": open(prompt_file).read(), "n_predict": n, "temperature": 0, "top_k": 1, "ignore_eos": True,
})
t = reply["timings"]
print(json.dumps({"prompt_tok_s": t["prompt_per_second"], "decode_tok_s": t["predicted_per_second"],
                  "prompt_tokens": t["prompt_n"], "new_tokens": t["predicted_n"]}))
