#!/usr/bin/perl
# Wazo through its own APIs, against a fake Wazo on 127.0.0.1 that answers
# as wazo-api.md says and records what it was sent: queues and agents
# mapped field by field, deploy and undeploy of a flow (incall, DID,
# dialplan), re-deploy in place, adopting an existing incall, and Wazo
# down, slow or refusing the token.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use FakeAsterisk;
use FakeWazo;
use IvrdTest;
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);

my $wazo = FakeWazo->start(username => 'ivrd', password => 'secret');
my $dir = tempdir('ivrd-test-XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$dir/dialplan" or die;
my $ivrd = IvrdTest->start(dir => $dir, conf => {
	wazo_url => $wazo->url, wazo_username => 'ivrd', wazo_password => 'secret',
	wazo_agi_address => '10.0.0.5:4574', wazo_on_host => 'yes',
	wazo_dialplan_dir => "$dir/dialplan", wazo_timeout_ms => 1500,
	wazo_transfer_context => 'ctx-acme-internal-0f2c9d1e' });

# --- queues and agents, mapped from confd's model -------------------------
my $r = $ivrd->req(GET => '/wazo/queues');
is($r->{status}, 200, 'GET /wazo/queues: 200') or diag($r->{content});
my $q = $r->{json}{queues}{sales_q};
is_deeply([ sort keys %{ $r->{json}{queues} } ], [ qw(sales_q support_q) ], 'keyed by queue name');
is($q->{id}, 1, 'sales_q: id');
is($q->{name}, 'sales_q', 'name');
is($q->{number}, '1001', 'number from extensions[0].exten');
like($q->{context}, qr/^ctx-acme-internal-/, 'context from extensions[0].context');
is($q->{strategy}, 'leastrecent', 'strategy from options');
is($q->{retry}, 2, 'retry from options');
is($q->{service_level}, 20, 'service_level from options servicelevel');
is($r->{json}{queues}{support_q}{number}, undef, 'a queue with no extension has no number');
$r = $ivrd->req(GET => '/wazo/agents');
is($r->{status}, 200, 'GET /wazo/agents: 200');
my $a = $r->{json}{agents}{8001};
is($a->{firstname}, 'John', 'agent 8001: firstname');
is($a->{lastname}, 'Doe', 'lastname');
is($a->{number}, '8001', 'keyed by agent number');
is($a->{enabled}, JSON::PP::true, 'enabled: confd has none, defaulted');
my $tok = $wazo->token(3600);
$r = $ivrd->req(GET => '/wazo/queues?wazo_host=' . $wazo->url . "&token=$tok");
is($r->{status}, 200, 'with the seed\'s wazo_host and token parameters');
$r = $ivrd->req(GET => '/wazo/queues?wazo_host=' . $wazo->url . '&token=nope');
is($r->{status}, 502, 'a token Wazo refuses: 502');
is($r->{json}{error}, 'the Wazo token was refused (401)', 'and says so');

# --- the service account's token expires: a new one, one retry ----------
{
	$wazo->expire_token();		# every token Wazo issued so far
	$wazo->clear_requests;
	my $rr = $ivrd->req(GET => '/wazo/agents');
	is($rr->{status}, 200, 'after Wazo expired its token, ivrd still answers');
	my @seen = map { "$_->{method} $_->{path} $_->{status}" } @{ $wazo->requests };
	is_deeply([ map { s/\?.*//r } @seen ], [ 'GET /api/confd/1.1/agents 401',
	    'POST /api/auth/0.1/token 200', 'GET /api/confd/1.1/agents 200' ],
	    'a 401, a new token, one retry') or diag(explain \@seen);
}

# --- flows ----------------------------------------------------------------------
sub flow {
	my ($id, $queue) = @_;
	return { id => $id, languages => [ { code => 'en-US', voice => 'Joanna' } ],
	    prompts => { hi => { text => { 'en-US' => 'Hello.' } } },
	    menus => { root => { id => 'root', prompt => 'hi',
	        options => { 1 => { action => 'queue', queue_ref => $queue } } } } };
}
is($ivrd->req(POST => '/flows', body => flow('sales', 'sales_q'))->{status}, 201, 'flow sales');
is($ivrd->req(POST => '/flows', body => flow('bad', 'nope_q'))->{status}, 201, 'flow bad');

# --- a missing queue: 400, nothing written ----------------------------------------
$wazo->clear_requests;
$r = $ivrd->req(POST => '/flows/bad/deploy', body => { dids => [ '5550100' ] });
is($r->{status}, 400, 'a queue confd does not have: 400');
is($r->{json}{error}, 'queues missing in Wazo: nope_q', 'the missing queue is named');
is_deeply($r->{json}{missing}, [ 'nope_q' ], 'and listed');
ok(!grep({ $_->{method} ne 'GET' && $_->{service} eq 'confd' } @{ $wazo->requests }),
    'nothing was written to Wazo');
is($ivrd->req(GET => '/flows/bad')->{json}{status}, 'inactive', 'the flow stays inactive');

# --- deploy --------------------------------------------------------------------------
$wazo->clear_requests;
$r = $ivrd->req(POST => '/flows/sales/deploy', body => { dids => [ '+15551234' ] });
is($r->{status}, 200, 'deploy: 200') or diag($r->{content});
is($r->{json}{message}, 'Flow deployed successfully', 'the seed\'s message');
my $state = $wazo->state;
is(scalar @{ $state->{incalls} }, 1, 'one incall in Wazo');
my $incall = $state->{incalls}[0];
is_deeply($incall->{destination}, { type => 'custom',
    command => 'AGI(agi://10.0.0.5:4574/sales?tenant=acme)' },
    'its destination is custom AGI to ivrd with the flow');
is($incall->{extensions}[0]{exten}, '15551234', 'the DID is bound, without its +');
like($incall->{extensions}[0]{context}, qr/^ctx-acme-incall-/, 'in the incall context');
my @writes = map { "$_->{method} $_->{path}" } grep { $_->{method} ne 'GET' } @{ $wazo->requests };
is_deeply([ grep { !/token/ } @writes ], [
    'POST /api/confd/1.1/extensions', 'POST /api/confd/1.1/incalls',
    "PUT /api/confd/1.1/incalls/$incall->{id}/extensions/$incall->{extensions}[0]{id}",
    'POST /api/amid/1.0/action/Command' ], 'the exact requests, in order');
my $file = "$dir/dialplan/ivrd-acme-sales.conf";
ok(-f $file, 'the entry context is written to extensions_extra.d');
open my $fh, '<', $file or die;
my $conf = do { local $/; <$fh> };
like($conf, qr/^\[dp-ivr-sales\]$/m, 'as the flow\'s entry_context');
like($conf, qr{AGI\(agi://10\.0\.0\.5:4574/sales\?tenant=acme\)}, 'running the flow');
is($state->{amid}[-1]{body}{command}, 'dialplan reload', 'and the dialplan is reloaded');
my $f = $ivrd->req(GET => '/flows/sales')->{json};
is($f->{status}, 'active', 'the flow is active');
is($ivrd->req(GET => '/status')->{json}{flows}{active}, 1, '/status counts it active');

# --- re-deploy: in place --------------------------------------------------------------
$wazo->clear_requests;
$r = $ivrd->req(POST => '/flows/sales/deploy', body => { dids => [ '+15551234' ] });
is($r->{status}, 200, 're-deploy: 200') or diag($r->{content});
is(scalar @{ $wazo->state->{incalls} }, 1, 'still one incall: updated, not duplicated');
ok((grep { $_->{method} eq 'PUT' && $_->{path} eq "/api/confd/1.1/incalls/$incall->{id}" } @{ $wazo->requests }),
    'PUT /incalls/{id}: the destination is updated in place');

# --- undeploy -------------------------------------------------------------------------------
$r = $ivrd->req(POST => '/flows/sales/undeploy');
is($r->{status}, 200, 'undeploy: 200') or diag($r->{content});
is($r->{json}{message}, 'Flow undeployed successfully', 'message');
is(scalar @{ $wazo->state->{incalls} }, 0, 'the incall is gone');
ok(!grep({ $_->{exten} eq '15551234' } @{ $wazo->state->{extensions} }), 'and the DID we created');
ok(!-e $file, 'and the dialplan file');
is($ivrd->req(GET => '/flows/sales')->{json}{status}, 'inactive', 'the flow is inactive');
is($ivrd->req(POST => '/flows/sales/undeploy')->{status}, 409, 'undeploy again: 409');

# --- an incall that was there before: adopted, then given back ------------------------
{
	my $t = $wazo->token(3600);
	my $http = HTTP::Tiny->new;
	my %h = (headers => { 'X-Auth-Token' => $t, 'Content-Type' => 'application/json' });
	my $ctx = (grep { $_->{type} eq 'incall' } @{ $wazo->state->{contexts} })[0]{name};
	my $e = JSON::PP->new->decode($http->post($wazo->confd_url . '/extensions',
	    { %h, content => JSON::PP->new->encode({ exten => '5559999', context => $ctx }) })->{content});
	my $old = { type => 'custom', command => 'Playback(tt-monkeys)' };
	my $i = JSON::PP->new->decode($http->post($wazo->confd_url . '/incalls',
	    { %h, content => JSON::PP->new->encode({ destination => $old, description => 'theirs' }) })->{content});
	$http->put($wazo->confd_url . "/incalls/$i->{id}/extensions/$e->{id}", \%h);
	$r = $ivrd->req(POST => '/flows/sales/deploy', body => { dids => [ '5559999' ] });
	is($r->{status}, 200, 'deploy onto a DID that has an incall: 200') or diag($r->{content});
	my ($it) = grep { $_->{id} == $i->{id} } @{ $wazo->state->{incalls} };
	like($it->{destination}{command}, qr{^AGI\(agi://10\.0\.0\.5:4574/sales}, 'that incall now runs the flow');
	is(scalar @{ $wazo->state->{incalls} }, 1, 'no second incall');
	$r = $ivrd->req(DELETE => '/flows/sales');
	is($r->{status}, 200, 'DELETE of a deployed flow: 200') or diag($r->{content});
	($it) = grep { $_->{id} == $i->{id} } @{ $wazo->state->{incalls} };
	is_deeply($it->{destination}, $old, 'the adopted incall gets its destination back');
	ok((grep { $_->{exten} eq '5559999' } @{ $wazo->state->{extensions} }), 'its DID stays');
	is($ivrd->req(GET => '/flows/sales')->{status}, 404, 'and the flow is deleted');
}

# --- Wazo down, slow, refusing: clear errors, bounded, others served ---------------------
is($ivrd->req(POST => '/flows', body => flow('sales', 'sales_q'))->{status}, 201, 'flow sales again');
for my $case ([ down => qr/^Wazo unreachable: / ], [ 'refuse-token' => qr/^the Wazo token was refused \(401\)$/ ],
    [ fail => qr/^Wazo confd: 500 / ]) {
	my ($mode, $want) = @$case;
	$wazo->mode($mode);
	my $t0 = time;
	$r = $ivrd->req(POST => '/flows/sales/deploy', body => { dids => [ '5551234' ] });
	is($r->{status}, 502, "Wazo $mode: 502");
	like($r->{json}{error}, $want, "Wazo $mode: $r->{json}{error}");
	cmp_ok(time - $t0, '<', 10, "Wazo $mode: within a bounded time");
}
$wazo->mode('stall');
{
	my $pid = fork // die;
	if ($pid == 0) {
		my $rr = $ivrd->req(POST => '/flows/sales/deploy', body => { dids => [ '5551234' ] });
		POSIX::_exit($rr->{status} == 502 && $rr->{json}{error} =~ /^Wazo unreachable: / ? 0 : 1);
	}
	sleep 0.3;
	my $t0 = time;
	is($ivrd->req(GET => '/flows/sales')->{status}, 200, 'while Wazo stalls, other requests are served');
	cmp_ok(time - $t0, '<', 0.5, 'at once');
	waitpid($pid, 0);
	is($? >> 8, 0, 'Wazo slow: 502 "Wazo unreachable" after wazo_timeout_ms');
}
$wazo->mode('ok');
$r = $ivrd->req(POST => '/flows/sales/deploy', body => { dids => [ '5551234' ] });
is($r->{status}, 200, 'once Wazo is back, the same deploy completes') or diag($r->{content});
is(scalar(grep { ($_->{destination}{command} // '') =~ m{^AGI\(agi://10\.0\.0\.5:4574/sales} }
    @{ $wazo->state->{incalls} }), 1, 'with one incall of ours (the adopted one was given back)');
like($ivrd->req(GET => '/status')->{json}{wazo}{available} ? 'yes' : 'no', qr/yes/, '/status: wazo available');

# --- a call waiting in a queue, moved through amid's Redirect -------------------
{
	my $admin = IvrdTest->make_token($dir, admin => 1, name => 'root');
	$ivrd->req(PATCH => '/api/v1/voice/tenants/acme', token => $admin,
	    body => { voice_enabled => JSON::PP::true });
	my $c = FakeAsterisk->call($ivrd, flow => 'sales', time_scale => 0.02,
	    channel => 'PJSIP/carrier-00000042', uniqueid => '1718035400.1',
	    exec_result => { Queue => { result => -1, ms => 600000 } });
	$c->expect(qr/^ANSWER$/);
	$c->expect(qr/^SET AUTOHANGUP 300$/);
	$c->expect(qr/^STREAM FILE /, press => '1');
	$c->expect(qr/^EXEC "MSet" /);
	$c->expect(qr/^SET AUTOHANGUP 0$/);
	$c->expect(qr/^EXEC "Queue" "sales_q,,,,"$/, name => 'the caller waits in the queue');
	my $list = $ivrd->req(GET => '/api/v1/voice/calls?status=in-progress')->{json}{data};
	my ($call) = grep { $_->{sid} eq '1718035400.1' } @$list;
	ok($call, 'the call is in the log, in progress');
	$r = $ivrd->req(POST => "/api/v1/voice/calls/$call->{uuid}/transfer",
	    body => { target => '+15557778888' });
	is($r->{status}, 200, 'transfer of a call in a queue: 200') or diag($r->{content});
	is($r->{json}{data}{via}, 'redirect', 'through Wazo');
	my $redirect = $wazo->state->{amid}[-1];
	is($redirect->{action}, 'Redirect', 'amid got a Redirect');
	is_deeply($redirect->{body}, { Channel => 'PJSIP/carrier-00000042',
	    Context => 'ctx-acme-internal-0f2c9d1e', Exten => '+15557778888',
	    Priority => '1' }, 'of this call\'s channel, to the target');
	$c->close;		# Asterisk moves the channel: the AGI ends
	sleep 0.2;
	my $rec = $ivrd->req(GET => "/api/v1/voice/calls/$call->{uuid}")->{json}{data};
	ok((grep { $_->{event} eq 'transferred' && ($_->{via} // '') eq 'redirect' }
	    @{ $rec->{transcription} }), 'the Redirect is in the timeline');
	my $out = `sqlite3 $dir/ivrd.sqlite "SELECT outcome FROM calls WHERE uniqueid = '1718035400.1'"`;
	chomp $out;
	is($out, 'transfer:+15557778888', 'and the outcome is the transfer');
}

$ivrd->stop;
$wazo->stop;
done_testing;
