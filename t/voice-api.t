#!/usr/bin/perl
# The voice API (shared/seeds/003_...) under /api/v1/voice: its envelope,
# the tenant permission, phone numbers and their validation, per-number
# IVR menus compiled to flows (run by /simulate and by real calls through
# the fake Asterisk), the call log with every filter and its pagination,
# one call with its transcription, and live transfer's answers. A tenant
# never sees another's numbers or calls.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use FakeAsterisk;
use IvrdTest;
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);

plan skip_all => 'the sqlite3 shell is needed to write call records'
    unless `sqlite3 -version 2>/dev/null`;

my $ivrd = IvrdTest->start(conf => { dial_template => 'PJSIP/%s\@trunk' });	# tenant acme
my $admin = IvrdTest->make_token($ivrd->dir, admin => 1, name => 'root');
my $globex = IvrdTest->make_token($ivrd->dir, tenant => 'globex', name => 'g');
my $V = '/api/v1/voice';
my $DISABLED = 'voice is not enabled for this tenant (twilio_voice_enabled)';

sub v { my ($m, $p, %o) = @_; $ivrd->req($m => "$V$p", %o) }

# One error answer: status, envelope, message.
sub fails {
	my ($r, $status, $msg, $name) = @_;
	subtest $name => sub {
		is($r->{status}, $status, "status $status") or diag($r->{content});
		is($r->{headers}{'content-type'}, 'application/json', 'JSON');
		is_deeply([ sort keys %{ $r->{json} // {} } ], [ 'error', 'success' ],
		    'envelope {success, error}');
		ok(defined $r->{json}{success} && !$r->{json}{success}, 'success: false');
		ref $msg ? like($r->{json}{error}, $msg, 'message')
		    : is($r->{json}{error}, $msg, 'message');
	};
}

sub succeeds {
	my ($r, $status, $name) = @_;
	is($r->{status}, $status, "$name: $status") or diag($r->{content});
	ok($r->{json}{success} && JSON::PP::is_bool($r->{json}{success}),
	    "$name: success: true");
	return $r->{json}{data};
}

# --- the permission ---------------------------------------------------------
fails(v(GET => '/numbers'), 403, $DISABLED, 'voice off by default: 403');
for my $ep ([ POST => '/numbers', { phone_number => '+15551230000' } ],
    [ GET => '/calls' ], [ GET => '/numbers/x' ], [ GET => '/calls/x' ],
    [ POST => '/calls/x/transfer', { target => '1000' } ], [ PUT => '/numbers/x/ivr', {} ],
    [ PATCH => '/numbers/x', {} ], [ DELETE => '/numbers/x' ]) {
	fails(v($ep->[0], $ep->[1], $ep->[2] ? (body => $ep->[2]) : ()), 403,
	    $DISABLED, "voice off: $ep->[0] $ep->[1] is 403");
}
fails(v(GET => '/numbers', token => undef), 401, qr/^missing credentials/,
    'no token: 401 in the voice envelope');
fails(v(PATCH => '/tenants/acme', body => { voice_enabled => JSON::PP::true }),
    403, $DISABLED, 'a tenant token cannot enable itself');
fails(v(PATCH => '/tenants/acme', token => $admin, body => { voice_enabled => 1 }),
    400, 'voice_enabled: must be a boolean', 'voice_enabled must be a boolean');
fails(v(PATCH => '/tenants/acme', token => $admin, body => {}),
    400, 'voice_enabled: required', 'voice_enabled is required');
fails(v(PATCH => '/tenants/a%20b', token => $admin, body => { voice_enabled => JSON::PP::true }),
    400, qr/^tenant: /, 'a bad tenant name: 400');
is_deeply(succeeds(v(GET => '/tenants/acme', token => $admin), 200, 'admin reads a tenant'),
    { name => 'acme', voice_enabled => JSON::PP::false }, 'voice_enabled false');
is_deeply(succeeds(v(PATCH => '/tenants/acme', token => $admin,
    body => { voice_enabled => JSON::PP::true }), 200, 'admin enables acme'),
    { name => 'acme', voice_enabled => JSON::PP::true }, 'voice_enabled true');
is_deeply(succeeds(v(GET => '/numbers'), 200, 'acme now lists numbers'), [],
    'no numbers yet');
fails(v(GET => '/numbers', token => $globex), 403, $DISABLED, 'globex still off');
succeeds(v(PATCH => '/tenants/globex', token => $admin,
    body => { voice_enabled => JSON::PP::true }), 200, 'admin enables globex');
succeeds(v(GET => '/numbers', token => $globex), 200, 'globex lists numbers');
fails(v(GET => '/nothing'), 404, qr/^no such endpoint/, 'unknown endpoint: 404');
fails(v(PUT => '/numbers'), 405, qr/^method PUT is not allowed/, 'wrong method: 405');
is(v(PUT => '/numbers')->{headers}{allow}, 'GET, HEAD, POST', 'with Allow');
is($ivrd->req(GET => '/flows')->{json}{count}, 0,
    '/api/ivr keeps its own envelope');

# --- numbers ----------------------------------------------------------------
fails(v(POST => '/numbers', body => {}), 400, 'phone_number: required', 'phone_number required');
for my $bad ('15551234567', '+0551234567', '+12345', '+1234567890123456', '+1555abc4567') {
	fails(v(POST => '/numbers', body => { phone_number => $bad }), 400,
	    qr/^phone_number: must be E\.164/, "phone_number '$bad': 400");
}
fails(v(POST => '/numbers', body => { phone_number => '+15551234567', connection_type => 'twilio' }),
    400, qr/^connection_type: must be wazo/, 'connection_type other than wazo: 400');
fails(v(POST => '/numbers', body => { phone_number => '+15551234567', colour => 'red' }),
    400, 'colour: unknown field', 'an unknown field: 400');
fails(v(POST => '/numbers', body => { phone_number => '+15551234567', tenant => 'globex' }),
    403, qr/^tenant: this token belongs to tenant 'acme'/, 'a number for another tenant: 403');
fails(v(POST => '/numbers', body => { phone_number => '+15551234567',
    call_handling_mode => 'human_only' }), 400,
    'human_target: required when call_handling_mode is human_only',
    'human_only without human_target: 400');
my $r = v(POST => '/numbers', body => { phone_number => '+5511999999999',
    friendly_name => 'Main Line' });
my $main = succeeds($r, 201, 'POST a number');
is($r->{headers}{location}, "$V/numbers/$main->{uuid}", 'Location');
like($main->{uuid}, qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a v4 uuid');
like($main->{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'created_at like the seed');
is_deeply({ map { $_ => $main->{$_} } qw(phone_number friendly_name status
    connection_type call_handling_mode ai_enabled recording_enabled ivr_enabled
    flow_id human_target tenant ai_system_prompt) },
    { phone_number => '+5511999999999', friendly_name => 'Main Line', status => 'active',
      connection_type => 'wazo', call_handling_mode => 'ai_only', ai_enabled => JSON::PP::true,
      recording_enabled => JSON::PP::false, ivr_enabled => JSON::PP::false, flow_id => undef,
      human_target => undef, tenant => 'acme', ai_system_prompt => undef },
    'the defaults');
fails(v(POST => '/numbers', body => { phone_number => '+5511999999999' }), 409,
    'phone_number: +5511999999999 is already configured', 'the same phone again: 409');
fails(v(POST => '/numbers', token => $globex, body => { phone_number => '+5511999999999' }), 409,
    qr/already configured/, 'the same phone in another tenant: 409 (numbers are global)');
my $sup = succeeds(v(POST => '/numbers', body => { phone_number => '+15551234567',
    call_handling_mode => 'ai_with_handoff', human_target => 'support_q',
    recording_enabled => JSON::PP::true }), 201, 'POST a second number');
my $g = succeeds(v(POST => '/numbers', token => $globex, body => { phone_number => '+4930123456' }),
    201, 'globex POSTs a number');
my $adm = succeeds(v(POST => '/numbers', token => $admin, body => { phone_number => '+4930999999',
    tenant => 'initech' }), 201, 'an admin POSTs for any tenant');
is($adm->{tenant}, 'initech', 'in the tenant it names');

my $list = succeeds(v(GET => '/numbers'), 200, 'GET numbers');
is_deeply([ map { $_->{phone_number} } @$list ], [ '+5511999999999', '+15551234567' ],
    'acme sees its two numbers, oldest first');
is_deeply([ sort keys %{ $list->[0] } ], [ sort qw(uuid phone_number friendly_name status
    connection_type call_handling_mode ai_enabled recording_enabled ivr_enabled
    created_at flow_id human_target) ], 'list items: the seed fields + flow_id, human_target');
is(scalar @{ succeeds(v(GET => '/numbers', token => $admin), 200, 'admin lists all') }, 4,
    'an admin sees every tenant');
is(scalar @{ succeeds(v(GET => '/numbers?tenant=globex', token => $admin), 200,
    'admin lists one tenant') }, 1, '?tenant= narrows');
is_deeply(succeeds(v(GET => "/numbers/$main->{uuid}"), 200, 'GET one'), $main, 'as created');
fails(v(GET => "/numbers/$g->{uuid}"), 404, "number '$g->{uuid}' not found",
    "acme cannot see globex's number");
fails(v(PATCH => "/numbers/$g->{uuid}", body => { ai_enabled => JSON::PP::false }), 404,
    qr/not found/, "nor PATCH it");
fails(v(DELETE => "/numbers/$g->{uuid}"), 404, qr/not found/, 'nor DELETE it');
fails(v(GET => "/numbers/$g->{uuid}/ivr"), 404, qr/not found/, 'nor read its menu');
succeeds(v(GET => "/numbers/$g->{uuid}", token => $admin), 200, 'an admin can');

# PATCH: the validation table.
$ivrd->req(POST => '/flows', body => { id => 'sales', languages => [ { code => 'en-US', voice => 'Joanna' } ],
    prompts => { welcome => { text => { 'en-US' => 'Welcome.' } } },
    menus => { root => { id => 'root', prompt => 'welcome',
        options => { 1 => { action => 'queue', queue_ref => 'sales_q' } } } } });
$ivrd->req(POST => '/flows', token => $globex, body => { id => 'gflow', languages => [ { code => 'en-US', voice => 'Joanna' } ],
    prompts => { welcome => { text => { 'en-US' => 'Welcome.' } } },
    menus => { root => { id => 'root', prompt => 'welcome',
        options => { 1 => { action => 'queue', queue_ref => 'g_q' } } } } });
my @table = (
	[ { call_handling_mode => 'robot' }, 'call_handling_mode: must be one of ai_only, human_only, ai_with_handoff, ivr_menu' ],
	[ { call_handling_mode => 1 }, 'call_handling_mode: must be one of ai_only, human_only, ai_with_handoff, ivr_menu' ],
	[ { ai_enabled => 'yes' }, 'ai_enabled: must be a boolean' ],
	[ { ai_enabled => 1 }, 'ai_enabled: must be a boolean' ],
	[ { recording_enabled => undef }, 'recording_enabled: must be a boolean' ],
	[ { ai_system_prompt => 'x' x 4001 }, 'ai_system_prompt: must be a string of at most 4000 characters, or null' ],
	[ { ai_system_prompt => 42 }, 'ai_system_prompt: must be a string of at most 4000 characters, or null' ],
	[ { flow_id => 'nope' }, "flow_id: no flow 'nope' in tenant 'acme'" ],
	[ { flow_id => 'gflow' }, "flow_id: no flow 'gflow' in tenant 'acme'" ],
	[ { flow_id => '../x' }, qr/^flow_id: must be a flow id/ ],
	[ { human_target => 'q,1' }, qr/^human_target: must be a queue name/ ],
	[ { human_target => 'q' x 81 }, qr/^human_target: must be a queue name/ ],
	[ { human_target => '${EVIL}' }, qr/^human_target: must be a queue name/ ],
	[ { call_handling_mode => 'human_only' }, 'human_target: required when call_handling_mode is human_only' ],
	[ { call_handling_mode => 'ai_with_handoff' }, 'human_target: required when call_handling_mode is ai_with_handoff' ],
	[ { call_handling_mode => 'ivr_menu' }, 'call_handling_mode: ivr_menu needs an IVR menu (PUT /voice/numbers/{uuid}/ivr) or a flow_id' ],
	[ { phone_number => '+15550000000' }, 'phone_number: unknown field' ],
	[ { status => 'gone' }, 'status: must be one of active, inactive' ],
);
for my $case (@table) {
	my ($body, $msg) = @$case;
	fails(v(PATCH => "/numbers/$main->{uuid}", body => $body), 400, $msg,
	    'PATCH ' . JSON::PP->new->canonical->encode($body) =~ s/x{20,}/x.../r);
}
fails(v(PATCH => "/numbers/$main->{uuid}", body => '{'), 400, qr/^malformed JSON/, 'malformed body: 400');
fails(v(PATCH => "/numbers/$main->{uuid}", body => '[]'), 400, 'request body must be a JSON object', 'not an object: 400');
is_deeply(succeeds(v(GET => "/numbers/$main->{uuid}"), 200, 'after the refusals'), $main,
    'nothing changed');
my $p = succeeds(v(PATCH => "/numbers/$main->{uuid}", body => {
    call_handling_mode => 'human_only', human_target => 'sales_q', ai_enabled => JSON::PP::false,
    recording_enabled => JSON::PP::true, ai_system_prompt => 'You are helpful.' }), 200, 'PATCH');
is_deeply({ map { $_ => $p->{$_} } qw(call_handling_mode human_target ai_enabled recording_enabled ai_system_prompt) },
    { call_handling_mode => 'human_only', human_target => 'sales_q', ai_enabled => JSON::PP::false,
      recording_enabled => JSON::PP::true, ai_system_prompt => 'You are helpful.' }, 'every field applied');
fails(v(PATCH => "/numbers/$main->{uuid}", body => { human_target => undef }), 400,
    'human_target: required when call_handling_mode is human_only', 'human_target cannot be dropped in human_only');
$p = succeeds(v(PATCH => "/numbers/$main->{uuid}", body => { call_handling_mode => 'ivr_menu', flow_id => 'sales' }),
    200, 'ivr_menu with a flow_id');
is($p->{flow_id}, 'sales', 'flow_id set');
$p = succeeds(v(PATCH => "/numbers/$main->{uuid}", body => { call_handling_mode => 'ai_only',
    flow_id => undef, ai_system_prompt => undef }), 200, 'back to ai_only, nulls clear');
ok(!defined $p->{flow_id} && !defined $p->{ai_system_prompt}, 'flow_id and prompt cleared');
is(succeeds(v(GET => "/numbers/$main->{uuid}"), 200, 'GET after PATCH')->{human_target}, 'sales_q', 'persisted');

# --- the IVR menu -----------------------------------------------------------
fails(v(GET => "/numbers/$main->{uuid}/ivr"), 404, "number '$main->{uuid}' has no IVR menu", 'no menu yet: 404');
my %opt = (digit => '1', label => 'Sales', action => 'ai', target => undef);
my @ivr_bad = (
	[ { options => [ \%opt ] }, 'greeting: required' ],
	[ { greeting => '', options => [ \%opt ] }, 'greeting: must be a string of 1 to 1000 characters' ],
	[ { greeting => 'Hi' }, 'options: required' ],
	[ { greeting => 'Hi', options => {} }, 'options: must be an array of 1 to 12 options' ],
	[ { greeting => 'Hi', options => [] }, 'options: must be an array of 1 to 12 options' ],
	[ { greeting => 'Hi', options => [ { %opt, digit => '12' } ] }, 'options.0.digit: must be one of 0-9 * #' ],
	[ { greeting => 'Hi', options => [ { %opt, digit => 'a' } ] }, 'options.0.digit: must be one of 0-9 * #' ],
	[ { greeting => 'Hi', options => [ { %opt, digit => 1 } ] }, 'options.0.digit: must be one of 0-9 * #' ],
	[ { greeting => 'Hi', options => [ \%opt, { %opt } ] }, "options.1.digit: '1' is used by another option" ],
	[ { greeting => 'Hi', options => [ { %opt, label => undef } ] }, 'options.0.label: required, a string of 1 to 100 characters' ],
	[ { greeting => 'Hi', options => [ { %opt, action => 'fax' } ] }, 'options.0.action: must be one of forward, ai, department, voicemail' ],
	[ { greeting => 'Hi', options => [ { %opt, action => 'forward' } ] }, qr/^options\.0\.target: required for action forward: a phone number or SIP address/ ],
	[ { greeting => 'Hi', options => [ { %opt, action => 'forward', target => '+1555,1' } ] }, qr/^options\.0\.target: required for action forward/ ],
	[ { greeting => 'Hi', options => [ { %opt, action => 'department' } ] }, qr/^options\.0\.target: required for action department: a queue name/ ],
	[ { greeting => 'Hi', options => [ { %opt, action => 'voicemail', target => '' } ] }, qr/^options\.0\.target: required for action voicemail: a mailbox/ ],
	[ { greeting => 'Hi', options => [ { %opt, colour => 1 } ] }, 'options.0.colour: unknown field' ],
	[ { greeting => 'Hi', options => [ \%opt ], extra => 1 }, 'extra: unknown field' ],
);
for my $case (@ivr_bad) {
	my ($body, $msg) = @$case;
	fails(v(PUT => "/numbers/$main->{uuid}/ivr", body => $body), 400, $msg,
	    'PUT ivr ' . JSON::PP->new->canonical->encode($body));
}
my $menu = { greeting => 'Thank you for calling. Press 1 for Sales, 2 for Support.',
    options => [ { digit => '1', label => 'Sales', action => 'ai', target => undef },
        { digit => '2', label => 'Support', action => 'forward', target => '+15559876543' },
        { digit => '3', label => 'Billing', action => 'department', target => 'billing_q' },
        { digit => '#', label => 'Messages', action => 'voicemail', target => '1000' } ] };
my $put = succeeds(v(PUT => "/numbers/$main->{uuid}/ivr", body => $menu), 200, 'PUT the seed menu');
my $fid = 'num-' . substr($main->{uuid}, 0, 8);
is($put->{flow_id}, $fid, "it generates flow $fid");
is_deeply(succeeds(v(GET => "/numbers/$main->{uuid}/ivr"), 200, 'GET ivr'), $menu,
    'GET returns {greeting, options} as stored');
my $n = succeeds(v(GET => "/numbers/$main->{uuid}"), 200, 'the number after PUT');
is($n->{flow_id}, $fid, 'the number runs the generated flow');
ok($n->{ivr_enabled}, 'ivr_enabled true');
succeeds(v(PATCH => "/numbers/$sup->{uuid}", body => { call_handling_mode => 'ivr_menu', flow_id => 'sales' }),
    200, 'another number may run a flow by id');

$r = $ivrd->req(GET => "/flows/$fid");
is($r->{status}, 200, 'GET /api/ivr/flows/num-... returns the flow');
my $flow = $r->{json};
is($flow->{tenant}, 'acme', 'in the number\'s tenant');
is_deeply($flow->{languages}, [ { code => 'en-US', voice => 'Joanna' } ], 'en-US, Joanna');
is($flow->{prompts}{greeting}{text}{'en-US'}, $menu->{greeting}, 'the greeting prompt');
ok($flow->{prompts}{invalid}, 'an invalid prompt');
my $o = $flow->{menus}{root}{options};
is_deeply([ $o->{1}{action}, $o->{1}{context}, $o->{1}{extension} ], [ 'extension', 'ivrd-ai', 's' ],
    'ai: extension s@ivrd-ai');
is_deeply([ $o->{2}{action}, $o->{2}{destination} ], [ 'transfer', '+15559876543' ], 'forward: transfer');
is_deeply([ $o->{3}{action}, $o->{3}{queue_ref} ], [ 'queue', 'billing_q' ], 'department: queue');
is_deeply([ $o->{'#'}{action}, $o->{'#'}{voicemail_box}, $o->{'#'}{context} ],
    [ 'voicemail', '1000', 'default' ], 'voicemail: box@default');
is($ivrd->req(GET => "/flows/$fid", token => $globex)->{status}, 404, 'globex cannot see the flow');
for my $case ([ '1', 'extension:s@ivrd-ai' ], [ '2', 'transfer:+15559876543' ],
    [ '3', 'queue:billing_q' ], [ '#', 'voicemail:1000@default' ]) {
	my $s = $ivrd->req(POST => "/flows/$fid/simulate",
	    body => { digits => [ { at_ms => 500, digit => $case->[0] } ] });
	is($s->{status}, 200, "simulate digit $case->[0]: 200");
	is($s->{json}{outcome}, $case->[1], "digit $case->[0] -> $case->[1]");
}
# A second PUT replaces the flow (same id), language and voice may be given.
$put = succeeds(v(PUT => "/numbers/$main->{uuid}/ivr", body => { %$menu, language => 'es-US', voice => 'Lupe',
    options => [ $menu->{options}[1] ] }), 200, 'PUT again, in Spanish');
$flow = $ivrd->req(GET => "/flows/$fid")->{json};
is_deeply($flow->{languages}, [ { code => 'es-US', voice => 'Lupe' } ], 'the flow is replaced: es-US, Lupe');
is_deeply([ keys %{ $flow->{menus}{root}{options} } ], [ '2' ], 'with the new options only');
is(succeeds(v(GET => "/numbers/$main->{uuid}/ivr"), 200, 'GET ivr')->{language}, 'es-US', 'language kept');
succeeds(v(PUT => "/numbers/$main->{uuid}/ivr", body => $menu), 200, 'PUT the seed menu back');
succeeds(v(PATCH => "/numbers/$main->{uuid}", body => { call_handling_mode => 'ivr_menu', flow_id => undef }),
    200, 'ivr_menu without flow_id: the menu is enough');

# Wait for the prompts, then real calls through FakeAsterisk.
my $deadline = time + 60;
do { $flow = $ivrd->req(GET => "/flows/$fid")->{json}; sleep 0.05 }
    until $flow->{prompts_ready} == $flow->{prompts_total} || time > $deadline;
is($flow->{prompts_ready}, $flow->{prompts_total}, 'the menu prompts are rendered');
my @real;
for my $case ([ '2', qr/Dial|transfer/i ], [ '3', qr/billing_q/ ]) {
	my $c = FakeAsterisk->call($ivrd, flow => $fid, time_scale => 0.02,
	    callerid => '15557654321', dnid => '5511999999999',
	    uniqueid => '1718035300.' . (10 + @real));
	$c->expect(qr/^ANSWER$/);
	$c->expect(qr/^SET AUTOHANGUP/);
	$c->expect(qr/^STREAM FILE /, press => $case->[0]);
	$c->run;
	is($c->agistatus, 'SUCCESS', "real call, digit $case->[0]: AGISTATUS SUCCESS");
	push @real, '1718035300.' . (10 + @real);
}

# --- the call log -----------------------------------------------------------
my $db = $ivrd->dir . '/ivrd.sqlite';
sleep 0.3;
my $ids = `sqlite3 "$db" "SELECT id FROM calls WHERE uniqueid IN ('$real[0]', '$real[1]') ORDER BY started_at"`;
my @real_ids = split /\n/, $ids;
is(scalar @real_ids, 2, 'the real calls are recorded');
# 45 more, written straight into the store: a known spread.
my @st = qw(completed failed in-progress ringing completed);
my @sql = ('BEGIN;');
for my $i (1 .. 45) {
	my $tenant = $i % 9 == 0 ? 'globex' : 'acme';
	my $num = $i % 3 == 0 ? $sup->{uuid} : $main->{uuid};
	my $status = $st[$i % 5];
	my $dir = $i % 4 == 0 ? 'outbound' : 'inbound';
	my $day = sprintf('2026-01-%02d', 1 + $i % 28);
	my $started = sprintf('%sT10:%02d:00.000Z', $day, $i);
	my $ended = $status =~ /completed|failed/ ? sprintf("'%sT10:%02d:%02d.000Z'", $day, $i, 30) : 'NULL';
	my $dur = $status =~ /completed|failed/ ? 30500 : 'NULL';
	my $rec = $i == 5 ? "'rec/seed-$i'" : 'NULL';
	push @sql, "INSERT INTO calls (id, uniqueid, tenant, flow_id, phone_number_uuid, from_number, to_number,"
	    . " direction, status, started_at, ended_at, duration_ms, ai_handled, recording_path, timeline) VALUES"
	    . " ('seed-$i', '1700000000.$i', '$tenant', 'sales', '$num', '+1555000$i', '+5511999999999',"
	    . " '$dir', '$status', '$started', $ended, $dur, " . ($i % 2) . ", $rec,"
	    . " '[{\"at_ms\":0,\"event\":\"answered\"},{\"at_ms\":120,\"event\":\"prompt\",\"prompt\":\"welcome\",\"text\":\"Hi $i\"}]');";
}
push @sql, 'COMMIT;';
open my $sqlfh, '|-', 'sqlite3', $db or die;
print $sqlfh join("\n", @sql), "\n";
close $sqlfh;
is($?, 0, '45 call records written');
my @acme = grep { $_ % 9 } 1 .. 45;
my %want_count = (all => 2 + @acme);

$r = v(GET => '/calls');
my $calls = succeeds($r, 200, 'GET calls');
is_deeply([ sort keys %{ $r->{json} } ], [ qw(data meta success) ], 'data and meta beside success');
is_deeply($r->{json}{meta}, { page => 1, per_page => 20, total => $want_count{all},
    last_page => int(($want_count{all} + 19) / 20), total_capped => JSON::PP::false },
    'meta: default per_page 20, an exact total');
is(scalar @$calls, 20, 'a page of 20');
is($calls->[0]{uuid}, $real_ids[1], 'newest first: the last real call');
is_deeply([ sort keys %{ $calls->[0] } ], [ sort qw(uuid sid direction from_number to_number
    status duration recording_url ai_handled started_at ended_at) ], 'the seed call fields');
my @starts = map { $_->{started_at} } @$calls;
is_deeply(\@starts, [ sort { $b cmp $a } @starts ], 'ordered by started_at, newest first');
like($calls->[0]{started_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'times as the seed shows them');
is($calls->[0]{sid}, $real[1], 'sid: the Asterisk uniqueid');
my %all;
for my $page (1 .. 3) {
	$r = v(GET => "/calls?per_page=20&page=$page");
	$all{ $_->{uuid} }++ for @{ $r->{json}{data} };
}
is(scalar keys %all, $want_count{all}, 'pages cover every call once');
ok(!grep({ $_ > 1 } values %all), 'no call on two pages');
ok(!grep({ $all{"seed-$_"} } grep { $_ % 9 == 0 } 1 .. 45), "acme never sees globex's calls");
$r = v(GET => '/calls?page=99');
is_deeply($r->{json}{data}, [], 'a page past the end: empty');
is($r->{json}{meta}{total}, $want_count{all}, 'with the total');
{
	my $one = (grep { $_->{uuid} eq 'seed-5' } map { @{ v(GET => "/calls?per_page=100")->{json}{data} } } 1)[0];
	is_deeply($one, { uuid => 'seed-5', sid => '1700000000.5', direction => 'inbound',
	    from_number => '+15550005', to_number => '+5511999999999', status => 'completed',
	    duration => 31, recording_url => "$V/calls/seed-5/recording", ai_handled => JSON::PP::true,
	    started_at => '2026-01-06T10:05:00Z', ended_at => '2026-01-06T10:05:30Z' },
	    'a call as the seed shows it (duration in whole seconds, recording_url a path)');
}
my %filters = (
	'status=completed' => sub { $st[$_[0] % 5] eq 'completed' },
	'status=in-progress' => sub { $st[$_[0] % 5] eq 'in-progress' },
	'direction=outbound' => sub { $_[0] % 4 == 0 },
	"phone_number_uuid=$sup->{uuid}" => sub { $_[0] % 3 == 0 },
	"phone_number_uuid=$sup->{uuid}&status=failed" => sub { $_[0] % 3 == 0 && $st[$_[0] % 5] eq 'failed' },
	'from=2026-01-10&to=2026-01-20' => sub { my $d = 1 + $_[0] % 28; $d >= 10 && $d <= 20 },
	'from=2026-01-10T10:00:00Z&to=2026-01-20T10:15:00Z' => sub {
	    my $d = 1 + $_[0] % 28; ($d > 10 || ($d == 10)) && ($d < 20 || ($d == 20 && $_[0] <= 15)) },
	'from=2026-01-10T12:00:00%2B02:00&to=2026-01-12' => sub { my $d = 1 + $_[0] % 28; $d >= 10 && $d <= 12 },
	'status=completed&direction=inbound&from=2026-01-05' => sub {
	    $st[$_[0] % 5] eq 'completed' && $_[0] % 4 && 1 + $_[0] % 28 >= 5 },
);
for my $q (sort keys %filters) {
	my @want = sort map { "seed-$_" } grep { $filters{$q}->($_) } @acme;
	$r = v(GET => "/calls?$q&per_page=100");
	my @got = sort grep { /^seed-/ } map { $_->{uuid} } @{ $r->{json}{data} // [] };
	is_deeply(\@got, \@want, "filter $q: " . scalar(@want) . ' calls') or diag($r->{content});
	is($r->{json}{meta}{total}, scalar @{ $r->{json}{data} }, "filter $q: meta.total");
}
$r = v(GET => '/calls?status=completed&per_page=3&page=2');
is_deeply([ @{ $r->{json}{meta} }{qw(page per_page)} ], [ 2, 3 ], 'meta echoes page and per_page');
is($r->{json}{meta}{last_page}, int(($r->{json}{meta}{total} + 2) / 3), 'last_page = ceil(total / per_page)');
is(scalar @{ v(GET => '/calls?per_page=100')->{json}{data} }, $want_count{all}, 'per_page=100 is allowed');
fails(v(GET => '/calls?per_page=101'), 400, 'per_page: must be an integer from 1 to 100', 'per_page 101: 400');
fails(v(GET => '/calls?per_page=0'), 400, 'per_page: must be an integer from 1 to 100', 'per_page 0: 400');
fails(v(GET => '/calls?per_page=x'), 400, 'per_page: must be an integer from 1 to 100', 'per_page x: 400');
fails(v(GET => '/calls?page=0'), 400, 'page: must be an integer from 1 to 1000000', 'page 0: 400');
fails(v(GET => '/calls?status=done'), 400, 'status: must be one of ringing, in-progress, completed, failed', 'bad status: 400');
fails(v(GET => '/calls?direction=up'), 400, 'direction: must be one of inbound, outbound', 'bad direction: 400');
fails(v(GET => '/calls?from=yesterday'), 400, qr/^from: must be an ISO 8601/, 'bad from: 400');
fails(v(GET => '/calls?to=2026-01-01T25:00:00Z'), 400, qr/^to: must be an ISO 8601/, 'bad to: 400');
is(v(GET => '/calls', token => $globex)->{json}{meta}{total}, 45 - @acme, 'globex sees only its calls');
is(v(GET => '/calls?tenant=globex', token => $admin)->{json}{meta}{total}, 45 - @acme, 'admin: ?tenant=');
is(v(GET => '/calls', token => $admin)->{json}{meta}{total}, 47, 'admin: every tenant');

# One call, with its transcription.
my $one = succeeds(v(GET => '/calls/seed-5'), 200, 'GET one call');
is_deeply($one->{transcription}, [ { at_ms => 0, event => 'answered' },
    { at_ms => 120, event => 'prompt', prompt => 'welcome', text => 'Hi 5' } ], 'the timeline as transcription');
is($one->{duration}, 31, 'duration');
is($one->{phone_number_uuid}, $main->{uuid}, 'and the full record: phone_number_uuid');
my $real = succeeds(v(GET => "/calls/$real_ids[0]"), 200, 'GET the first real call');
is($real->{outcome}, 'transfer:+15559876543', 'digit 2 transferred to +15559876543');
is($real->{flow_id}, $fid, 'through the generated flow');
is($real->{status}, 'completed', 'completed');
ok(ref $real->{transcription} eq 'ARRAY' && @{ $real->{transcription} } >= 2, 'a transcription with events');
ok((grep { ($_->{event} // '') =~ /digit/ } @{ $real->{transcription} }), 'the digit pressed is in it');
is(succeeds(v(GET => "/calls/$real_ids[1]"), 200, 'the second real call')->{outcome}, 'queue:billing_q',
    'digit 3 went to the department queue');
fails(v(GET => '/calls/seed-9'), 404, "call 'seed-9' not found", "acme cannot read globex's call");
fails(v(GET => '/calls/nope'), 404, "call 'nope' not found", 'an unknown call: 404');
succeeds(v(GET => '/calls/seed-9', token => $globex), 200, 'globex reads its call');
fails(v(GET => '/calls/seed-5/recording'), 404, qr/^no such file/, 'a recording that is not on disk: 404');
fails(v(GET => '/calls/seed-1/recording'), 404, "call 'seed-1' has no recording", 'a call without recording: 404');

# Transfer.
fails(v(POST => '/calls/seed-1/transfer', body => {}), 400, 'target: required', 'transfer without target: 400');
fails(v(POST => '/calls/seed-1/transfer', body => { target => 'SIP/x,evil' }), 400,
    qr/^target: must be a phone number or SIP address/, 'an unsafe target: 400');
fails(v(POST => '/calls/seed-1/transfer', body => { target => '+15551234', x => 1 }), 400,
    'x: unknown field', 'an unknown field: 400');
fails(v(POST => '/calls/seed-9/transfer', body => { target => '+15551234' }), 404,
    "call 'seed-9' not found", "a transfer of another tenant's call: 404");
fails(v(POST => "/calls/$real_ids[0]/transfer", body => { target => '+15551234' }), 409,
    'call is not live in ivrd', 'a finished call: 409');
fails(v(POST => '/calls/nope/transfer', body => { target => '+15551234' }), 404, qr/not found/, 'an unknown call: 404');
{
	# A call waiting in the menu: the runtime's agi_transfer decides.
	my $c = FakeAsterisk->call($ivrd, flow => $fid, time_scale => 0.02,
	    callerid => '15557654321', dnid => '5511999999999', uniqueid => '1718035399.1');
	$c->expect(qr/^ANSWER$/);
	$c->expect(qr/^SET AUTOHANGUP/);
	$c->expect(qr/^STREAM FILE /);
	my $live;
	for (1 .. 50) {
		$live = `sqlite3 "$db" "SELECT id FROM calls WHERE uniqueid = '1718035399.1'"`;
		last if $live; sleep 0.05;
	}
	chomp $live;
	$r = v(POST => "/calls/$live/transfer", body => { target => '+15551234' });
	is($r->{status}, 200, 'a live call: 200') or diag($r->{content});
	is_deeply($r->{json}, { success => JSON::PP::true, data => { uuid => $live,
	    status => 'transferring', target => '+15551234' } }, 'the transfer answer');
	$c->hangup_at(0) if $c->can('hangup_at');
	$c->close;
}

# --- delete -------------------------------------------------------------------
is_deeply(succeeds(v(DELETE => "/numbers/$main->{uuid}"), 200, 'DELETE a number'),
    { uuid => $main->{uuid}, deleted => JSON::PP::true }, 'deleted');
fails(v(GET => "/numbers/$main->{uuid}"), 404, qr/not found/, 'gone');
fails(v(DELETE => "/numbers/$main->{uuid}"), 404, qr/not found/, 'a second DELETE: 404');
is($ivrd->req(GET => "/flows/$fid")->{status}, 404, 'its generated flow went with it');
is($ivrd->req(GET => '/flows/sales')->{status}, 200, 'a flow it merely named stays');
is(succeeds(v(GET => '/calls/seed-5'), 200, 'its calls stay in the log')->{uuid}, 'seed-5', 'seed-5 still there');

# Voice disabled again: 403 at once; the admin is not subject to it.
succeeds(v(PATCH => '/tenants/acme', token => $admin, body => { voice_enabled => JSON::PP::false }), 200, 'disable acme');
fails(v(GET => '/calls'), 403, $DISABLED, 'acme: 403 again');
succeeds(v(GET => '/calls?tenant=acme', token => $admin), 200, 'an admin still reads acme');

# --- past the count cap: a tenant's total stays exact, an admin's is capped --
{
	succeeds(v(PATCH => '/tenants/acme', token => $admin,
	    body => { voice_enabled => JSON::PP::true }), 200, 'enable acme again');
	my $before = v(GET => '/calls?per_page=1')->{json}{meta}{total};
	open my $bulk, '|-', 'sqlite3', $db or die;
	print $bulk ".timeout 5000\nBEGIN;\n", map({ "INSERT INTO calls (id, tenant, status,"
	    . " started_at, timeline) VALUES ('bulk-$_', 'acme', 'completed',"
	    . " '2026-01-01T00:00:00.000Z', '[]');\n" } 1 .. 10050), "COMMIT;\n";
	close $bulk or die "sqlite3: $?";
	my $m = v(GET => '/calls?per_page=1')->{json}{meta};
	is($m->{total}, $before + 10050, "a tenant's total is exact past 10,000 ($m->{total})");
	is($m->{total_capped}, JSON::PP::false, 'and says so');
	$m = v(GET => '/calls?per_page=1', token => $admin)->{json}{meta};
	is($m->{total}, 10000, 'across every tenant the count stops at 10,000');
	is($m->{total_capped}, JSON::PP::true, 'and meta says it is capped');
}

$ivrd->stop;
done_testing;
