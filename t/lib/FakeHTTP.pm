package FakeHTTP;
# The HTTP/1.1 request reader the wire fakes (FakePolly, FakeWazo) share:
# one request from a connected socket, with Expect: 100-continue, chunked
# and Content-Length bodies, a 30 s deadline and a 1 MiB header cap.
# Core Perl only.
use strict;
use warnings;
use IO::Select;
use Time::HiRes qw(time);

# Returns { method, path, query, headers (lowercase names), body (bytes) },
# or nothing when the peer sent no complete request.
sub read_request {
	my ($conn) = @_;
	my $sel = IO::Select->new($conn);
	my $deadline = time + 30;
	my $buf = '';
	my $fill = sub {
		my $left = $deadline - time;
		return 0 if $left <= 0 || !$sel->can_read($left);
		return sysread($conn, $buf, 65536, length $buf) || 0;
	};
	until ($buf =~ /\r?\n\r?\n/) {
		return if length $buf > 1 << 20;
		$fill->() or return;
	}
	my ($head, $rest) = split /\r?\n\r?\n/, $buf, 2;
	$buf = $rest;
	my ($line, @lines) = split /\r?\n/, $head;
	my ($method, $target) = $line =~ m{^(\S+) (\S+) HTTP/1\.[01]$}
	    or return;
	my (%headers, %seen);
	for (@lines) {
		my ($name, $value) = /^([^:\s]+):[ \t]*(.*?)[ \t]*$/ or next;
		$name = lc $name;
		$headers{$name} = $seen{$name}++ ? "$headers{$name},$value"
		    : $value;
	}
	syswrite $conn, "HTTP/1.1 100 Continue\r\n\r\n"
	    if lc($headers{expect} // '') eq '100-continue';
	my $body = '';
	if (lc($headers{'transfer-encoding'} // '') eq 'chunked') {
		while (1) {
			until ($buf =~ /\r\n/) { $fill->() or return }
			$buf =~ s/^([0-9A-Fa-f]+)[^\r\n]*\r\n// or return;
			my $size = hex $1;
			if ($size == 0) {
				until ($buf =~ /^\r\n|\r\n\r\n/) {
					$fill->() or last;
				}
				last;
			}
			while (length $buf < $size + 2) { $fill->() or return }
			$body .= substr($buf, 0, $size);
			substr($buf, 0, $size + 2, '');
		}
	} elsif (($headers{'content-length'} // '') =~ /^(\d+)$/) {
		my $len = $1;
		while (length $buf < $len) { $fill->() or return }
		$body = substr($buf, 0, $len);
	}
	my ($path, $query) = split /\?/, $target, 2;
	return { method => $method, path => $path, query => $query // '',
	    headers => \%headers, body => $body };
}

1;
