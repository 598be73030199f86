#!/usr/bin/perl
# The C unit tests of the TTS cache key (tts/): t/unit/tts_key.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use UnitBinary;

UnitBinary::run('tts_key');
