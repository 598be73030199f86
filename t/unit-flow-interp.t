#!/usr/bin/perl
# The C unit tests of the call interpreter (flow/): t/unit/flow_interp.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use UnitBinary;

UnitBinary::run('flow_interp');
