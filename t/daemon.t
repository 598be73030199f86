#!/usr/bin/perl
# The daemon itself: config checking (-n), the port file, both listeners,
# SIGHUP reload, SIGTERM stop, a taken port, the FastAGI fail-safe.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use IO::Socket::IP;
use IvrdTest;
use Test::More;
use Time::HiRes qw(sleep);

my $bin = IvrdTest::bin();
my $tmp = tempdir(CLEANUP => 1);

sub write_conf {
	my ($name, $text) = @_;
	open my $fh, '>', "$tmp/$name" or die;
	print $fh $text;
	close $fh;
	return "$tmp/$name";
}

sub check_conf {
	my ($file) = @_;
	my $out = qx{"$bin" -n -f "$file" 2>&1};
	return ($? >> 8, $out);
}

# --- -n: check the config and exit -----------------------------------
{
	my ($rc, $out) = check_conf(IvrdTest::srcdir() . '/contrib/ivrd.conf');
	is($rc, 0, 'the sample config contrib/ivrd.conf is valid');
	like($out, qr/^configuration OK$/m, '-n says the configuration is OK');

	my @bad = (
	    [ "api_listen = 127.0.0.1:5000\napi_listn = x\n",
	      qr/bad1\.conf:2: unknown key 'api_listn'/ ],
	    [ "max_body_bytes = lots\n",
	      qr/bad2\.conf:1: max_body_bytes must be an integer from 1024 to 67108864, not 'lots'/ ],
	    [ "api_listen = localhost\n",
	      qr/api_listen: 'localhost' is not HOST:PORT/ ],
	    [ "log_level = loud\n", qr/log_level: 'loud' is not one of error, warn, info, debug/ ],
	    [ "just some words\n", qr/bad5\.conf:1: expected 'key = value'/ ],
	    [ "api_loopback_without_token = maybe\n",
	      qr/api_loopback_without_token must be yes or no, not 'maybe'/ ],
	);
	my $i = 0;
	for my $case (@bad) {
		$i++;
		my ($rc2, $out2) = check_conf(write_conf("bad$i.conf", $case->[0]));
		is($rc2, 1, "bad config $i is refused");
		like($out2, $case->[1], "bad config $i: the message names the problem");
	}
	my ($rc3, $out3) = check_conf("$tmp/missing.conf");
	is($rc3, 1, 'a missing -f file is refused');
	like($out3, qr/missing\.conf: No such file or directory/, 'and named');
	my $out4 = qx{"$bin" -n -f "$tmp/bad1.conf" --api-listen 127.0.0.1:0 2>&1};
	isnt($? >> 8, 0, 'flags do not hide an error in the file');
}

# --- start: the port file and both listeners ---------------------------
my $ivrd = IvrdTest->start;
{
	open my $pf, '<', $ivrd->dir . '/ports' or die;
	my @lines = <$pf>;
	close $pf;
	is(scalar @lines, 2, 'the port file has two lines');
	like($lines[0], qr/^api 127\.0\.0\.1:([1-9]\d*)\n$/, 'first: api 127.0.0.1:PORT');
	like($lines[1], qr/^agi 127\.0\.0\.1:([1-9]\d*)\n$/, 'second: agi 127.0.0.1:PORT');
	isnt($ivrd->{api}, $ivrd->{agi}, 'the two listeners got different ports');
	ok(!-e $ivrd->dir . '/ports.tmp.' . $ivrd->pid, 'no temp file left behind');

	my $res = $ivrd->req(GET => '/status');
	is($res->{status}, 200, 'the API answers on the port from the port file');
	ok(-s $ivrd->dir . '/ivrd.sqlite', 'the store file exists in the data dir');
	ok(-d $ivrd->dir . '/cache', 'the cache dir was created');
}

# --- FastAGI: a call is handed back, never left in silence ------------
{
	my $sock = IO::Socket::IP->new(PeerAddr => $ivrd->agi_addr, Timeout => 5)
	    or die "agi connect: $!";
	print $sock join('', map { "$_\n" }
	    'agi_network: yes', 'agi_network_script: demo',
	    'agi_request: agi://127.0.0.1/demo', 'agi_channel: PJSIP/carrier-00000001',
	    'agi_language: en', 'agi_type: PJSIP', 'agi_uniqueid: 1718035200.97',
	    'agi_version: 20.9.3', 'agi_callerid: 15551234567',
	    'agi_calleridname: JOHN DOE', 'agi_callingpres: 0', 'agi_callingani2: 0',
	    'agi_callington: 0', 'agi_callingtns: 0', 'agi_dnid: 18005550100',
	    'agi_rdnis: unknown', 'agi_context: from-carrier',
	    'agi_extension: 18005550100', 'agi_priority: 2', 'agi_enhanced: 0.0',
	    'agi_accountcode: ', 'agi_threadid: 140023313659456', '');
	$sock->timeout(5);
	my $cmd = <$sock>;
	is($cmd, qq{SET VARIABLE "IVR_STATUS" "FAILED"\n},
	    'an unknown flow: IVR_STATUS=FAILED (the dialplan routes it to its fallback)');
	print $sock "200 result=1\n";
	$cmd = <$sock>;
	is($cmd, qq{SET VARIABLE "IVR_ERROR" "unknown flow: demo"\n},
	    'and IVR_ERROR says why, after the first reply (one command at a time)');
	print $sock "200 result=1\n";
	my $eof = <$sock>;
	ok(!defined $eof, 'then ivrd closes: control returns to the dialplan');
}

# --- SIGHUP: reload what can change at run time ------------------------
{
	my $body = '{"pad": "' . ('x' x 3000) . '"}';
	my $res = $ivrd->req(POST => '/flows', body => $body);
	is($res->{status}, 400, 'a 3 KB body is under the default limit (it fails validation instead)');

	open my $fh, '>>', $ivrd->dir . '/ivrd.conf' or die;
	print $fh "max_body_bytes = 2048\n";
	close $fh;
	$ivrd->signal('HUP');
	my $reloaded;
	for (1 .. 100) {
		last if ($reloaded = $ivrd->log_text =~ /configuration reloaded/);
		sleep 0.05;
	}
	ok($reloaded, 'SIGHUP reloads the config file');
	$res = $ivrd->req(POST => '/flows', body => $body);
	is($res->{status}, 413, 'after SIGHUP the new max_body_bytes applies');
	like($res->{json}{error}, qr/larger than 2048 bytes/, '413 names the limit');

	open $fh, '>>', $ivrd->dir . '/ivrd.conf' or die;
	print $fh "log_level = chatty\n";
	close $fh;
	$ivrd->signal('HUP');
	my $refused;
	for (1 .. 100) {
		last if ($refused = $ivrd->log_text =~ /configuration not reloaded: log_level: 'chatty'/);
		sleep 0.05;
	}
	ok($refused, 'a broken config on SIGHUP is refused with its reason');
	is($ivrd->req(GET => '/status')->{status}, 200, 'and the daemon keeps serving');
	$res = $ivrd->req(POST => '/flows', body => $body);
	is($res->{status}, 413, 'with the last good configuration');
}

# --- a port that is taken ----------------------------------------------
{
	my $out = qx{"$bin" -d --data-dir "$tmp/other" --cache-dir "$tmp/other/c" --api-listen $ivrd->{api} --agi-listen 127.0.0.1:0 2>&1};
	is($? >> 8, 1, 'a second daemon on a taken API port exits with status 1');
	like($out, qr/cannot listen on 127\.0\.0\.1:\d+: Address already in use/,
	    'and says which address is taken');
}

# --- subcommand usage ----------------------------------------------------
{
	my $out = qx{"$bin" -d --data-dir "$tmp/u" token frobnicate 2>&1};
	is($? >> 8, 2, 'an unknown subcommand exits 2');
	like($out, qr/^usage: ivrd/m, 'and prints the usage');
}

$ivrd->stop;
like($ivrd->log_text, qr/received SIGTERM, stopping.*stopped/s, 'SIGTERM is a graceful stop');
done_testing;
