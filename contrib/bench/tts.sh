#!/bin/sh
# TTS costs: real-time factor of local synthesis, pre-render of 150
# prompts, a cache hit (contrib/bench/tts_bench.c on the real code), then
# a 150-prompt flow through the API with GET latency meanwhile.
# usage: contrib/bench/tts.sh   (from a built tree)
set -eu
cd "$(dirname "$0")/../.."
make -s contrib/bench/tts_bench
./contrib/bench/tts_bench 2>/dev/null
perl contrib/bench/tts-api.pl
