#!/usr/bin/perl
# Runs the C unit tests of the TTS cache key (t/unit/tts_key.c) under prove.
# The binary prints TAP itself; exec hands prove its output and exit status.
# A missing binary is a failure, not a skip: a skipped unit test suite
# looks exactly like a passing one in a summary.
use strict;
use warnings;
use FindBin;

my $bin = defined $ENV{IVRD_BUILDDIR}
    ? "$ENV{IVRD_BUILDDIR}/t/unit/tts_key"
    : "$FindBin::Bin/unit/tts_key";

unless (-x $bin) {
	print "Bail out! t/unit/tts_key is not built (run make check)\n";
	exit 1;
}
exec { $bin } $bin or do {
	print "Bail out! cannot run $bin: $!\n";
	exit 1;
};
