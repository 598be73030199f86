#!/usr/bin/perl
# The C unit tests of the Wazo mapping (wazo/): t/unit/wazo_map.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use UnitBinary;

$ENV{IVRD_FIXTURES} //= "$FindBin::Bin/fixtures/wazo";
UnitBinary::run('wazo_map');
