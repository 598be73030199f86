#!/usr/bin/perl
# The C unit tests of call records in the store (store/): t/unit/store_calls.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use UnitBinary;

UnitBinary::run('store_calls');
