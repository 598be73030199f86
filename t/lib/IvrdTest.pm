package IvrdTest;
# Starts the real ivrd on loopback port 0 with a temp data dir, talks to
# its API over real HTTP, and stops it: TERM, then KILL, failing the test
# unless it exited cleanly. Core Perl only.
#
#   my $ivrd = IvrdTest->start;
#   my $res  = $ivrd->req(GET => '/flows');      # token of tenant 'acme'
#   is($res->{status}, 200);
#   $ivrd->stop;                                  # one test: clean exit
#
# IVRD_VALGRIND=1 runs the daemon under valgrind (a leak or error fails).
use strict;
use warnings;
use Carp qw(croak);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);

our $JSON = JSON::PP->new->utf8->canonical->allow_nonref;
my @running;

sub builddir {
	return $ENV{IVRD_BUILDDIR} if $ENV{IVRD_BUILDDIR};
	return abs_path(dirname(__FILE__) . '/../..');
}

sub srcdir { abs_path(dirname(__FILE__) . '/../..') }

sub bin {
	my $bin = $ENV{IVRD_BIN} // builddir() . '/ivrd';
	-x $bin or BAIL_OUT("$bin is not built (run make)");
	return $bin;
}

# Runs an ivrd subcommand against dir; returns (exit code, stdout+stderr).
sub run_cli {
	my ($class, $dir, @args) = @_;
	my $bin = bin();
	my $out = qx{"$bin" -d --data-dir "$dir" --cache-dir "$dir/cache" @{[ map { quotemeta } @args ]} 2>&1};
	return ($? >> 8, $out);
}

# Creates a token with the CLI; returns its text.
sub make_token {
	my ($class, $dir, %o) = @_;
	my @args = ('token', 'create', '--name', $o{name} // 'test');
	push @args, '--tenant', $o{tenant} if defined $o{tenant};
	push @args, '--admin' if $o{admin};
	my ($rc, $out) = $class->run_cli($dir, @args);
	my ($token) = $out =~ /^(ivr_\S+)$/m;
	croak "token create failed ($rc): $out" if $rc || !$token;
	return $token;
}

# Options: dir (reuse a data dir), conf (hash of config-file keys),
# args (extra flags), tenant (token tenant, default 'acme'), env (hash of
# environment variables for the daemon).
sub start {
	my ($class, %o) = @_;
	my $self = bless { %o }, $class;
	$self->{dir} //= tempdir('ivrd-test-XXXXXX', TMPDIR => 1,
	    CLEANUP => !$ENV{IVRD_KEEP});
	$self->{tenant} //= 'acme';
	$self->{token} //= $class->make_token($self->{dir},
	    tenant => $self->{tenant}, name => "t-$self->{tenant}-" . int(rand(1e9)));
	$self->_spawn;
	return $self;
}

sub _spawn {
	my ($self) = @_;
	my $dir = $self->{dir};
	my $portfile = "$dir/ports";
	unlink $portfile;
	my $conf = "$dir/ivrd.conf";
	open my $fh, '>', $conf or croak "$conf: $!";
	print $fh "log_level = debug\n";
	print $fh "$_ = $self->{conf}{$_}\n" for sort keys %{ $self->{conf} // {} };
	close $fh;
	my @cmd = (bin(), '-d', '-f', $conf, '--data-dir', $dir,
	    '--cache-dir', "$dir/cache", '--api-listen', '127.0.0.1:0',
	    '--agi-listen', '127.0.0.1:0', '--port-file', $portfile,
	    @{ $self->{args} // [] });
	unshift @cmd, qw(valgrind -q --error-exitcode=99 --leak-check=full
	    --errors-for-leak-kinds=definite --show-leak-kinds=definite),
	    '--suppressions=' . srcdir() . '/t/valgrind.supp'
	    if $ENV{IVRD_VALGRIND};
	$self->{log} = "$dir/ivrd.log";
	my $pid = fork // croak "fork: $!";
	if ($pid == 0) {
		# Fakes live on loopback: no proxy of the machine's in between.
		delete @ENV{qw(http_proxy https_proxy HTTP_PROXY HTTPS_PROXY
		    all_proxy ALL_PROXY)};
		$ENV{$_} = $self->{env}{$_} for keys %{ $self->{env} // {} };
		open STDOUT, '>>', $self->{log} or die;
		open STDERR, '>&', \*STDOUT or die;
		exec @cmd or die "exec $cmd[0]: $!";
	}
	$self->{pid} = $pid;
	push @running, $self;
	my $deadline = time + ($ENV{IVRD_VALGRIND} ? 60 : 15);
	until (-s $portfile) {
		if (waitpid($pid, WNOHANG) == $pid) {
			$self->{pid} = undef;
			diag($self->log_text);
			BAIL_OUT("ivrd exited during start-up (status $?)");
		}
		BAIL_OUT("ivrd did not write its port file") if time > $deadline;
		sleep 0.02;
	}
	open my $pf, '<', $portfile or croak "$portfile: $!";
	while (<$pf>) {
		$self->{$1} = $2 if /^(api|agi) (\S+)$/;
	}
	close $pf;
	$self->{http} = HTTP::Tiny->new(timeout => 30, keep_alive => 0);
	return $self;
}

# A flow document without the pre-render counts, which rise on their own
# as prompts finish rendering: for comparing documents.
sub stored {
	my ($doc) = @_;
	return $doc unless ref $doc eq 'HASH';
	my %copy = %$doc;
	delete @copy{qw(prompts_total prompts_ready prompts_failed)};
	return \%copy;
}

sub dir { $_[0]{dir} }
sub token { $_[0]{token} }
sub pid { $_[0]{pid} }
sub api_url { "http://$_[0]{api}/api/ivr" }
sub agi_addr { $_[0]{agi} }

sub log_text {
	my ($self) = @_;
	open my $fh, '<', $self->{log} or return '(no log)';
	local $/;
	return scalar <$fh>;
}

# req(METHOD => PATH, body => REF|STRING, token => TOKEN|undef,
#     headers => {...}) -> { status, json, content, headers }
# PATH is relative to /api/ivr unless it starts with /api or 'raw' is set.
sub req {
	my ($self, $method, $path, %o) = @_;
	my %h = %{ $o{headers} // {} };
	my $token = exists $o{token} ? $o{token} : $self->{token};
	$h{Authorization} = "Bearer $token" if defined $token;
	my %args = (headers => \%h);
	if (exists $o{body}) {
		$args{content} = ref $o{body} ? $JSON->encode($o{body}) : $o{body};
		$h{'Content-Type'} //= 'application/json';
	}
	my $url = $path =~ m{^/api} ? "http://$self->{api}$path"
	    : $self->api_url . $path;
	my $r = $self->{http}->request($method, $url, \%args);
	my $json = eval { $JSON->decode($r->{content}) };
	return { status => $r->{status}, content => $r->{content},
	    headers => $r->{headers}, json => $json };
}

# Stops the daemon with TERM; one test asserts it exited with status 0.
sub stop {
	my ($self, $name) = @_;
	return unless $self->{pid};
	my $status = $self->_terminate;
	ok(defined $status && $status == 0,
	    $name // 'ivrd exited cleanly on SIGTERM')
	    or diag("exit status " . ($status // 'none') . "; log:\n" .
	    $self->log_text);
	return $status;
}

sub _terminate {
	my ($self) = @_;
	my $pid = delete $self->{pid} or return;
	kill 'TERM', $pid;
	my $deadline = time + ($ENV{IVRD_VALGRIND} ? 60 : 10);
	while (time < $deadline) {
		return $? if waitpid($pid, WNOHANG) == $pid;
		sleep 0.02;
	}
	kill 'KILL', $pid;
	waitpid($pid, 0);
	return -1;
}

# kill -9: no clean-up at all, as a crash or an OOM kill would do.
sub kill9 {
	my ($self) = @_;
	my $pid = delete $self->{pid} or return;
	kill 'KILL', $pid;
	waitpid($pid, 0);
}

sub restart {
	my ($self) = @_;
	$self->{pid} ? $self->stop('ivrd exited cleanly before the restart') : ();
	$self->_spawn;
	return $self;
}

sub signal {
	my ($self, $sig) = @_;
	kill $sig, $self->{pid};
}

# A daemon still running at the end of a test file is stopped, and its
# exit must be clean; a failed test file shows the daemon's log.
END {
	my $failed = !Test::More->builder->is_passing;
	for my $d (@running) {
		if ($d->{pid}) {
			my $status = $d->_terminate;
			$failed = 1 unless ok(defined $status && $status == 0,
			    'ivrd still running at the end exited cleanly');
		}
		diag("ivrd log:\n" . $d->log_text) if $failed;
	}
}

1;
