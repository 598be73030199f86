#!/usr/bin/perl
# Calls that reach ivrd with no flow in the AGI URL: the dialed number is
# looked up and its call-handling mode decides (human_only, ai_only and
# ai_with_handoff through AudioSocket, ivr_menu); the AI agent failing
# never leaves the caller in silence; a live transfer moves a call waiting
# in a menu, and the call log shows it all.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use FakeAsterisk;
use IvrdTest;
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);

my $ivrd = IvrdTest->start(conf => { dial_template => 'PJSIP/%s@trunk',
	ai_agent_address => '127.0.0.1:9092' });
my $admin = IvrdTest->make_token($ivrd->dir, admin => 1, name => 'root');
my $V = '/api/v1/voice';
sub v { my ($m, $p, %o) = @_; $ivrd->req($m => "$V$p", %o) }

# A number in each mode.
my %num;
is(v(PATCH => '/tenants/acme', token => $admin, body => { voice_enabled => JSON::PP::true })->{status},
    200, 'voice enabled for acme');
for my $case ([ human => '+15550001', { call_handling_mode => 'human_only', human_target => 'humans_q' } ],
    [ ai => '+15550002', { call_handling_mode => 'ai_only', human_target => 'humans_q' } ],
    [ handoff => '+15550003', { call_handling_mode => 'ai_with_handoff', human_target => 'humans_q' } ],
    [ menu => '+15550004', { human_target => 'humans_q' } ]) {
	my ($name, $phone, $patch) = @$case;
	my $r = v(POST => '/numbers', body => { phone_number => $phone, friendly_name => $name });
	is($r->{status}, 201, "number $name created") or diag($r->{content});
	$num{$name} = $r->{json}{data}{uuid};
	$r = v(PATCH => "/numbers/$num{$name}", body => $patch);
	is($r->{status}, 200, "number $name: mode set") or diag($r->{content});
}
# The seed's IVR example on the menu number.
my $r = v(PUT => "/numbers/$num{menu}/ivr", body => {
	greeting => 'Thank you for calling. Press 1 for Sales, 2 for Support.',
	options => [ { digit => '1', label => 'Sales', action => 'ai', target => undef },
	    { digit => '2', label => 'Support', action => 'forward', target => '+15559876543' } ] });
is($r->{status}, 200, 'the IVR menu is saved') or diag($r->{content});
is(v(PATCH => "/numbers/$num{menu}", body => { call_handling_mode => 'ivr_menu' })->{status},
    200, 'number menu: ivr_menu');
{
	my $f = $ivrd->req(GET => "/flows/num-" . substr($num{menu}, 0, 8))->{json};
	my $deadline = time + 30;
	while (($f->{prompts_ready} // 0) < ($f->{prompts_total} // 1) && time < $deadline) {
		sleep 0.05;
		$f = $ivrd->req(GET => "/flows/num-" . substr($num{menu}, 0, 8))->{json};
	}
}

my $n = 0;
sub call {
	my (%o) = @_;
	return FakeAsterisk->call($ivrd, time_scale => 0.02, callerid => '15551112222',
	    uniqueid => '1718035300.' . ++$n, %o);
}
sub lookup {
	my ($c) = @_;
	$c->expect(qr/^GET VARIABLE "WAZO_DSTNUM"$/);
	$c->expect(qr/^GET VARIABLE "XIVO_BASE_EXTEN"$/);
}
sub call_log {
	my ($uniqueid) = @_;
	sleep 0.1;
	my $list = v(GET => '/calls?per_page=100')->{json}{data};
	my ($c) = grep { $_->{sid} eq $uniqueid } @$list;
	return $c ? v(GET => "/calls/$c->{uuid}")->{json}{data} : {};
}

# --- human_only, the DID found through WAZO_DSTNUM ---------------------
{
	my $c = call(variables => { WAZO_DSTNUM => '+15550001' });
	$c->expect(qr/^GET VARIABLE "WAZO_DSTNUM"$/);
	$c->expect(qr/^EXEC "MSet" ".*IVR_ACTION=queue,IVR_TARGET=humans_q,IVR_STATUS=ROUTED"$/);
	$c->expect(qr/^SET AUTOHANGUP 0$/);
	$c->expect(qr/^EXEC "Queue" "humans_q,,,,"$/);
	is($c->route, 'Queue(humans_q,,,,)', 'human_only: straight to the human queue');
	is($c->agistatus, 'SUCCESS', 'human_only: AGISTATUS SUCCESS');
	my $rec = call_log("1718035300.$n");
	is($rec->{status}, 'completed', 'human_only: the call log has it, completed');
}

# --- ai_only: AudioSocket with the call's uuid, DID from the dnid -------------
{
	my $c = call(dnid => '15550002');
	lookup($c);
	$c->expect(qr/^ANSWER$/);
	my $line = $c->expect(qr/^EXEC "AudioSocket" "[0-9a-f-]{36},127\.0\.0\.1:9092"$/);
	my ($uuid) = $line =~ /"([0-9a-f-]{36}),/;
	is($c->agistatus, 'SUCCESS', 'ai_only: the agent ends the call, back to the dialplan');
	sleep 0.1;
	my $rec = v(GET => "/calls/$uuid")->{json}{data};
	is($rec->{uuid}, $uuid, 'ai_only: the AudioSocket uuid is the call\'s uuid in the call log');
	is($rec->{ai_handled}, JSON::PP::true, 'ai_only: ai_handled');
	ok((grep { $_->{event} eq 'ai' } @{ $rec->{transcription} }), 'ai_only: the timeline shows the agent');
}

# --- ai_with_handoff: the agent returns, a human takes the call ----------------
{
	my $c = call(variables => { XIVO_BASE_EXTEN => '15550003' });
	lookup($c);
	$c->expect(qr/^ANSWER$/);
	$c->expect(qr/^EXEC "AudioSocket" /);
	$c->expect(qr/^EXEC "MSet" ".*IVR_ACTION=queue,IVR_TARGET=humans_q,/);
	$c->expect(qr/^SET AUTOHANGUP 0$/);
	is($c->route, 'Queue(humans_q,,,,)', 'ai_with_handoff: then the human queue');
	my $rec = call_log("1718035300.$n");
	ok((grep { $_->{event} eq 'handoff' } @{ $rec->{transcription} // [] }),
	    'ai_with_handoff: the hand-off is in the timeline');
}

# --- the AI agent fails: never silence --------------------------------------------
{
	my $c = call(dnid => '+15550002', exec_result => { AudioSocket => -2 });
	lookup($c);
	$c->expect(qr/^ANSWER$/);
	$c->expect(qr/^EXEC "AudioSocket" /);
	$c->expect(qr/^EXEC "MSet" ".*IVR_TARGET=humans_q,/, name => 'AudioSocket missing: to the humans');
	is($c->route, 'Queue(humans_q,,,,)', 'AI failure: the caller reaches a human');
	my $rec = call_log("1718035300.$n");
	ok((grep { $_->{event} eq 'ai_failed' } @{ $rec->{transcription} // [] }),
	    'AI failure: in the timeline');

	$c = call(dnid => '+15550002', exec_result => { AudioSocket => { result => -1, ms => 500, hangup => 1 } });
	lookup($c);
	$c->expect(qr/^ANSWER$/);
	$c->expect(qr/^EXEC "AudioSocket" /);
	is($c->run, 'HANGUP', 'the caller hangs up while with the agent: the call ends');
	is(call_log("1718035300.$n")->{status}, 'completed', 'and its record is completed');
}

# --- the per-number IVR menu, driven by digits ------------------------------------
{
	my $c = call(dnid => '+15550004');
	lookup($c);
	$c->expect(qr/^ANSWER$/);
	$c->expect(qr/^SET AUTOHANGUP/);
	$c->expect(qr/^STREAM FILE /, press => '2');
	$c->expect(qr/^EXEC "MSet" ".*IVR_ACTION=transfer,IVR_TARGET=\+15559876543,/);
	$c->expect(qr/^SET AUTOHANGUP 0$/);
	like($c->route, qr/^Dial\(PJSIP\/\+15559876543\@trunk/, 'menu digit 2: forward to +15559876543');

	$c = call(dnid => '+15550004');
	lookup($c);
	$c->expect(qr/^ANSWER$/);
	$c->expect(qr/^SET AUTOHANGUP/);
	$c->expect(qr/^STREAM FILE /, press => '1');
	$c->expect(qr/^EXEC "MSet" /);
	$c->expect(qr/^SET AUTOHANGUP 0$/);
	$c->expect(qr/^EXEC "AudioSocket" "[0-9a-f-]{36},127\.0\.0\.1:9092"$/,
	    name => 'menu digit 1 (ai): the AI agent');
	$c->expect(qr/^EXEC "MSet" ".*IVR_TARGET=humans_q,/);
	is($c->route, 'Queue(humans_q,,,,)', 'menu ai: then a human');
}

# --- unknown number, voice disabled ------------------------------------------------
{
	my $c = call(dnid => '+15559999999');
	lookup($c);
	$c->expect(qr/^SET VARIABLE "IVR_STATUS" "FAILED"$/);
	$c->expect(qr/^SET VARIABLE "IVR_ERROR" "no flow in the AGI URL and no phone number \+15559999999"$/);
	is($c->agistatus, 'SUCCESS', 'an unknown number is handed back FAILED');

	v(PATCH => '/tenants/acme', token => $admin, body => { voice_enabled => JSON::PP::false });
	$c = call(dnid => '+15550001');
	lookup($c);
	$c->expect(qr/^SET VARIABLE "IVR_STATUS" "FAILED"$/);
	$c->expect(qr/^SET VARIABLE "IVR_ERROR" "voice is not enabled for tenant acme"$/);
	$c->run;
	v(PATCH => '/tenants/acme', token => $admin, body => { voice_enabled => JSON::PP::true });
}

# --- live transfer of a call waiting in a menu ----------------------------------------
{
	my $c = call(dnid => '+15550004');
	lookup($c);
	$c->expect(qr/^ANSWER$/);
	$c->expect(qr/^SET AUTOHANGUP/);
	$c->expect(qr/^STREAM FILE /);		# the greeting plays...
	my $list = v(GET => '/calls?status=in-progress')->{json}{data};
	my ($live) = grep { $_->{sid} eq "1718035300.$n" } @$list;
	ok($live, 'the call is in the log, in progress');
	my $t = v(POST => "/calls/$live->{uuid}/transfer", body => { target => '+15553334444' });
	is($t->{status}, 200, 'transfer of a call in the menu: 200') or diag($t->{content});
	$c->expect(qr/^EXEC "MSet" ".*IVR_ACTION=transfer,IVR_TARGET=\+15553334444,/,
	    name => 'the prompt is cut short: the transfer comes at once');
	$c->expect(qr/^SET AUTOHANGUP 0$/);
	$c->expect(qr/^EXEC "Dial" "PJSIP\/\+15553334444\@trunk,30"$/);
	is($c->agistatus, 'SUCCESS', 'transferred');
	is_deeply([ grep { !/reply pending/ } $c->violations ], [],
	    'no protocol violation (the interrupting line is what Asterisk expects)');
	sleep 0.1;
	my $rec = v(GET => "/calls/$live->{uuid}")->{json}{data};
	ok((grep { $_->{event} eq 'transferred' && $_->{target} eq '+15553334444' }
	    @{ $rec->{transcription} }), 'the transfer is in the timeline');
	is(v(POST => "/calls/$live->{uuid}/transfer", body => { target => '+15553334444' })->{status},
	    409, 'the call is no longer live: 409');
}

# --- a call already in the human queue, without Wazo: a clear 409 ----------------
{
	my $c = call(dnid => '+15550001', exec_result => { Queue => { result => -1, ms => 600000 } });
	lookup($c);
	$c->expect(qr/^EXEC "MSet" /);
	$c->expect(qr/^SET AUTOHANGUP 0$/);
	$c->expect(qr/^EXEC "Queue" "humans_q,,,,"$/);
	my ($live) = grep { $_->{sid} eq "1718035300.$n" }
	    @{ v(GET => '/calls?status=in-progress')->{json}{data} };
	my $t = v(POST => "/calls/$live->{uuid}/transfer", body => { target => '+15553334444' });
	is($t->{status}, 409, 'transfer of a call in a queue without Wazo: 409');
	like($t->{json}{error}, qr/handed to a queue or an AI agent: moving it needs Wazo/,
	    'saying what it needs');
	$c->close;
}

$ivrd->stop;
done_testing;
