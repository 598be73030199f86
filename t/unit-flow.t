#!/usr/bin/perl
# The C unit tests of flow validation (flow/): t/unit/flow_validate.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use UnitBinary;

UnitBinary::run('flow_validate');
