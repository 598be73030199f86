package UnitBinary;
# Runs a C unit test binary (t/unit/NAME) under prove: the binary prints
# TAP itself, and exec hands prove its output and exit status. A missing
# binary is a failure, not a skip: a skipped unit suite looks exactly like
# a passing one in a summary.
use strict;
use warnings;
use File::Basename qw(dirname);

sub run {
	my ($name) = @_;
	my $bin = defined $ENV{IVRD_BUILDDIR}
	    ? "$ENV{IVRD_BUILDDIR}/t/unit/$name"
	    : dirname(__FILE__) . "/../unit/$name";
	unless (-x $bin) {
		print "Bail out! t/unit/$name is not built (run make check)\n";
		exit 1;
	}
	exec { $bin } $bin or do {
		print "Bail out! cannot run $bin: $!\n";
		exit 1;
	};
}

1;
