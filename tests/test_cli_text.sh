#!/bin/sh
# test_cli_text.sh - the text sources of the `lamina` command: text:PATH (a char
# language model) and textcls:DIR, the tokenizer kept in the model file, and the
# errors they promise. POSIX sh; run by ctest from tests/ with LAMINA_BUILD_DIR set.
set -eu

. "$(dirname "$0")/cli_common.sh"
F="$(cd "$(dirname "$0")/fixtures/text" && pwd)"

# The fixture corpus has 93 distinct characters (tests/fixtures/text/char_vocab.txt).
cat >"$tmp/lm.json" <<'JSON'
{"module": "keras", "class_name": "Sequential", "config": {"name": "charlm", "layers": [
 {"class_name": "InputLayer", "config": {"batch_shape": [null, 16]}},
 {"class_name": "Embedding", "config": {"input_dim": 93, "output_dim": 8}},
 {"class_name": "Dense", "config": {"units": 32, "activation": "relu"}},
 {"class_name": "Dense", "config": {"units": 93, "activation": "softmax"}}]}}
JSON

# --- text:PATH -----------------------------------------------------------------
expect_rc 0 train --model "$tmp/lm.json" --data "text:$F/corpus.txt" --epochs 3 --lr 0.01 \
    --json --out "$tmp/lm.safetensors"
cp "$tmp/out" "$tmp/train.json"
err_has "char tokenizer trained on $F/corpus.txt: 93 tokens"
grep -q '"meta.tokenizer":"{\\"type\\":\\"char\\"' "$tmp/lm.safetensors" || fail "tokenizer in the file"
loss1=$(sed -n 's/.*"history":\[{"epoch":1,"loss":\([-0-9.eE+]*\).*/\1/p' "$tmp/train.json")
test_acc=$(sed -n 's/.*"test":{[^}]*"accuracy":\([-0-9.eE+]*\).*/\1/p' "$tmp/train.json")
[ -n "$test_acc" ] || fail "train on text: no test split (the last 10%)"
ok "train on text:PATH with the char tokenizer (first loss $loss1, test accuracy $test_acc)"

# evaluate uses the model's tokenizer and the same last 10%: the same accuracy.
expect_rc 0 evaluate "$tmp/lm.safetensors" --data "text:$F/corpus.txt" --json
[ "$(json_num accuracy "$tmp/out")" = "$test_acc" ] || fail "evaluate differs from train's test"
# (3150 bytes, 3069 characters: the last 307 give (307 - 1) / 16 = 19 windows)
grep -q '"samples":19' "$tmp/out" || fail "19 validation windows: $(cat "$tmp/out")"
ok "evaluate on text:PATH reuses the tokenizer: accuracy $test_acc on 19 windows"

# Resume keeps the tokenizer; --tokenizer is then reported as unused.
expect_rc 0 train --resume "$tmp/lm.safetensors" --data "text:$F/corpus.txt" --epochs 4 \
    --tokenizer bpe:300 --verbose 0
err_has "has a tokenizer (93 tokens); --tokenizer bpe:300 is not used"
ok "resume reuses the saved tokenizer"

# Errors name the file and what was expected.
expect_rc 1 train --model "$tmp/lm.json" --data "text:$F/corpus.txt" --tokenizer bpe:300
err_has "ids reach 299 (a vocabulary of 300 tokens), but layer \"embedding\" of model \"charlm\" has input_dim 93"
expect_rc 1 train --model "$tmp/lm.json" --data "text:$F/corpus.txt" --tokenizer bpe:100
err_has "vocabulary too small"
expect_rc 1 train --model "$tmp/lm.json" --data "text:$F/corpus.txt" --block 3000
err_has "block 3000 is larger than the corpus"
expect_rc 1 train --model "$tmp/lm.json" --data "text:$tmp/absent.txt"
err_has "$tmp/absent.txt: cannot open"
printf 'caf\351\n' >"$tmp/latin1.txt"
expect_rc 1 train --model "$tmp/lm.json" --data "text:$tmp/latin1.txt"
err_has "latin1.txt: invalid UTF-8 at byte offset 3"
: >"$tmp/empty.txt"
expect_rc 1 train --model "$tmp/lm.json" --data "text:$tmp/empty.txt"
err_has "empty corpus"
expect_rc 2 train --model "$tmp/lm.json" --data "text:$F/corpus.txt" --block -1
ok "text errors: vocabulary too large for the model, too small, block, missing, not UTF-8, empty"

# A model trained on other data has no tokenizer to evaluate text with.
cat >"$tmp/plain.json" <<'JSON'
{"module": "keras", "class_name": "Sequential", "config": {"name": "plain", "layers": [
 {"class_name": "InputLayer", "config": {"batch_shape": [null, 16]}},
 {"class_name": "Dense", "config": {"units": 2, "activation": "softmax"}}]}}
JSON
expect_rc 1 evaluate "$tmp/plain.json" --data "text:$F/corpus.txt"
err_has "has no tokenizer"
ok "evaluate without a tokenizer is refused"

# --- textcls:DIR ---------------------------------------------------------------
# classes alpha, beta, delta; the char vocabulary of the samples fits input_dim 64.
cat >"$tmp/cls.json" <<'JSON'
{"module": "keras", "class_name": "Sequential", "config": {"name": "cls", "layers": [
 {"class_name": "InputLayer", "config": {"batch_shape": [null, 12]}},
 {"class_name": "Embedding", "config": {"input_dim": 64, "output_dim": 8}},
 {"class_name": "GlobalAveragePooling1D", "config": {}},
 {"class_name": "Dense", "config": {"units": 3, "activation": "softmax"}}]}}
JSON
expect_rc 0 train --model "$tmp/cls.json" --data "textcls:$F/textcls_files" --epochs 30 \
    --batch-size 2 --lr 0.05 --verbose 0 --out "$tmp/cls.safetensors"
expect_rc 0 evaluate "$tmp/cls.safetensors" --data "textcls:$F/textcls_files" --json
grep -q '"samples":7' "$tmp/out" || fail "7 samples: $(cat "$tmp/out")"
expect_rc 0 predict "$tmp/cls.safetensors" --data "textcls:$F/textcls_files" --top 1
grep -q -E ': (alpha|beta|delta) \([0-2]\)' "$tmp/out" || fail "predict shows the class names"
ok "train, evaluate, predict on textcls:DIR (class names kept with the model)"

expect_rc 1 train --model "$tmp/cls.json" --data "textcls:$F/textcls_files" --max-len 5
err_has "samples have shape (5,)"
mkdir -p "$tmp/one/only"
printf 'lonely\n' >"$tmp/one/only/a.txt"
expect_rc 1 train --model "$tmp/cls.json" --data "textcls:$tmp/one"
err_has "$tmp/one: 1 class found, expected at least 2"
expect_rc 1 train --model "$tmp/cls.json" --data "textcls:$F"
err_has "textcls_dirs: class \"textcls_dirs\" has no samples"
expect_rc 0 compare --data "textcls:$F/textcls_files" --models tree
grep -q "tree" "$tmp/out" || fail "compare on token counts"
expect_rc 2 compare --data "text:$F/corpus.txt" --models tree
ok "textcls errors; compare on token counts"

# --- a causal transformer from Keras's JSON, and generate ------------------------
E="$(cd "$(dirname "$0")/../examples" && pwd)"
expect_rc 0 summary "$E/causal_lm.json"
grep -q "Total params: 120,704" "$tmp/out" || fail "causal_lm.json: Keras's total is 120,704"
expect_rc 0 train --model "$E/causal_lm.json" --data "text:$F/corpus.txt" --block 64 --epochs 2 \
    --verbose 0 --out "$tmp/gpt.safetensors" --json
ok "examples/causal_lm.json (two causal attention blocks, keras_hub embedding) trains on text"
expect_rc 0 generate "$tmp/gpt.safetensors" --prompt "The " --tokens 40 --seed 5 --json
cp "$tmp/out" "$tmp/cached.json"
expect_rc 0 generate "$tmp/gpt.safetensors" --prompt "The " --tokens 40 --seed 5 --json --no-cache
sed 's/"ms_per_token":[^,]*,//; s/"first_token_ms":[^,]*,//; s/"cache":[a-z]*//' "$tmp/cached.json" > "$tmp/a"
sed 's/"ms_per_token":[^,]*,//; s/"first_token_ms":[^,]*,//; s/"cache":[a-z]*//' "$tmp/out" > "$tmp/b"
cmp -s "$tmp/a" "$tmp/b" || fail "cached and uncached generation differ: $(cat "$tmp/a" "$tmp/b")"
grep -q '"tokens":40' "$tmp/out" || fail "40 tokens: $(cat "$tmp/out")"
expect_rc 0 generate "$tmp/gpt.safetensors" --prompt "The " --tokens 40 --seed 6 --json
cmp -s "$tmp/cached.json" "$tmp/out" && fail "another seed gives the same text"
expect_rc 0 generate "$tmp/gpt.safetensors" --prompt "The " --tokens 12 --seed 5
head -c 4 "$tmp/out" | grep -q "^The " || fail "the stream starts with the prompt"
ok "generate: the same text with and without the key/value cache; seeds differ; streaming"
expect_rc 1 generate "$tmp/gpt.safetensors" --prompt "Tea €" --tokens 5
err_has "--prompt: character U+20AC '€' at byte offset 4 is not in the char tokenizer's vocabulary"
[ ! -s "$tmp/out" ] || fail "nothing printed for a refused prompt"
expect_rc 1 generate "$tmp/gpt.safetensors" --top-p 0
err_has "top_p 0, expected 0 < top_p <= 1"
expect_rc 2 generate
ok "generate refuses unknown characters (naming them) and bad options"
