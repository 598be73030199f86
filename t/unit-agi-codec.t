#!/usr/bin/perl
# The C unit tests of the FastAGI line codec (agi/codec.c): t/unit/agi_codec.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use UnitBinary;

UnitBinary::run('agi_codec');
