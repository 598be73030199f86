#!/usr/bin/perl
# What the API acknowledged is on disk: across a clean restart, and after
# kill -9 in the middle of a burst of writes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Handle;
use IvrdTest;
use POSIX qw(_exit);
use Test::More;
use Time::HiRes qw(sleep time);

sub flow {
	my ($id, $text) = @_;
	return { id => $id, languages => [ { code => 'en-US', voice => 'Joanna' } ],
	    prompts => { hi => { text => { 'en-US' => $text } } },
	    menus => { root => { id => 'root', prompt => 'hi',
	        options => { 1 => { action => 'queue', queue_ref => 'sales_q' } } } } };
}

my $ivrd = IvrdTest->start;

# --- a clean restart keeps everything, timestamps included -------------
is($ivrd->req(POST => '/flows', body => flow('keep', 'v1'))->{status}, 201, 'created');
my $before = $ivrd->req(GET => '/flows/keep')->{json};
$ivrd->restart;
my $after = $ivrd->req(GET => '/flows/keep');
is($after->{status}, 200, 'the flow is there after a restart');
is_deeply(IvrdTest::stored($after->{json}), IvrdTest::stored($before),
    'identical, timestamps included');
is($ivrd->req(GET => '/flows', token => $ivrd->token)->{status}, 200,
    'the token still works after a restart');

# --- kill -9 during a burst ---------------------------------------------
# A child writes as fast as it can and logs each acknowledged write
# (flushed) before the next; the parent kills the daemon mid-burst.
my $ack = $ivrd->dir . '/acked';
my $pid = fork // die;
if ($pid == 0) {
	open my $fh, '>', $ack or _exit(1);
	$fh->autoflush(1);
	for my $i (1 .. 100000) {
		my $r = $ivrd->req(POST => '/flows', body => flow("burst$i", "n$i"));
		last unless $r->{status} == 201;
		print $fh "POST burst$i\n";
		$r = $ivrd->req(PUT => '/flows/keep', body => flow('keep', "v$i"));
		last unless $r->{status} == 200;
		print $fh "PUT keep v$i\n";
	}
	close $fh;
	_exit(0);
}
my $deadline = time + 60;
sleep 0.05 until (-s $ack && (stat $ack)[7] > 2000) || time > $deadline
    || waitpid($pid, POSIX::WNOHANG()) == $pid;
$ivrd->kill9;
waitpid($pid, 0);

open my $fh, '<', $ack or die;
my @acked = <$fh>;
close $fh;
chomp @acked;
my @posts = grep { /^POST / } @acked;
my ($last_put) = reverse grep { /^PUT / } @acked;
cmp_ok(scalar @posts, '>', 20, 'the burst acknowledged writes before the kill (' . scalar(@posts) . ')');

$ivrd->restart;
my $list = $ivrd->req(GET => '/flows')->{json};
my %have = map { $_->{id} => 1 } @{ $list->{flows} };
my @lost = grep { !$have{ (split ' ', $_)[1] } } @posts;
is(scalar @lost, 0, 'every acknowledged POST survived kill -9')
    or diag("lost: @lost[0 .. ($#lost < 9 ? $#lost : 9)]");
my ($v) = $last_put =~ /^PUT keep (v\d+)$/;
my $keep = $ivrd->req(GET => '/flows/keep')->{json};
my $text = $keep->{prompts}{hi}{text}{'en-US'};
ok($text eq $v || $text eq 'v' . (substr($v, 1) + 1),
    "the last acknowledged PUT survived ($v; found $text)");
ok(scalar(keys %have) <= scalar(@posts) + 2,
    'no more flows than were sent (' . scalar(keys %have) . ')');

my $res = $ivrd->req(POST => '/flows', body => flow('after', 'x'));
is($res->{status}, 201, 'the store takes writes after the crash');
$ivrd->stop;
done_testing;
