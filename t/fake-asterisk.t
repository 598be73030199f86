#!/usr/bin/perl
# The fake Asterisk itself (t/lib/FakeAsterisk.pm), so that the call tests
# built on it can be trusted, with no ivrd at all: each case starts a tiny
# scripted FastAGI server (a forked child on 127.0.0.1 port 0), lets the
# fake connect to it, and checks both sides: what the server read (the
# agi_* bytes, every reply line, how long a reply took) against
# ../shared/agi-protocol.md, and what the fake reports (vars, execs,
# route, AGISTATUS, violations).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use FakeAsterisk;
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IO::Socket::IP;
use JSON::PP;
use POSIX qw(WNOHANG);
use Socket qw(SHUT_WR);
use Test::More;
use Time::HiRes qw(sleep time);

my $JSON = JSON::PP->new->ascii->canonical->allow_nonref;
my $tmp = tempdir('fake-asterisk-t-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $R511 = '511 Command Not Permitted on a dead channel or intercept routine';

# Sounds: 1 s and 0.5 s of 8 kHz silence, a .sln beside a .wav (the .sln
# wins), one only under the language directory, one at the wrong rate.
sub write_wav {
	my ($path, $samples, $rate) = @_;
	open my $fh, '>:raw', $path or die "$path: $!";
	my $data = "\0\0" x $samples;
	print $fh 'RIFF', pack('V', 36 + length $data), 'WAVE',
	    'fmt ', pack('V v v V V v v', 16, 1, 1, $rate, $rate * 2, 2, 16),
	    'data', pack('V', length $data), $data;
	close $fh;
}
my $one = "$tmp/one";
write_wav("$one.wav", 8000, 8000);
write_wav("$tmp/two.wav", 8000, 8000);
{ open my $fh, '>:raw', "$tmp/two.sln" or die; print $fh "\0\0" x 4000; close $fh }
make_path("$tmp/en");
write_wav("$tmp/en/three.wav", 2400, 8000);
write_wav("$tmp/bad.wav", 16000, 16000);

# --- the scripted FastAGI server ------------------------------------------

# Runs $script->($s) in a child on its own listening socket; the child
# records what it saw with $s->put(key => value), handed back as JSON.
my $nserv = 0;
sub server {
	my ($script) = @_;
	my $listen = IO::Socket::IP->new(LocalHost => '127.0.0.1',
	    LocalPort => 0, Listen => 5, ReuseAddr => 1, Proto => 'tcp')
	    or die "listen: $@";
	my $file = "$tmp/server-" . ++$nserv . '.json';
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		# _exit: Test::More's summary must not run in here.
		my $s = eval {
			my $conn;
			my $ok = eval {
				local $SIG{ALRM} = sub { die "no connection\n" };
				alarm 10;
				$conn = $listen->accept;
				alarm 0;
				1;
			};
			die $@ unless $ok && $conn;
			my $s = Script->new($conn);
			$script->($s);
			$s;
		};
		my $r = $s ? $s->{r} : { error => "$@" };
		open my $fh, '>', "$file.tmp" or POSIX::_exit(1);
		print $fh $JSON->encode($r);
		close $fh;
		rename "$file.tmp", $file;
		POSIX::_exit(0);
	}
	my $port = $listen->sockport;
	close $listen;
	return { addr => "127.0.0.1:$port", port => $port, pid => $pid,
	    file => $file };
}

sub result {
	my ($srv) = @_;
	my $deadline = time + 15;
	while (waitpid($srv->{pid}, WNOHANG) != $srv->{pid}) {
		if (time > $deadline) {
			kill 'KILL', $srv->{pid};
			waitpid($srv->{pid}, 0);
			last;
		}
		sleep 0.01;
	}
	open my $fh, '<', $srv->{file} or return { error => 'no result' };
	local $/;
	my $r = $JSON->decode(scalar <$fh>);
	diag("server script died: $r->{error}") if $r->{error};
	return $r;
}

package Script {
	use Socket qw(SHUT_WR);
	use Time::HiRes qw(sleep time);

	sub new {
		my ($class, $sock) = @_;
		return bless { sock => $sock, buf => '', r => {} }, $class;
	}

	sub put { my ($s, $k, $v) = @_; $s->{r}{$k} = $v }

	sub send {
		my ($s, $bytes) = @_;
		while (length $bytes) {
			my $n = syswrite($s->{sock}, $bytes) // die "write: $!";
			substr($bytes, 0, $n, '');
		}
	}

	# More bytes into the buffer; false on EOF or at the deadline.
	sub fill {
		my ($s, $deadline) = @_;
		return 0 if $s->{eof};
		my $left = $deadline - time;
		return 0 if $left <= 0;
		my $rin = '';
		vec($rin, fileno $s->{sock}, 1) = 1;
		return 0 unless select(my $rout = $rin, undef, undef, $left);
		my $n = sysread($s->{sock}, my $chunk, 65536);
		unless ($n) {
			$s->{eof} = 1;
			return 0;
		}
		$s->{buf} .= $chunk;
		return 1;
	}

	sub line {
		my ($s, $timeout) = @_;
		my $deadline = time + ($timeout // 5);
		while (1) {
			my $i = index($s->{buf}, "\n");
			return substr(substr($s->{buf}, 0, $i + 1, ''), 0, $i)
			    if $i >= 0;
			return undef unless $s->fill($deadline);
		}
	}

	# The agi_* block, up to and with its blank line, byte for byte.
	sub env {
		my ($s) = @_;
		my $deadline = time + 5;
		while ((my $i = index($s->{buf}, "\n\n")) < 0) {
			return substr($s->{buf}, 0, length $s->{buf}, '')
			    unless $s->fill($deadline);
		}
		my $i = index($s->{buf}, "\n\n");
		return substr($s->{buf}, 0, $i + 2, '');
	}

	# Sends one command; reads up to its final reply line (HANGUP
	# notices and 520- blocks included). { lines, ms }.
	sub cmd {
		my ($s, $line, $timeout) = @_;
		my $t = time;
		$s->send("$line\n");
		return { lines => [$s->reply($timeout)], ms => (time - $t) * 1000 };
	}

	sub reply {
		my ($s, $timeout) = @_;
		my @lines;
		while (defined(my $l = $s->line($timeout))) {
			push @lines, $l;
			last if $l =~ /^\d{3} / && $l !~ /^100 /;
		}
		return @lines;
	}

	# Whatever arrives within $secs (nothing, for a fake that must not
	# answer).
	sub quiet {
		my ($s, $secs) = @_;
		my $deadline = time + $secs;
		1 while $s->fill($deadline);
		return substr($s->{buf}, 0, length $s->{buf}, '');
	}

	# Lines until EOF; with $close, half-close first (what a server
	# ending the AGI does), so the last HANGUP can still be read.
	sub rest {
		my ($s, $close) = @_;
		shutdown($s->{sock}, SHUT_WR) if $close;
		my @lines;
		while (defined(my $l = $s->line(5))) {
			push @lines, $l;
		}
		push @lines, length $s->{buf} ? "partial:$s->{buf}" : ()
		    if $s->{eof};
		push @lines, 'EOF' if $s->{eof};
		return \@lines;
	}
}

sub lines { $_[0]{lines} }

# --- parse_args, as res_agi tokenises ------------------------------------

is_deeply([FakeAsterisk::parse_args($_->[0])], $_->[1], "parse_args: $_->[2]")
    for (
	['STREAM FILE hello ""', [qw(STREAM FILE hello), ''], '"" is an empty argument'],
	["SET  VARIABLE\tX  1", [qw(SET VARIABLE X 1)], 'runs of spaces and tabs separate'],
	['SET VARIABLE X "a b\"c"', ['SET', 'VARIABLE', 'X', 'a b"c'], 'quotes group, \" is a quote'],
	["SET VARIABLE X \"a\"\r", ['SET', 'VARIABLE', 'X', "a\r"], 'a CR stays in the last token'],
	['x ab"c d"e', ['x', 'abc de'], 'quotes inside a token'],
	['x a\ b\\\\c \q', ['x', 'a b\c', 'q'], 'backslash makes the next character literal'],
	['  ', [], 'blank: no tokens'],
	[join(' ', 1 .. 200), [1 .. 127], 'at most 127 plain tokens'],
    );

# --- the agi_* block, and res_agi's answers to good and bad lines --------
{
	my $srv = server(sub {
		my ($s) = @_;
		$s->put(env => $s->env);
		$s->put($_->[0] => $s->cmd($_->[1])) for (
		    [status_ring => 'CHANNEL STATUS'],
		    [answer => 'ANSWER'],
		    [answer_cr => "ANSWER\r"],
		    [empty => ''],
		    [get_alone => 'GET'],
		    [usage => 'STREAM FILE hello'],
		    [lower => 'answer now please'],
		    [status_up => 'channel status'],
		    [verbose => 'VERBOSE "hello world" 1'],
		    [music => 'SET MUSIC on'],
		    [autohangup => 'SET AUTOHANGUP 0'],
		    [noop => 'NOOP'],
		);
		$s->put(tail => $s->rest(1));
	});
	my $call = FakeAsterisk->call($srv->{addr}, flow => 'sales?lang=es-US',
	    callerid => '15551234567', calleridname => 'JOHN DOE',
	    dnid => '18005550100', context => 'from-carrier',
	    extension => '18005550100', priority => 2,
	    uniqueid => '1718035200.97', channel => 'PJSIP/carrier-0000002a',
	    threadid => '140023313659456', args => ['en-US', '', 'main']);
	is($call->run, 'SUCCESS', 'the server closed: AGISTATUS=SUCCESS');
	my $r = result($srv);
	my $env = join '', map { "$_\n" }
	    'agi_network: yes',
	    'agi_network_script: sales?lang=es-US',
	    "agi_request: agi://127.0.0.1:$srv->{port}/sales?lang=es-US",
	    'agi_channel: PJSIP/carrier-0000002a',
	    'agi_language: en',
	    'agi_type: PJSIP',
	    'agi_uniqueid: 1718035200.97',
	    'agi_version: 20.9.3',
	    'agi_callerid: 15551234567',
	    'agi_calleridname: JOHN DOE',
	    'agi_callingpres: 0',
	    'agi_callingani2: 0',
	    'agi_callington: 0',
	    'agi_callingtns: 0',
	    'agi_dnid: 18005550100',
	    'agi_rdnis: unknown',
	    'agi_context: from-carrier',
	    'agi_extension: 18005550100',
	    'agi_priority: 2',
	    'agi_enhanced: 0.0',
	    'agi_accountcode: ',
	    'agi_threadid: 140023313659456',
	    'agi_arg_1: en-US',
	    'agi_arg_2: ',
	    'agi_arg_3: main',
	    '';
	is($r->{env}, $env, 'the agi_* block: Asterisk 20 order, LF only, '
	    . 'empty values kept, blank line last');
	is($call->env, $env, 'env() is what was sent');
	is_deeply(lines($r->{status_ring}), ['200 result=4'],
	    'CHANNEL STATUS before ANSWER: 4 (Ring)');
	is_deeply(lines($r->{answer}), ['200 result=0'], 'ANSWER');
	is_deeply(lines($r->{answer_cr}), ['510 Invalid or unknown command'],
	    'ANSWER\r: the CR is part of the word, 510');
	is_deeply(lines($r->{empty}), ['510 Invalid or unknown command'],
	    'an empty line: 510');
	is_deeply(lines($r->{get_alone}), ['510 Invalid or unknown command'],
	    'GET alone (an incomplete command): 510');
	my @usage = @{ lines($r->{usage}) };
	is($usage[0], '520-Invalid command syntax.  Proper usage follows:',
	    'STREAM FILE without escape digits: a 520 block');
	is($usage[-1], '520 End of proper usage.', '... ending the block');
	ok(@usage > 2 && !grep({ /^\d{3} / } @usage[1 .. $#usage - 1]),
	    '... raw usage lines in between, with no code');
	is_deeply(lines($r->{lower}), ['200 result=0'],
	    'commands match case-insensitively, extra tokens are arguments');
	is_deeply(lines($r->{status_up}), ['200 result=6'],
	    'CHANNEL STATUS after ANSWER: 6 (Up)');
	is_deeply(lines($r->{verbose}), ['200 result=1'], 'VERBOSE: result=1');
	is_deeply(lines($r->{music}), ['200 result=0'], 'SET MUSIC on');
	is_deeply(lines($r->{autohangup}), ['200 result=0'], 'SET AUTOHANGUP 0');
	is_deeply(lines($r->{noop}), ['200 result=0'], 'NOOP');
	is_deeply($r->{tail}, ['HANGUP', 'EOF'],
	    'the server half-closes: a last HANGUP, then Asterisk closes');
	is(scalar(grep { /^510: / } $call->violations), 3,
	    'violations: the three 510s');
	is(scalar(grep { /^520: / } $call->violations), 1, '... the 520');
	is(scalar(grep { /^CR: / } $call->violations), 1, '... the CR');
	is(($call->commands)[2], "ANSWER\r", 'commands() are raw (CR kept)');
	like($call->transcript, qr/S: ANSWER\\r/, 'the transcript shows the CR');
}

# --- defaults: no script, unknown caller; a fake that answers nothing ----
{
	my $srv = server(sub {
		my ($s) = @_;
		$s->put(env => $s->env);
		$s->send("ANSWER\n");
		$s->put(silence => $s->quiet(0.3));
		$s->put(tail => $s->rest(1));
	});
	my $call = FakeAsterisk->call($srv->{addr});
	$call->silent;
	is($call->run, 'SUCCESS', 'silent: AGISTATUS=SUCCESS at close');
	my $r = result($srv);
	my @env = split /\n/, $r->{env};
	is($env[0], 'agi_network: yes', 'no script: the block starts as ever');
	is($env[1], "agi_request: agi://127.0.0.1:$srv->{port}",
	    '... without an agi_network_script line');
	ok(!grep({ /^agi_network_script/ } @env), '... anywhere');
	is_deeply([grep { /^agi_(?:language|callerid|calleridname|dnid|rdnis|accountcode): / } @env],
	    ['agi_language: en', 'agi_callerid: unknown',
	    'agi_calleridname: unknown', 'agi_dnid: unknown',
	    'agi_rdnis: unknown', 'agi_accountcode: '],
	    'defaults: en, unknown caller, empty account code (trailing space)');
	like($r->{env}, qr/^agi_uniqueid: \d+\.\d+$/m, 'a generated uniqueid');
	unlike($r->{env}, qr/\r/, 'LF only');
	like($r->{env}, qr/\n\n\z/, 'ends with the blank line');
	is($r->{silence}, '', 'silent: no reply to ANSWER');
	is_deeply($r->{tail}, ['EOF'], 'silent: not even the last HANGUP');
	is_deeply([$call->commands], ['ANSWER'], 'the unanswered command is recorded');
}

# --- STREAM FILE in real time: the whole file, a digit at 300 ms ---------
{
	my $srv = server(sub {
		my ($s) = @_;
		$s->env;
		$s->put(play => $s->cmd(qq{STREAM FILE "$one" "12"}));
		$s->put(press => $s->cmd(qq{STREAM FILE "$one" "12"}));
		$s->put(status => $s->cmd('GET VARIABLE PLAYBACKSTATUS'));
		$s->put(missing => $s->cmd(qq{STREAM FILE "$tmp/missing" ""}));
		$s->put(answer => $s->cmd('ANSWER'));
		$s->put(tail => $s->rest(1));
	});
	my $call = FakeAsterisk->call($srv->{addr});
	$call->expect(qr/^STREAM FILE "\Q$one\E" "12"$/);
	$call->expect(qr/^STREAM FILE /, press => '2', delay => 300);
	is($call->run, 'FAILURE',
	    'a missing file fails the AGI, and FAILURE sticks to the end');
	my $r = result($srv);
	is_deeply(lines($r->{play}), ['200 result=0 endpos=8000'],
	    'a 1 s WAV played to the end: result=0 endpos=8000');
	cmp_ok($r->{play}{ms}, '>=', 950, '... after 1 s') &&
	cmp_ok($r->{play}{ms}, '<', 1400, '... not much more');
	is_deeply(lines($r->{press}), ['200 result=50 endpos=2400'],
	    '"2" at 300 ms: result=50 (its ASCII code) endpos=2400');
	cmp_ok($r->{press}{ms}, '>=', 280, '... at 300 ms') &&
	cmp_ok($r->{press}{ms}, '<', 600, '... not at the end of the file');
	is_deeply(lines($r->{status}), ['200 result=1 (FAILED)'],
	    'PLAYBACKSTATUS=FAILED after a digit');
	is_deeply(lines($r->{missing}), ['200 result=-1 endpos=0'],
	    'a missing file: result=-1 endpos=0');
	is_deeply(lines($r->{answer}), ['200 result=0'], 'the AGI goes on');
}

# --- playback and digit collection, 100x faster ---------------------------
{
	my @cases = (
	    [discard => qq{STREAM FILE "$one" "12"}, '51', 0,
		'200 result=49 endpos=1920',
		'"5" (not an escape digit) is discarded, "1" at 250 ms stops '
		. '(endpos in whole 20 ms frames)'],
	    [offset => qq{STREAM FILE "$one" "" 4000}, '', 0,
		'200 result=0 endpos=8000', 'a sample offset: endpos is the length'],
	    [sln => qq{STREAM FILE "$tmp/two" "1"}, '', 0,
		'200 result=0 endpos=4000', 'the .sln beside the .wav is played'],
	    [lang => qq{STREAM FILE "$tmp/three" ""}, '', 0,
		'200 result=0 endpos=2400', 'found under the language directory'],
	    [badrate => qq{STREAM FILE "$tmp/bad" ""}, '', 0,
		'200 result=-1 endpos=0', 'a 16 kHz .wav cannot be opened'],
	    [gd_partial => 'GET DATA "" 2000 4', '12', 0,
		'200 result=12 (timeout)', 'GET DATA: two digits, then the timeout'],
	    [gd_timeout => 'GET DATA "" 1000 4', '', 0,
		'200 result= (timeout)', 'GET DATA: nothing at all'],
	    [gd_hash => 'GET DATA "" 1000 4', '#', 0,
		'200 result=', 'GET DATA: # first, an empty result'],
	    [gd_max => 'GET DATA "" 1000 4', '1234', 0,
		'200 result=1234', 'GET DATA: maxdigits reached'],
	    [gd_ended => 'GET DATA "" 1000 4', '12#', 0,
		'200 result=12', 'GET DATA: ended by #, which is not included'],
	    [gd_prompt => qq{GET DATA "$one" 1000 4}, '7#', 100,
		'200 result=7', 'GET DATA: a digit during the prompt counts'],
	    [gd_missing => qq{GET DATA "$tmp/missing" 1000 4}, '', 0,
		'200 result=-1', 'GET DATA: a missing prompt'],
	    [gd_zero => 'GET DATA "" 1000 0', '', 0,
		'200 result=-1', 'GET DATA: maxdigits 0'],
	    [wfd_timeout => 'WAIT FOR DIGIT 500', '', 0,
		'200 result=0', 'WAIT FOR DIGIT: the timeout'],
	    [wfd_digit => 'WAIT FOR DIGIT 2000', '5', 100,
		'200 result=53', 'WAIT FOR DIGIT: a digit'],
	    [go_wait => qq{GET OPTION "$one" "12" 1000}, '2', 1200,
		'200 result=50 endpos=8000', 'GET OPTION: an escape digit after the prompt'],
	    [go_other => qq{GET OPTION "$one" "12" 1000}, '9', 1200,
		'200 result=0 endpos=8000', 'GET OPTION: another digit after it gives 0'],
	    [go_play => qq{GET OPTION "$one" "12" 1000}, '1', 500,
		'200 result=49 endpos=4000', 'GET OPTION: a digit during the prompt'],
	);
	my $srv = server(sub {
		my ($s) = @_;
		$s->env;
		$s->put($_->[0] => $s->cmd($_->[1])) for @cases;
		$s->put(wfd_usage => $s->cmd('WAIT FOR DIGIT'));
		$s->put(tail => $s->rest(1));
	});
	my $call = FakeAsterisk->call($srv->{addr}, time_scale => 0.01);
	for my $c (@cases) {
		$call->expect(qr/^\Q$c->[1]\E$/, press => $c->[2],
		    delay => $c->[3], name => "the fake runs: $c->[1]");
	}
	$call->run;
	my $r = result($srv);
	is_deeply(lines($r->{$_->[0]}), [$_->[4]], $_->[5]) for @cases;
	my $u = lines($r->{wfd_usage});
	ok($u->[0] =~ /^520-/ && $u->[-1] eq '520 End of proper usage.',
	    'WAIT FOR DIGIT without its timeout: 520 block');
	is_deeply($r->{tail}, ['HANGUP', 'EOF'], 'closed cleanly');
}

# --- quoting, variables -----------------------------------------------
{
	my $srv = server(sub {
		my ($s) = @_;
		$s->env;
		$s->put($_->[0] => $s->cmd($_->[1])) for (
		    [x => 'SET VARIABLE X "a b\"c"'],
		    [y => qq{SET VARIABLE Y "a"\r}],
		    [z => 'SET VARIABLE Z ""'],
		    [w => 'set variable W ab"c d"'],
		    [v => 'SET VARIABLE V a\ b\\\\c'],
		    [one_arg => 'SET VARIABLE X'],
		    [dst => 'GET VARIABLE WAZO_DSTNUM'],
		    [nope => 'GET VARIABLE NOPE'],
		    [get_x => 'GET VARIABLE X'],
		    [cid => 'GET VARIABLE "CALLERID(num)"'],
		    [full => 'GET FULL VARIABLE "${WAZO_DSTNUM}-${NOPE}-x"'],
		);
		$s->put(tail => $s->rest(1));
	});
	my $call = FakeAsterisk->call($srv->{addr}, callerid => '5551234',
	    variables => { WAZO_DSTNUM => '1001' });
	is_deeply($call->vars, { X => 'a b"c', Y => "a\r", Z => '',
	    W => 'abc d', V => 'a b\c' },
	    'SET VARIABLE stores values as parse_args leaves them');
	my $r = result($srv);
	is_deeply(lines($r->{$_}), ['200 result=1'], "SET VARIABLE $_: result=1")
	    for qw(x y z w v);
	like(lines($r->{one_arg})->[0], qr/^520-/, 'SET VARIABLE without a value: 520');
	is_deeply(lines($r->{dst}), ['200 result=1 (1001)'],
	    'GET VARIABLE of a channel variable given to the fake');
	is_deeply(lines($r->{nope}), ['200 result=0'], 'GET VARIABLE of an unset one');
	is_deeply(lines($r->{get_x}), ['200 result=1 (a b"c)'],
	    'GET VARIABLE sees SET VARIABLE, raw in the parentheses');
	is_deeply(lines($r->{cid}), ['200 result=1 (5551234)'],
	    'GET VARIABLE of a function: CALLERID(num)');
	is_deeply(lines($r->{full}), ['200 result=1 (1001--x)'],
	    'GET FULL VARIABLE substitutes, unset gives empty');
	is(scalar(grep { /^CR: / } $call->violations), 1, 'the CR is a violation');
}

# --- barge-in and pipelining ---------------------------------------------
{
	my $srv = server(sub {
		my ($s) = @_;
		$s->env;
		my %r;
		# 1 s of audio lasts 0.5 s here.
		$s->send(qq{STREAM FILE "$one" ""\n});
		sleep 0.1;
		$r{stream} = $s->cmd('SET VARIABLE B 1');
		$r{stream_late} = $s->quiet(0.6);
		$s->send("WAIT FOR DIGIT 5000\n");
		sleep 0.1;
		$s->send("NOOP\n");
		$r{wfd} = [$s->reply, $s->reply];
		$s->send(qq{GET DATA "" 5000 4\n});
		sleep 0.1;
		$r{getdata} = $s->cmd('NOOP');
		$s->send(qq{GET OPTION "$one" "1" 5000\n});
		sleep 0.1;
		$r{option_play} = $s->cmd('NOOP');
		$s->send(qq{GET OPTION "$one" "1" 5000\n});
		sleep 0.7;
		$s->send("NOOP\n");
		$r{option_wait} = [$s->reply, $s->reply];
		$s->send("NOOP\nSET VARIABLE P 1\n");
		$r{piped} = [$s->reply];
		$r{piped_stuck} = $s->quiet(0.3);
		$s->send("NOOP\n");
		$r{unstuck} = [$s->reply, $s->reply];
		$s->put($_ => $r{$_}) for keys %r;
		$s->put(tail => $s->rest(1));
	});
	my $call = FakeAsterisk->call($srv->{addr}, time_scale => 0.5);
	$call->run;
	my $r = result($srv);
	is_deeply(lines($r->{stream}), ['200 result=1'],
	    'bytes during STREAM FILE: the new command is answered...');
	is($r->{stream_late}, '', '... and STREAM FILE never is');
	is_deeply($r->{wfd}, ['200 result=1', '200 result=0'],
	    'WAIT FOR DIGIT interrupted: result=1, then the new command');
	is_deeply(lines($r->{getdata}), ['200 result=0'],
	    'GET DATA interrupted: no reply of its own');
	is_deeply(lines($r->{option_play}), ['200 result=0'],
	    'GET OPTION interrupted during its prompt: no reply of its own');
	is_deeply($r->{option_wait}, ['200 result=0 endpos=8000', '200 result=0'],
	    'GET OPTION interrupted in its wait: result=0 endpos=N, then the new one');
	is_deeply($r->{piped}, ['200 result=0'],
	    'two commands in one write: the first is answered...');
	is($r->{piped_stuck}, '', '... the second waits in stdio\'s buffer');
	is_deeply($r->{unstuck}, ['200 result=1', '200 result=0'],
	    '... until more bytes come: then both run, in order');
	is_deeply($call->vars, { B => 1, P => 1 }, 'both SET VARIABLE ran');
	is(scalar(grep { /^reply pending: / } $call->violations), 5,
	    'violations: each interrupted command');
	is(scalar(grep { /^pipelined: / } $call->violations), 1,
	    '... and the pipelined pair');
	is_deeply($r->{tail}, ['HANGUP', 'EOF'], 'closed cleanly');
}

# --- a digit pressed between commands is lost -----------------------------
{
	my $srv = server(sub {
		my ($s) = @_;
		$s->env;
		$s->put(answer => $s->cmd('ANSWER'));
		sleep 0.3;   # "busy": the caller presses 1 meanwhile
		$s->put(wfd => $s->cmd('WAIT FOR DIGIT 200'));
		$s->put(tail => $s->rest(1));
	});
	my $call = FakeAsterisk->call($srv->{addr});
	$call->press_at(150, '1');
	is($call->run, 'SUCCESS', 'AGISTATUS=SUCCESS');
	my $r = result($srv);
	is_deeply(lines($r->{wfd}), ['200 result=0'],
	    'the digit pressed while no command ran is not seen later');
	is_deeply([map { $_->[0] } $call->digits_lost], ['1'], 'digits_lost() has it');
}

# --- hang-up injection after a command: HANGUP, then 511 -------------------
{
	my $srv = server(sub {
		my ($s) = @_;
		$s->env;
		$s->put(answer => $s->cmd('ANSWER'));
		$s->put(notice => $s->line(2));
		$s->put($_->[0] => $s->cmd($_->[1])) for (
		    [stream => qq{STREAM FILE "$one" ""}],
		    [setvar => 'SET VARIABLE AFTER 1'],
		    [getvar => 'GET VARIABLE AFTER'],
		    [exec => 'EXEC Goto "x,1,1"'],
		    [hangup => 'HANGUP'],
		    [context => 'SET CONTEXT x'],
		);
		$s->put(tail => $s->rest(1));
	});
	my $call = FakeAsterisk->call($srv->{addr});
	$call->hangup_after(qr/^ANSWER$/);
	is($call->agistatus, 'HANGUP', 'AGISTATUS=HANGUP');
	my $r = result($srv);
	is_deeply(lines($r->{answer}), ['200 result=0'], 'ANSWER is answered...');
	is($r->{notice}, 'HANGUP', '... then the HANGUP notice');
	is_deeply(lines($r->{stream}), [$R511], 'STREAM FILE when dead: 511');
	is_deeply(lines($r->{setvar}), ['200 result=1'], 'SET VARIABLE still works');
	is_deeply(lines($r->{getvar}), ['200 result=1 (1)'], 'GET VARIABLE too');
	is_deeply(lines($r->{exec}), ['200 result=0'], 'EXEC too (Goto returns 0)');
	is_deeply(lines($r->{hangup}), [$R511], 'HANGUP when dead: 511');
	is_deeply(lines($r->{context}), [$R511], 'SET CONTEXT when dead: 511');
	is_deeply($r->{tail}, ['HANGUP', 'EOF'], 'at close: the last HANGUP');
	is($call->route, undef, 'no routing on a dead channel');
	is_deeply($call->vars, { AFTER => 1 }, 'the variable set when dead is kept');
}

# --- a hang-up during playback; the HANGUP command -------------------------
{
	my $srv = server(sub {
		my ($s) = @_;
		$s->env;
		$s->put(stream => $s->cmd(qq{STREAM FILE "$one" "1"}));
		$s->put(tail => $s->rest(1));
	});
	my $call = FakeAsterisk->call($srv->{addr}, time_scale => 0.1);
	$call->hangup_after(qr/^STREAM FILE/, 200);
	is($call->run, 'HANGUP', 'caller hung up during STREAM FILE: HANGUP');
	my $r = result($srv);
	is_deeply(lines($r->{stream}), ['200 result=-1 endpos=1600'],
	    'the playback replies first: result=-1 endpos at 200 ms');
	is_deeply($r->{tail}, ['HANGUP', 'HANGUP', 'EOF'],
	    '... then the notice, and the last HANGUP at close');

	$srv = server(sub {
		my ($s) = @_;
		$s->env;
		$s->put(hangup => $s->cmd('HANGUP'));
		$s->put(notice => $s->line(2));
		$s->put(tail => $s->rest(1));
	});
	$call = FakeAsterisk->call($srv->{addr});
	is($call->run, 'HANGUP', 'the server hung up: HANGUP');
	$r = result($srv);
	is_deeply(lines($r->{hangup}), ['200 result=1'], 'HANGUP: result=1...');
	is($r->{notice}, 'HANGUP', '... then the notice');
}

# --- AGIEXITONHANGUP: HANGUP, HANGUP, close ------------------------------
{
	my $srv = server(sub {
		my ($s) = @_;
		$s->env;
		$s->put(answer => $s->cmd('ANSWER'));
		$s->put(tail => $s->rest(0));   # no close from this side
	});
	my $call = FakeAsterisk->call($srv->{addr}, exit_on_hangup => 1);
	$call->hangup_at(100);
	is($call->run(timeout => 5), 'HANGUP', 'exit on hangup: HANGUP');
	my $r = result($srv);
	is_deeply($r->{tail}, ['HANGUP', 'HANGUP', 'EOF'],
	    'a hangup while idle: HANGUP, a second HANGUP, Asterisk closes');
	is($call->end_reason, 'exit on hangup', 'the fake ended the AGI itself');
}

# --- a "failure" line ----------------------------------------------------------
{
	my $srv = server(sub {
		my ($s) = @_;
		$s->env;
		$s->put(answer => $s->cmd('ANSWER'));
		$s->send("failure\n");
		$s->put(tail => $s->rest(0));
	});
	my $call = FakeAsterisk->call($srv->{addr});
	is($call->run(timeout => 5), 'FAILURE', 'a "failure" line: FAILURE');
	my $r = result($srv);
	is_deeply($r->{tail}, ['HANGUP', 'EOF'],
	    'no reply to it: the AGI ends (last HANGUP, close)');
}

# --- EXEC and routing ------------------------------------------------------------
{
	my $srv = server(sub {
		my ($s) = @_;
		$s->env;
		$s->put(queue => $s->cmd('EXEC Queue "sales_q,,,,300"'));
		$s->put(mixmonitor => $s->cmd('EXEC MixMonitor /tmp/x.wav extra'));
		$s->put(tail => $s->rest(1));
	});
	my $call = FakeAsterisk->call($srv->{addr});
	is($call->route, 'Queue(sales_q,,,,300)', 'route(): the Queue EXEC');
	is_deeply($call->execs, [['Queue', 'sales_q,,,,300'],
	    ['MixMonitor', '/tmp/x.wav']],
	    'execs(): app and its one options token (extra tokens dropped)');
	my $r = result($srv);
	is_deeply(lines($r->{queue}), ['200 result=0'], 'EXEC Queue: result=0');
	is_deeply(lines($r->{mixmonitor}), ['200 result=0'], 'EXEC MixMonitor');

	$srv = server(sub {
		my ($s) = @_;
		$s->env;
		$s->put(dial => $s->cmd('EXEC Dial "PJSIP/1001,30"'));
		$s->put($_ => $s->cmd($_)) for ('SET CONTEXT default',
		    'SET EXTENSION 1001', 'SET PRIORITY 1');
		$s->put(tail => $s->rest(1));
	});
	$call = FakeAsterisk->call($srv->{addr}, exec_result => { Dial => -1 });
	is($call->route, 'context=default extension=1001 priority=1',
	    'route(): SET CONTEXT, EXTENSION, PRIORITY');
	$r = result($srv);
	is_deeply(lines($r->{dial}), ['200 result=-1'], 'exec_result: Dial returns -1');
	is_deeply(lines($r->{$_}), ['200 result=0'], "$_: result=0")
	    for 'SET CONTEXT default', 'SET EXTENSION 1001', 'SET PRIORITY 1';
	is($call->agistatus, 'SUCCESS', '-1 from an app is no failure');

	$srv = server(sub {
		my ($s) = @_;
		$s->env;
		$s->put(ctx => $s->cmd('SET CONTEXT other'));
		$s->put(goto => $s->cmd('EXEC Goto "ctx,1001,1"'));
		$s->put(queue => $s->cmd('EXEC Queue "support,,,,300"'));
		$s->put(notice => $s->line(2));
		$s->put(tail => $s->rest(1));
	});
	$call = FakeAsterisk->call($srv->{addr}, time_scale => 0.01,
	    exec_result => { Queue => { result => -1, ms => 5000, hangup => 1 } });
	is($call->route, 'Queue(support,,,,300)', 'the last routing wins');
	$r = result($srv);
	is_deeply(lines($r->{goto}), ['200 result=0'], 'EXEC Goto');
	is_deeply(lines($r->{queue}), ['200 result=-1'],
	    'a Queue that ends the call: result=-1 when it returns...');
	cmp_ok($r->{queue}{ms}, '>=', 45, '... after its 5 s (x0.01)');
	is($r->{notice}, 'HANGUP', '... then HANGUP');
	is($call->agistatus, 'HANGUP', 'AGISTATUS=HANGUP');
	is_deeply([map { $_->[0] } @{ $call->execs }], ['Goto', 'Queue'], 'execs()');
}

# --- the scripted caller: expect() actions ---------------------------------------
{
	my $srv = server(sub {
		my ($s) = @_;
		$s->env;
		$s->put(answer => $s->cmd('ANSWER'));
		$s->put(menu => $s->cmd(qq{STREAM FILE "$one" "0123456789*#"}));
		$s->put(more => $s->cmd('WAIT FOR DIGIT 3000'));
		$s->put(override => $s->cmd('NOOP'));
		$s->put(tail => $s->rest(1));
	});
	my $call = FakeAsterisk->call($srv->{addr}, time_scale => 0.01,
	    digit_gap => 2000);
	is($call->expect(qr/^ANSWER$/), 'ANSWER', 'expect() returns the line');
	$call->expect(qr/^STREAM FILE \S+ "0123456789\*#"/, press => '12');
	$call->expect(qr/^WAIT FOR DIGIT 3000$/);
	$call->expect(qr/^NOOP$/, reply => '200 result=0 (scripted)');
	$call->run;
	my $r = result($srv);
	is_deeply(lines($r->{menu}), ['200 result=49 endpos=0'],
	    'press => "12": the 1 stops the prompt at once...');
	is_deeply(lines($r->{more}), ['200 result=50'],
	    '... the 2, 2 s later, reaches the next WAIT FOR DIGIT');
	is_deeply(lines($r->{override}), ['200 result=0 (scripted)'],
	    'reply => sends a scripted reply');
	is_deeply([$call->violations], [], 'a clean call: no violations');
}

done_testing;
