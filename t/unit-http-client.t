#!/usr/bin/perl
# The C unit tests of the outbound HTTP client (net/): t/unit/http_client.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use UnitBinary;

UnitBinary::run('http_client');
