#!/usr/bin/perl
# Calls through FastAGI, as real Asterisk makes them (t/lib/FakeAsterisk.pm
# speaks res_agi byte for byte), against the real daemon with real
# rendered prompts: every action, barge-in, multi-digit keys, retries and
# fallback, '*' to the parent, language switch, closed hours, recording,
# a hang-up at every step, garbage and silent peers, the call cap, and the
# same walks through /simulate.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use FakeAsterisk;
use IO::Socket::IP;
use IvrdTest;
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);

plan skip_all => 'the sqlite3 shell is needed to read call records'
    unless `sqlite3 -version 2>/dev/null`;

my $ivrd = IvrdTest->start(conf => {
	dial_template => 'PJSIP/%s@trunk', agi_command_timeout_sec => 2,
	agi_env_timeout_ms => 500 });
$ivrd->{conf}{recordings_dir} = $ivrd->dir . '/rec';
$ivrd->restart;			# with recordings_dir inside its own dir
my $cache = $ivrd->dir . '/cache';
my $HASH = qr{"\Q$cache\E/[0-9a-f]{2}/[0-9a-f]{64}"};

sub post_flow {
	my ($flow) = @_;
	my $r = $ivrd->req(POST => '/flows', body => $flow);
	is($r->{status}, 201, "flow $flow->{id} saved") or diag($r->{content});
	my $deadline = time + 60;
	my $f;
	do { $f = $ivrd->req(GET => "/flows/$flow->{id}")->{json}; sleep 0.05 }
	    until $f->{prompts_ready} == $f->{prompts_total} || time > $deadline;
	is($f->{prompts_ready}, $f->{prompts_total}, "its prompts are rendered");
}

my %prompts = (
	welcome => { text => { 'en-US' => 'Welcome. Sales one, support two, messages three, operator four, goodbye zero, Spanish nine.',
	    'es-US' => 'Bienvenido. Ventas uno.' } },
	support_menu => { text => { 'en-US' => 'Support. Billing one. Star goes back.' } },
	invalid => { text => { 'en-US' => 'That is not a choice.' } },
	bye => { text => { 'en-US' => 'Goodbye.' } },
	closed => { text => { 'en-US' => 'We are closed.' } },
);
my %root = (id => 'root', prompt => 'welcome', timeout_sec => 2, max_retries => 1,
	options => {
	    1 => { action => 'queue', queue_ref => 'sales_q' },
	    2 => { action => 'menu', menu_ref => 'support' },
	    3 => { action => 'voicemail', voicemail_box => '1000', context => 'default' },
	    4 => { action => 'transfer', destination => '+15551234', timeout => 20 },
	    0 => { action => 'hangup', prompt => 'bye' },
	    9 => { action => 'language', language => 'es-US' } },
	fallback_action => { action => 'queue', queue_ref => 'operators_q' });
post_flow({ id => 'acme', tts_backend => 'local',
	languages => [ { code => 'en-US', voice => 'Joanna' }, { code => 'es-US', voice => 'Lupe' } ],
	prompts => \%prompts,
	menus => { root => \%root,
	    support => { id => 'support', prompt => 'support_menu', parent_menu => 'root',
	        options => { 1 => { action => 'extension', context => 'default', extension => '1001' } } } } });
my $hello = { text => { 'en-US' => 'Hello, and welcome.' } };
post_flow({ id => 'md', languages => [ { code => 'en-US', voice => 'Joanna' } ],
	prompts => { welcome => $hello },
	menus => { root => { id => 'root', prompt => 'welcome', options => {
	    11 => { action => 'queue', queue_ref => 'q11' },
	    12 => { action => 'queue', queue_ref => 'q12' },
	    2 => { action => 'queue', queue_ref => 'q2' } } } } });
post_flow({ id => 'closed', languages => [ { code => 'en-US', voice => 'Joanna' } ],
	prompts => { welcome => $hello, closed => $prompts{closed} },
	business_hours => { name => 'never', timeframes => {}, timezone => 'Pacific/Auckland' },
	voicemail_fallback => '2000',
	menus => { root => { id => 'root', prompt => 'welcome',
	    options => { 1 => { action => 'hangup' } } } } });
post_flow({ id => 'rec', languages => [ { code => 'en-US', voice => 'Joanna' } ],
	prompts => { welcome => $hello },
	call_recording => { enabled => JSON::PP::true, format => 'wav' },
	menus => { root => { id => 'root', prompt => 'welcome',
	    options => { 1 => { action => 'queue', queue_ref => 'sales_q' } } } } });

my $n = 0;
sub call {
	my (%o) = @_;
	my $flow = delete $o{flow} // 'acme';
	return FakeAsterisk->call($ivrd, flow => $flow, time_scale => 0.02,
	    callerid => '15551234567', dnid => '18005550100',
	    uniqueid => '1718035200.' . ++$n, %o);
}

# The call record, once its batch is committed.
sub record {
	my ($uniqueid) = @_;
	sleep 0.1;
	my $db = $ivrd->dir . '/ivrd.sqlite';
	my $json = `sqlite3 -json "$db" "SELECT * FROM calls WHERE uniqueid = '$uniqueid'"`;
	my $rows = $json ? JSON::PP->new->decode($json) : [];
	return $rows->[0] // {};
}

# Set-up, then the first menu prompt; %act applies to that prompt.
sub to_menu {
	my ($c, %act) = @_;
	$c->expect(qr/^ANSWER$/);
	$c->expect(qr/^SET AUTOHANGUP 300$/);
	return $c->expect(qr/^STREAM FILE /, %act);
}

sub clean {
	my ($c, $name) = @_;
	is($c->agistatus, 'SUCCESS', "$name: AGISTATUS SUCCESS");
	is_deeply([ $c->violations ], [], "$name: ivrd kept to the protocol")
	    or diag($c->transcript);
}

# --- a queue, by barge-in during the welcome --------------------------
{
	my $c = call();
	$c->expect(qr/^ANSWER$/);
	$c->expect(qr/^SET AUTOHANGUP 300$/);
	$c->expect(qr/^STREAM FILE $HASH "012349"$/, press => '1', delay => 500);
	$c->expect(qr/^EXEC "MSet" "IVR_FLOW=acme,IVR_LANGUAGE=en-US,IVR_PATH=root,IVR_DIGITS=1,IVR_ACTION=queue,IVR_TARGET=sales_q,IVR_STATUS=ROUTED"$/);
	$c->expect(qr/^SET AUTOHANGUP 0$/);
	$c->expect(qr/^EXEC "Queue" "sales_q,,,,"$/);
	is($c->route, 'Queue(sales_q,,,,)', 'queue: routed to sales_q');
	clean($c, 'queue');
	my $r = record("1718035200.$n");
	is($r->{status}, 'completed', 'queue: the record is completed');
	is($r->{outcome}, 'queue:sales_q', 'queue: outcome');
	is($r->{tenant}, 'acme', 'queue: tenant');
	is($r->{flow_id}, 'acme', 'queue: flow');
	is($r->{from_number}, '15551234567', 'queue: from');
	is($r->{to_number}, '18005550100', 'queue: to');
	is($r->{language}, 'en-US', 'queue: language');
	ok($r->{answered_at} && $r->{ended_at}, 'queue: answered and ended times');
	like($r->{id}, qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
	    'queue: the record id is a uuid');
	my @events = map { $_->{event} } @{ JSON::PP->new->decode($r->{timeline}) };
	is_deeply(\@events, [ qw(answered menu prompt digit routed) ],
	    'queue: the timeline tells the call');
}

# --- a digit during the wait, not the prompt ---------------------------
{
	my $c = call();
	$c->expect(qr/^ANSWER$/);
	$c->expect(qr/^SET AUTOHANGUP 300$/);
	$c->expect(qr/^STREAM FILE $HASH "012349"$/);
	$c->expect(qr/^WAIT FOR DIGIT 2000$/, press => '3', delay => 800);
	$c->expect(qr/^EXEC "MSet" ".*IVR_ACTION=voicemail,IVR_TARGET=1000\@default,/);
	$c->expect(qr/^SET AUTOHANGUP 0$/);
	$c->expect(qr/^EXEC "VoiceMail" "1000\@default"$/);
	is($c->route, 'VoiceMail(1000@default)', 'voicemail: after the wait');
	clean($c, 'voicemail');
	is(record("1718035200.$n")->{outcome}, 'voicemail:1000@default', 'voicemail: outcome');
}

# --- submenu, '*' back to the parent, then an extension -----------------
{
	my $c = call();
	$c->expect(qr/^ANSWER$/);
	$c->expect(qr/^SET AUTOHANGUP 300$/);
	$c->expect(qr/^STREAM FILE $HASH "012349"$/, press => '2');
	$c->expect(qr/^STREAM FILE $HASH "1\*"$/, press => '*');
	$c->expect(qr/^STREAM FILE $HASH "012349"$/, press => '2');
	$c->expect(qr/^STREAM FILE $HASH "1\*"$/, press => '1');
	$c->expect(qr/^EXEC "MSet" ".*IVR_PATH=root>support>root>support,IVR_DIGITS=2\*21,IVR_ACTION=extension,/);
	$c->expect(qr/^SET AUTOHANGUP 0$/);
	$c->expect(qr/^SET CONTEXT "default"$/);
	$c->expect(qr/^SET EXTENSION "1001"$/);
	$c->expect(qr/^SET PRIORITY "1"$/);
	is($c->route, 'context=default extension=1001 priority=1', 'extension: the dialplan goes on there');
	clean($c, 'extension');
	is(record("1718035200.$n")->{outcome}, 'extension:1001@default', 'extension: outcome');
}

# --- transfer, hangup and language actions -------------------------------
{
	my $c = call();
	to_menu($c, press => '4');
	like($c->route, qr/^Dial\(PJSIP\/\+15551234\@trunk,20/, 'transfer: Dial through the template for 20 s');
	clean($c, 'transfer');
	is(record("1718035200.$n")->{outcome}, 'transfer:+15551234', 'transfer: outcome');

	$c = call();
	to_menu($c, press => '0');
	$c->expect(qr/^STREAM FILE $HASH ""$/, name => 'hangup: the goodbye prompt, no escape digits');
	$c->expect(qr/^HANGUP$/);
	is($c->agistatus, 'HANGUP', 'hangup: ivrd hung up');
	is(record("1718035200.$n")->{outcome}, 'hangup', 'hangup: outcome');

	$c = call();
	my $en = to_menu($c, press => '9');
	my $es = $c->expect(qr/^STREAM FILE $HASH "012349"$/, press => '1');
	isnt($es, $en, 'language: the menu is replayed with the Spanish audio');
	$c->expect(qr/^EXEC "MSet" ".*IVR_LANGUAGE=es-US,/);
	is($c->route, 'Queue(sales_q,,,,)', 'language: then the queue');
	is(record("1718035200.$n")->{language}, 'es-US', 'language: recorded');

	$c = call(flow => 'acme?lang=es-US');
	$c->expect(qr/^ANSWER$/);
	$c->expect(qr/^SET AUTOHANGUP/);
	is($c->expect(qr/^STREAM FILE /), $es, 'language from the AGI URL: ?lang=es-US');
	$c->close;
}

# --- invalid, then timeout, then the fallback ------------------------------
{
	my $c = call();
	$c->expect(qr/^ANSWER$/);
	$c->expect(qr/^SET AUTOHANGUP 300$/);
	$c->expect(qr/^STREAM FILE $HASH "012349"$/, press => '7', delay => 300);
	$c->expect(qr/^WAIT FOR DIGIT 2000$/, press => '7', delay => 300);
	$c->expect(qr/^STREAM FILE $HASH "012349"$/, name => 'invalid: the invalid prompt, with the escape digits');
	$c->expect(qr/^STREAM FILE $HASH "012349"$/, name => 'invalid: the menu again');
	$c->expect(qr/^WAIT FOR DIGIT 2000$/, name => 'timeout: nothing pressed');
	$c->expect(qr/^EXEC "MSet" ".*IVR_ACTION=queue,IVR_TARGET=operators_q,/);
	is($c->route, 'Queue(operators_q,,,,)', 'after max_retries the fallback runs');
	is_deeply([ map { $_->[0] } $c->digits_lost ], [], 'no digit was lost')
	    or diag(explain [ $c->digits_lost ]);
	my @tl = map { $_->{event} } @{ JSON::PP->new->decode(record("1718035200.$n")->{timeline}) };
	ok((grep { $_ eq 'invalid' } @tl) && (grep { $_ eq 'timeout' } @tl) &&
	    (grep { $_ eq 'fallback' } @tl), 'the timeline has invalid, timeout, fallback');
}

# --- multi-digit keys ---------------------------------------------------------
{
	my $c = call(flow => 'md');
	$c->expect(qr/^ANSWER$/);
	$c->expect(qr/^SET AUTOHANGUP 300$/);
	$c->expect(qr/^STREAM FILE $HASH "12"$/, press => '1');
	$c->expect(qr/^WAIT FOR DIGIT 3000$/, press => '2', delay => 500);
	$c->expect(qr/^EXEC "MSet" ".*IVR_DIGITS=12,IVR_ACTION=queue,IVR_TARGET=q12,/);
	is($c->route, 'Queue(q12,,,,)', 'multi-digit: 1 then 2 is key 12');
	$c = call(flow => 'md');
	to_menu($c, press => '2');
	is($c->route, 'Queue(q2,,,,)', 'multi-digit: 2 alone is key 2 at once');
}

# --- closed hours, and recording --------------------------------------------
{
	my $c = call(flow => 'closed');
	$c->expect(qr/^ANSWER$/);
	$c->expect(qr/^SET AUTOHANGUP 300$/);
	$c->expect(qr/^STREAM FILE $HASH ""$/, name => 'closed: the closed prompt');
	$c->expect(qr/^EXEC "MSet" /);
	$c->expect(qr/^SET AUTOHANGUP 0$/);
	$c->expect(qr/^EXEC "VoiceMail" "2000"$/);
	clean($c, 'closed');
	is(record("1718035200.$n")->{outcome}, 'voicemail:2000', 'closed: to voicemail_fallback');

	$c = call(flow => 'rec');
	$c->expect(qr/^ANSWER$/);
	$c->expect(qr/^SET AUTOHANGUP 300$/);
	my $uid = "1718035200.$n";
	my $path = $ivrd->dir . "/rec/acme/rec/$uid.wav";	# tenant/flow/uniqueid
	$c->expect(qr/^EXEC "MixMonitor" "\Q$path\E.*"$/, name => 'recording: MixMonitor before the first prompt');
	$c->expect(qr/^STREAM FILE /, press => '1');
	is($c->route, 'Queue(sales_q,,,,)', 'recording: the call goes on');
	is(record($uid)->{recording_path}, $path, 'recording: the path is on the record');
}

# --- a hang-up at each step: a finalised record, no session left -------------
for my $step (qr/^ANSWER$/, qr/^SET AUTOHANGUP 300$/, qr/^STREAM FILE/,
    qr/^WAIT FOR DIGIT/, qr/^EXEC "MSet"/, qr/^SET AUTOHANGUP 0/, qr/^EXEC "Queue"/) {
	# The queue holds the caller, as a real one does.
	my $c = call(exec_result => { Queue => { result => 0, ms => 5000 } });
	# The steps after the menu need a key: pressed during the prompt.
	$c->press_at(2000, '1') if "$step" =~ /MSet|AUTOHANGUP 0|Queue/;
	$c->hangup_after($step, 0);
	is($c->run, 'HANGUP', "hang-up after $step: AGISTATUS HANGUP");
	my $r = record("1718035200.$n");
	ok($r->{ended_at}, "hang-up after $step: the record is finalised");
	# Once the Queue command is on its way (after AUTOHANGUP 0 is
	# answered) the call counts as routed, hung up in the queue.
	like($r->{outcome} // '', "$step" =~ /Queue|AUTOHANGUP 0/ ?
	    qr/^queue:sales_q$/ : qr/^abandoned$/,
	    "hang-up after $step: outcome " . ($r->{outcome} // 'none'));
}
{
	my $deadline = time + 5;
	my $active;
	do { $active = $ivrd->req(GET => '/status')->{json}{calls}{active}; sleep 0.05 }
	    until $active == 0 || time > $deadline;
	is($active, 0, 'no session is left behind');
}

# --- garbage, oversize and silent peers -----------------------------------------
sub raw_peer {
	my ($bytes) = @_;
	my $s = IO::Socket::IP->new(PeerAddr => $ivrd->agi_addr) or die $!;
	print $s $bytes if defined $bytes;
	$s->timeout(5);
	my $t0 = time;
	my $got = '';
	while (defined(my $l = <$s>)) { $got .= $l }
	return ($got, time - $t0);
}
{
	my ($got, $secs) = raw_peer("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	is($got, '', 'HTTP on the AGI port: closed, not a word');
	($got, $secs) = raw_peer('x' x 20000);
	is($got, '', 'a 20 kB line: closed');
	($got, $secs) = raw_peer(undef);
	cmp_ok($secs, '<', 3, "a peer that says nothing is dropped (after ${\ sprintf '%.1f', $secs} s)");
	my $c = call();
	$c->expect(qr/^ANSWER$/, silent => 1);
	is($c->run(timeout => 10), 'SUCCESS', 'Asterisk silent after a command: ivrd ends the call');
	like(record("1718035200.$n")->{outcome}, qr/^abandoned$/, 'and finalises the record');
	like($ivrd->log_text, qr/Asterisk silent for 2 s: call dropped/, 'and says so in the log');
}

# --- the same walks through /simulate ------------------------------------------
for my $case ([ 'queue', [ [ 500, '1' ] ], 'queue:sales_q' ],
    [ 'extension', [ [ 300, '2' ], [ 2000, '1' ] ], 'extension:1001@default' ],
    [ 'language', [ [ 300, '9' ], [ 1500, '1' ] ], 'queue:sales_q' ]) {
	my ($name, $digits, $outcome) = @$case;
	my $r = $ivrd->req(POST => '/flows/acme/simulate', body => {
	    digits => [ map { { at_ms => $_->[0], digit => $_->[1] } } @$digits ] });
	is($r->{status}, 200, "simulate $name: 200");
	is($r->{json}{outcome}, $outcome, "simulate $name: the outcome the socket gave");
}
{
	my $r = $ivrd->req(POST => '/flows/closed/simulate', body => {});
	is($r->{json}{outcome}, 'voicemail:2000', 'simulate closed hours: as through the socket');
	$r = $ivrd->req(POST => '/flows/acme/simulate', body => { hangup_at_ms => 100 });
	is($r->{json}{outcome}, 'abandoned', 'simulate a hang-up');
	$r = $ivrd->req(POST => '/flows/acme/simulate', body => { digits => [ { at_ms => 5, digit => 'x' } ] });
	is($r->{status}, 400, 'simulate: a bad digit is 400');
	is($r->{json}{error}, 'digits.0.digit: must be one of 0-9 * #', 'with its path');
}

# --- business hours in another time zone, on an injected clock ----------------
post_flow({ id => 'hours', languages => [ { code => 'en-US', voice => 'Joanna' } ],
	prompts => { welcome => $hello, closed => $prompts{closed} },
	business_hours => { name => 'ny', timezone => 'America/New_York',
	    timeframes => { monday => [ '09:00-17:00' ], friday => [ '22:00-06:00' ] },
	    holidays => [ '12-25' ] },
	voicemail_fallback => '2000',
	menus => { root => { id => 'root', prompt => 'welcome',
	    options => { 1 => { action => 'queue', queue_ref => 'sales_q' } } } } });
for my $case (
    [ '2026-11-23T10:00:00-05:00', 'open', 'Monday 10:00 in New York' ],
    [ '2026-11-23T15:00:00Z', 'open', 'the same instant given in UTC' ],
    [ '2026-11-23T17:00:00-05:00', 'closed', 'Monday 17:00: the end is exclusive' ],
    [ '2026-11-23T08:59:00-05:00', 'closed', 'Monday 08:59' ],
    [ '2026-11-28T03:00:00-05:00', 'open', 'Saturday 03:00: Friday\'s overnight range' ],
    [ '2026-11-28T06:00:00-05:00', 'closed', 'Saturday 06:00: the overnight range is over' ],
    [ '2026-12-25T23:00:00-05:00', 'closed', 'a Friday night that is Christmas' ],
    [ '2026-07-06T10:00:00-04:00', 'open', 'a Monday in summer time (UTC-4)' ]) {
	my ($now, $want, $name) = @$case;
	my $r = $ivrd->req(POST => '/flows/hours/simulate', body => {
	    now => $now, digits => [ { at_ms => 300, digit => '1' } ] });
	is($r->{json}{outcome}, $want eq 'open' ? 'queue:sales_q' : 'voicemail:2000',
	    "hours: $name is $want");
}

# --- the call cap --------------------------------------------------------------
{
	my $capped = IvrdTest->start(tenant => 'default', conf => { agi_max_calls => 1 });
	$capped->req(POST => '/flows', body => { id => 'one', languages => [ { code => 'en-US', voice => 'Joanna' } ],
	    prompts => { hi => { text => { 'en-US' => 'Hi.' } } },
	    menus => { root => { id => 'root', prompt => 'hi', options => { 1 => { action => 'hangup' } } } } });
	my $first = FakeAsterisk->call($capped, flow => 'one', time_scale => 0.02);
	$first->expect(qr/^ANSWER$/);
	my $second = FakeAsterisk->call($capped, flow => 'one', time_scale => 0.02);
	$second->expect(qr/^SET VARIABLE "IVR_STATUS" "BUSY"$/, name => 'over the cap: IVR_STATUS=BUSY');
	is($second->run, 'SUCCESS', 'and the call is handed straight back');
	$first->close;
	$capped->stop;
}

$ivrd->stop;
done_testing;
