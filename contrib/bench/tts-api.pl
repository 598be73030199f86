#!/usr/bin/perl
# A 150-prompt flow saved through the API: how long until every prompt is
# ready, and what GET /api/ivr/flows/{id} costs meanwhile, against idle.
# usage: perl contrib/bench/tts-api.pl   (from a built tree)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../../t/lib";
use IvrdTest;
use Test::More ();	# IvrdTest reports through it
use Time::HiRes qw(time sleep);

Test::More->builder->no_ending(1);
Test::More->builder->output(\my $quiet);
my $ivrd = IvrdTest->start;
my $n = 150;
my %prompts = map { ("p$_" => { text => { 'en-US' =>
    "Prompt number $_. For sales press one, for support press two, to hear this again press star." } }) } 1 .. $n;
$prompts{welcome} = $prompts{p1};
my $flow = { id => 'big', languages => [ { code => 'en-US', voice => 'Joanna' } ],
    prompts => \%prompts,
    menus => { root => { id => 'root', prompt => 'welcome',
        options => { 1 => { action => 'hangup' } } } } };

sub get_ms {
	my ($count) = @_;
	my @t;
	for (1 .. $count) {
		my $t0 = time;
		$ivrd->req(GET => '/flows/demo');
		push @t, (time - $t0) * 1000;
	}
	@t = sort { $a <=> $b } @t;
	return ($t[int(@t / 2)], $t[int(@t * 0.99)]);
}

$ivrd->req(POST => '/flows', body => { %$flow, id => 'demo', prompts =>
    { welcome => $prompts{p1} } });
sleep 0.5;
my ($idle50, $idle99) = get_ms(300);

my $t0 = time;
my $res = $ivrd->req(POST => '/flows', body => $flow);
my $post_ms = (time - $t0) * 1000;
my $total = $res->{json}{flow}{prompts_total};
# The same request as at idle, timed; the big flow's counts polled between.
my (@busy, $f);
while (1) {
	my $t = time;
	$ivrd->req(GET => '/flows/demo');
	push @busy, (time - $t) * 1000;
	$f = $ivrd->req(GET => '/flows/big')->{json};
	last if $f->{prompts_ready} + $f->{prompts_failed} >= $total;
}
my $elapsed = time - $t0;
@busy = sort { $a <=> $b } @busy;
printf "POST of a %d-prompt flow answered in %.1f ms\n", $total, $post_ms;
printf "all %d prompts ready %.2f s after the POST (%.0f prompts/s), %d failed\n",
    $f->{prompts_ready}, $elapsed, $f->{prompts_ready} / $elapsed, $f->{prompts_failed};
printf "GET /flows/{id} idle: median %.2f ms, p99 %.2f ms\n", $idle50, $idle99;
printf "GET /flows/{id} during pre-render (%d requests): median %.2f ms, p99 %.2f ms\n",
    scalar @busy, $busy[int(@busy / 2)], $busy[int(@busy * 0.99)];
$ivrd->stop;
