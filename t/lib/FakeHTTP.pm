package FakeHTTP;
# What the wire fakes (FakePolly, FakeWazo) share: the server in a child
# process on 127.0.0.1 port 0, its mode and request log (files, so they
# cross the process boundary), stop and the END guard, and the HTTP/1.1
# request reader (Expect: 100-continue, chunked and Content-Length bodies,
# a 30 s deadline, a 1 MiB header cap). Core Perl only.
use strict;
use warnings;
use Carp qw(croak);
use Fcntl qw(:flock);
use IO::Select;
use IO::Socket::IP;
use JSON::PP;
use MIME::Base64 qw(decode_base64);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

my $JSON = JSON::PP->new->utf8->canonical;
my @running;

# --- the base class of the wire fakes --------------------------------------
# A fake gives name() ("fake Polly"), modes() and _serve($listen, $owner),
# keeps its files in $self->{dir} (mode, requests.jsonl) and ends its
# start() with $self->_spawn: a server on 127.0.0.1, port 0, in a child.

sub _spawn {
	my ($self) = @_;
	my $listen = IO::Socket::IP->new(LocalHost => '127.0.0.1',
	    LocalPort => 0, Listen => 64, ReuseAddr => 1, Proto => 'tcp')
	    or croak $self->name . ": listen: $@";
	$self->{port} = $listen->sockport;
	my $owner = $$;
	my $pid = fork // croak "fork: $!";
	if ($pid == 0) {
		# _exit, never exit: the test's END blocks (Test::More's
		# summary, IvrdTest's guard) must not run in here.
		my $ok = eval { $self->_serve($listen, $owner); 1 };
		warn $self->name . ": $@" unless $ok;
		POSIX::_exit($ok ? 0 : 1);
	}
	close $listen;
	$self->{pid} = $pid;
	$self->{owner} = $$;
	push @running, $self;
	return $self;
}

sub url { "http://127.0.0.1:$_[0]{port}" }
sub port { $_[0]{port} }
sub dir { $_[0]{dir} }
sub pid { $_[0]{pid} }

# mode() reads the mode; mode(NAME) sets it for every later request and
# for requests held by 'hang'.
sub mode {
	my ($self, $mode) = @_;
	return _read_mode($self->{dir}) unless defined $mode;
	my @modes = $self->modes;
	grep { $_ eq $mode } @modes
	    or croak $self->name . ": unknown mode '$mode' (@modes)";
	my $tmp = "$self->{dir}/mode.tmp.$$";
	open my $fh, '>', $tmp or croak "$tmp: $!";
	print $fh "$mode\n";
	close $fh or croak "$tmp: $!";
	rename $tmp, "$self->{dir}/mode" or croak "rename $tmp: $!";
	return $mode;
}

# Every request received so far, oldest first. Each is logged before it
# is answered, so a client that has its answer finds its request here.
sub requests {
	my ($self) = @_;
	my @reqs;
	open my $fh, '<', "$self->{dir}/requests.jsonl" or return [];
	flock $fh, LOCK_SH;
	while (my $line = <$fh>) {
		next unless $line =~ /\n\z/;	# a line still being written
		my $r = $JSON->decode($line);
		$r->{body} = decode_base64(delete $r->{body_b64});
		$r->{json} = length $r->{body}
		    ? eval { $JSON->decode($r->{body}) } : undef;
		push @reqs, $r;
	}
	close $fh;
	return \@reqs;
}

# Forgets the requests logged so far.
sub clear_requests {
	my ($self) = @_;
	open my $fh, '+<', "$self->{dir}/requests.jsonl" or croak "$!";
	flock $fh, LOCK_EX;
	truncate $fh, 0;
	close $fh;
}

# Stops the server and every connection it is serving.
sub stop {
	my ($self) = @_;
	my $pid = delete $self->{pid} or return;
	kill 'TERM', $pid;
	my $deadline = time + 5;
	while (time < $deadline) {
		return if waitpid($pid, WNOHANG) == $pid;
		sleep 0.01;
	}
	kill 'KILL', $pid;
	waitpid($pid, 0);
}

sub _read_mode {
	my ($dir) = @_;
	open my $fh, '<', "$dir/mode" or return 'ok';
	my $mode = <$fh> // 'ok';
	chomp $mode;
	return $mode;
}

# A random (version 4) UUID, as AWS request ids and Wazo tokens look.
sub uuid {
	my @b = map { int rand 256 } 1 .. 16;
	$b[6] = ($b[6] & 0x0f) | 0x40;
	$b[8] = ($b[8] & 0x3f) | 0x80;
	return sprintf('%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-'
	    . '%02x%02x%02x%02x%02x%02x', @b);
}

# Each fake may refuse connections outright (FakeWazo's 'down').
sub _drop_connection { 0 }

# Holds a request the mode does not answer yet ('hang', 'stall'): asks
# $answer->($mode) every 50 ms until it gives a response. Nothing when the
# client leaves, the server is stopped or the fake starts dropping.
sub _hold {
	my ($self, $conn, $server, $answer) = @_;
	my $sel = IO::Select->new($conn);
	while (1) {
		sleep 0.05;
		return if getppid() != $server;
		if ($sel->can_read(0)) {
			my $n = sysread $conn, my $junk, 4096;
			return unless $n;
		}
		return if $self->_drop_connection;
		my $resp = $answer->(_read_mode($self->{dir}));
		return $resp if $resp;
	}
}

sub _serve {
	my ($self, $listen, $owner) = @_;
	my $server = $$;
	my %kids;
	$SIG{PIPE} = 'IGNORE';
	$SIG{TERM} = sub {
		# Reap what we end: orphaned zombies would outlive the test.
		kill 'TERM', keys %kids;
		my $deadline = time + 2;
		while (%kids && time < $deadline) {
			my $kid = waitpid(-1, WNOHANG);
			last if $kid < 0;
			$kid ? delete $kids{$kid} : sleep 0.01;
		}
		POSIX::_exit(0);
	};
	my $sel = IO::Select->new($listen);
	while (1) {
		# The test process died without stopping us.
		POSIX::_exit(0) if getppid() != $owner;
		while ((my $kid = waitpid(-1, WNOHANG)) > 0) {
			delete $kids{$kid};
		}
		next unless $sel->can_read(0.2);
		my $conn = $listen->accept or next;
		if ($self->_drop_connection) {
			close $conn;
			next;
		}
		my $kid = fork;
		if (!defined $kid) {
			close $conn;
			next;
		}
		if ($kid == 0) {
			$SIG{TERM} = 'DEFAULT';
			srand();	# else every connection draws the same ids
			close $listen;
			my $ok = eval { $self->_connection($conn, $server); 1 };
			warn $self->name . ": $@" unless $ok;
			POSIX::_exit(0);
		}
		$kids{$kid} = 1;
		close $conn;
	}
}

sub _log {
	my ($self, $entry) = @_;
	delete $entry->{body};
	my $line = $JSON->encode($entry) . "\n";
	open my $fh, '>>', "$self->{dir}/requests.jsonl" or die "log: $!";
	flock $fh, LOCK_EX;
	syswrite $fh, $line;
	close $fh;
}

END {
	for my $fake (@running) {
		$fake->stop if $fake->{pid} && $fake->{owner} == $$;
	}
}

# --- reading requests -------------------------------------------------------

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
