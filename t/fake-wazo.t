#!/usr/bin/perl
# The fake Wazo itself (t/lib/FakeWazo.pm), checked against
# ../shared/wazo-api.md and the fixtures in ../shared/fixtures/wazo, so
# that the tests built on it can be trusted.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use FakeWazo;
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use Test::More;
use Time::HiRes qw(sleep time);

my $JSON = JSON::PP->new->utf8->canonical;
my $TENANT = '2b4e6f80-aaaa-4bbb-8ccc-123456789abc';
my $FIX = "$FindBin::Bin/../../shared/fixtures/wazo";

sub fixture {
	open my $fh, '<', "$FIX/$_[0]" or die "$_[0]: $!";
	local $/;
	return $JSON->decode(scalar <$fh>);
}

my $wazo = FakeWazo->start(username => 'ivrd', password => 'secret',
    tenant => $TENANT, token_lifetime => 7200);
like($wazo->url, qr{^http://127\.0\.0\.1:\d+$}, 'url');
my $AUTH = $wazo->url . '/api/auth/0.1';
my $CONFD = $wazo->url . '/api/confd/1.1';
my $AMID = $wazo->url . '/api/amid/1.0';
my $http = HTTP::Tiny->new(timeout => 5);

sub call {
	my ($method, $url, %o) = @_;
	my %h = %{ $o{headers} // {} };
	$h{'X-Auth-Token'} = $o{token} if defined $o{token};
	my %args = (headers => \%h);
	if (exists $o{json}) {
		$args{content} = $JSON->encode($o{json});
		$h{'Content-Type'} = 'application/json';
	}
	my $r = ($o{http} // $http)->request($method, $url, \%args);
	$r->{json} = length($r->{content} // '')
	    ? eval { $JSON->decode($r->{content}) } : undef;
	return $r;
}

sub basic { 'Basic ' . encode_base64("$_[0]:$_[1]", '') }

# --- auth ------------------------------------------------------------------
my $r = call(POST => "$AUTH/token", json => {},
    headers => { Authorization => basic('ivrd', 'secret') });
is($r->{status}, 200, 'POST /token: 200, not 201');
is($r->{headers}{'wazo-sessions-revoked'}, 0, 'Wazo-Sessions-Revoked header');
my $data = $r->{json}{data};
my $shape = fixture('token-response.json')->{data};
is_deeply([ sort keys %$data ], [ sort keys %$shape ],
    'token data has the keys of token-response.json');
is_deeply([ sort keys %{ $data->{metadata} } ],
    [ sort keys %{ $shape->{metadata} } ], 'metadata keys');
is($data->{metadata}{tenant_uuid}, $TENANT, 'metadata.tenant_uuid');
like($data->{token}, qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    'token is a uuid');
like($data->{utc_expires_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/,
    'utc_expires_at: ISO, no zone');
my $token = $data->{token};
my $tok = $wazo->state->{tokens}{$token};
ok(abs($tok->{expires} - $tok->{issued} - 7200) < 1,
    'default lifetime = token_lifetime');

$r = call(POST => "$AUTH/token", json => { expiration => 60 },
    headers => { Authorization => basic('ivrd', 'secret') });
isnt($r->{json}{data}{token}, $token, 'each token is fresh');
$tok = $wazo->state->{tokens}{ $r->{json}{data}{token} };
is($tok->{expiration}, 60, 'expiration honoured');

$r = call(POST => "$AUTH/token", json => {},
    headers => { Authorization => basic('ivrd', 'wrong') });
is($r->{status}, 401, 'bad password: 401');
is_deeply($r->{json}{reason}, ['Authentication Failed'], 'reason');
is($r->{json}{status_code}, 401, 'status_code');
ok(ref $r->{json}{timestamp} eq 'ARRAY' && $r->{json}{timestamp}[0] > 0,
    'timestamp: [float]');
$r = call(POST => "$AUTH/token", json => {});
is($r->{status}, 401, 'no Basic auth: 401');
$r = call(POST => "$AUTH/token",
    headers => { Authorization => basic('ivrd', 'secret') });
is($r->{status}, 400, 'no body: 400 (always send at least {})');
$r = call(POST => "$AUTH/token", json => { expiration => 0 },
    headers => { Authorization => basic('ivrd', 'secret') });
is($r->{status}, 400, 'expiration 0: 400');

is(call(HEAD => "$AUTH/token/$token")->{status}, 204, 'HEAD token: 204');
is(call(HEAD => "$AUTH/token/nope")->{status}, 404, 'HEAD unknown: 404');

# --- 401 on confd and amid -------------------------------------------------
$r = call(GET => "$CONFD/queues");
is($r->{status}, 401, 'no token: 401');
is(ref $r->{json}, 'ARRAY', 'confd 401 body is an array of strings');
is(call(GET => "$CONFD/queues", token => 'bogus')->{status}, 401,
    'unknown token: 401');
is(call(GET => "$CONFD/queues", token => $token,
    headers => { 'Wazo-Tenant' => 'ffffffff-0000-4000-8000-000000000000' })
    ->{status}, 401, 'another tenant in Wazo-Tenant: 401');
is(call(GET => "$CONFD/queues", token => $token,
    headers => { 'Wazo-Tenant' => $TENANT })->{status}, 200,
    'own tenant in Wazo-Tenant: 200');
{
	my $short = $wazo->token(1);
	is(call(GET => "$CONFD/queues", token => $short)->{status}, 200,
	    'fresh short token: 200');
	$wazo->expire_token($short);
	is(call(GET => "$CONFD/queues", token => $short)->{status}, 401,
	    'expired token: 401');
	is(call(HEAD => "$AUTH/token/$short")->{status}, 404,
	    'HEAD expired token: 404');
}
$r = call(POST => "$AMID/action/Command", token => 'bogus',
    json => { command => 'dialplan reload' });
is($r->{status}, 401, 'amid bad token: 401');
is($r->{json}{error_id}, 'unauthorized', 'amid 401 body');
is($r->{json}{details}{reason}, 'not_found_or_expired', 'amid 401 reason');

# --- queues and agents -----------------------------------------------------
$r = call(GET => "$CONFD/queues", token => $token);
is($r->{status}, 200, 'GET /queues');
is_deeply($r->{json}, fixture('queues-list.json'),
    'queues: the fixture, envelope and all');
$r = call(GET => "$CONFD/agents?recurse=true", token => $token);
is_deeply($r->{json}, fixture('agents-list.json'), 'agents: the fixture');
$r = call(GET => "$CONFD/queues?limit=1&offset=1", token => $token);
is($r->{json}{total}, 2, 'paged: total counts all');
is_deeply([ map { $_->{name} } @{ $r->{json}{items} } ], ['support_q'],
    'limit=1 offset=1');
$r = call(GET => "$CONFD/agents?limit=1", token => $token);
is_deeply([ map { $_->{number} } @{ $r->{json}{items} } ], ['8001'],
    'agents limit=1');
$r = call(GET => "$CONFD/agents?offset=5", token => $token);
is_deeply($r->{json}, { total => 2, items => [] }, 'offset past the end');
$r = call(GET => "$CONFD/queues?limit=0", token => $token);
is($r->{status}, 400, 'limit=0: 400');
is_deeply($r->{json}, ["Input Error - field 'limit': wrong type. Should be "
    . 'a positive number'], 'limit=0 error text');
$r = call(GET => "$CONFD/queues?name=sales_q", token => $token);
is_deeply([ map { $_->{id} } @{ $r->{json}{items} } ], [1],
    'exact filter on a search column');
$r = call(GET => "$CONFD/queues?search=SUPP", token => $token);
is_deeply([ map { $_->{id} } @{ $r->{json}{items} } ], [2], 'search');
$r = call(GET => "$CONFD/queues/42", token => $token);
is($r->{status}, 404, 'GET /queues/42: 404');
is_deeply($r->{json}, fixture('confd-error-404.json'),
    'the fixture 404 body');
is(call(GET => "$CONFD/queues/1", token => $token)->{json}{name}, 'sales_q',
    'GET /queues/1');

$r = call(GET => "$CONFD/infos", token => $token);
is($r->{status}, 200, 'GET /infos');
is($r->{json}{wazo_version}, '25.16', 'wazo_version');

# --- incalls and DIDs (wazo-api.md 3.6) ------------------------------------
$r = call(GET => "$CONFD/contexts?type=incall", token => $token);
is($r->{json}{total}, 1, 'one incall context');
my $ctx = $r->{json}{items}[0]{name};
like($ctx, qr/^ctx-.*-incall-/, 'generated context name');

$wazo->clear_requests;
my $cmd = 'AGI(agi://10.0.0.5:4573/customer-service)';
$r = call(POST => "$CONFD/incalls", token => $token, json => {
    description => 'ivrd flow customer-service',
    destination => { type => 'custom', command => $cmd } });
is($r->{status}, 201, 'POST /incalls: 201');
my $incall = $r->{json};
my $ishape = fixture('incall-custom-agi.json');
is_deeply([ sort keys %$incall ], [ sort keys %$ishape ],
    'incall has the keys of incall-custom-agi.json');
is_deeply($incall->{destination}, { type => 'custom', command => $cmd },
    'created destination');
is_deeply($incall->{extensions}, [], 'no extension yet');
my $iid = $incall->{id};
like($r->{headers}{location}, qr{/api/confd/1\.1/incalls/$iid$}, 'Location');

my $reqs = $wazo->requests;
is(scalar @$reqs, 1, 'one request logged');
is($reqs->[0]{method}, 'POST', 'logged method');
is($reqs->[0]{path}, '/api/confd/1.1/incalls', 'logged path');
is($reqs->[0]{headers}{'x-auth-token'}, $token, 'logged header, lowercase');
is($reqs->[0]{json}{destination}{command}, $cmd, 'logged json body');
is($reqs->[0]{service}, 'confd', 'logged service');
is($reqs->[0]{status}, 201, 'logged status');

my $cmd2 = 'AGI(agi://10.0.0.6:4573/customer-service)';
$r = call(PUT => "$CONFD/incalls/$iid", token => $token,
    json => { destination => { type => 'custom', command => $cmd2 } });
is($r->{status}, 204, 'PUT /incalls/{id}: 204');
is($r->{content} // '', '', '204 has no body');
$r = call(GET => "$CONFD/incalls/$iid", token => $token);
is($r->{json}{destination}{command}, $cmd2, 'GET: the new destination');
is($r->{json}{description}, 'ivrd flow customer-service',
    'PUT kept the fields it did not carry');

for my $bad ('system(rm -rf /)', 'trysystem(x)', 'AG(x)', 'AGI', '',
    'Playback(' . ('x' x 250) . ')') {
	$r = call(POST => "$CONFD/incalls", token => $token,
	    json => { destination => { type => 'custom', command => $bad } });
	is($r->{status}, 400, "custom '" . substr($bad, 0, 20) . "': 400");
	ok(ref $r->{json} eq 'ARRAY' && !grep({ ref } @{ $r->{json} }),
	    '... an array of strings');
}
$r = call(POST => "$CONFD/incalls", token => $token,
    json => { destination => { type => 'custom',
    command => 'System(echo ok)' } });
is($r->{status}, 201, 'System( (capital S) passes the regex');
call(DELETE => "$CONFD/incalls/$r->{json}{id}", token => $token);
$r = call(POST => "$CONFD/incalls", token => $token,
    json => { description => 'x' });
is($r->{status}, 400, 'no destination: 400');
is_deeply($r->{json}, ["Input Error - destination: ['Missing data for "
    . "required field.']"], '... confd schema error');
$r = call(PUT => "$CONFD/incalls/$iid", token => $token,
    json => { destination => { type => 'custom', command => 'system(x)' } });
is($r->{status}, 400, 'PUT with a bad command: 400');

$r = call(POST => "$CONFD/extensions", token => $token,
    json => { exten => '5551234', context => $ctx });
is($r->{status}, 201, 'POST /extensions: 201');
my $eid = $r->{json}{id};
is($r->{json}{exten}, '5551234', 'extension exten');
is($r->{json}{context}, $ctx, 'extension context');
$r = call(POST => "$CONFD/extensions", token => $token,
    json => { exten => '5551234', context => $ctx });
is($r->{status}, 400, 'duplicate extension: 400');
like($r->{json}[0], qr/^Resource Error - Extension already exists/,
    '... Resource Error');
is(call(POST => "$CONFD/extensions", token => $token,
    json => { exten => '+5551234', context => $ctx })->{status}, 400,
    'exten with + : 400');

is(call(PUT => "$CONFD/incalls/$iid/extensions/$eid", token => $token)
    ->{status}, 204, 'associate: 204');
$r = call(GET => "$CONFD/incalls/$iid", token => $token);
is_deeply([ map { [ $_->{id}, $_->{exten}, $_->{context} ] }
    @{ $r->{json}{extensions} } ], [ [ $eid, '5551234', $ctx ] ],
    'incall shows its extension');
$r = call(GET => "$CONFD/extensions?exten=5551234&type=incall",
    token => $token);
is($r->{json}{total}, 1, 'find the DID by exten and type');
is($r->{json}{items}[0]{incall}{id}, $iid, '... and its incall.id');
$r = call(GET => "$CONFD/incalls?search=customer-service", token => $token);
is($r->{json}{total}, 1, 'incall search on description');
is(call(GET => "$CONFD/incalls?order=id", token => $token)->{status}, 400,
    'incalls order=id: 400');
my $st = $wazo->state;
is_deeply([ map { $_->{id} } @{ $st->{incalls} } ], [$iid], 'state: incalls');
my ($sext) = grep { $_->{id} == $eid } @{ $st->{extensions} };
is($sext->{incall}{id}, $iid, 'state: extension bound');

is(call(DELETE => "$CONFD/extensions/$eid", token => $token)->{status}, 400,
    'deleting a bound extension: 400');
is(call(DELETE => "$CONFD/incalls/$iid/extensions/$eid", token => $token)
    ->{status}, 204, 'dissociate: 204');
is_deeply(call(GET => "$CONFD/incalls/$iid", token => $token)
    ->{json}{extensions}, [], 'incall has no extension');
is(call(DELETE => "$CONFD/extensions/$eid", token => $token)->{status}, 204,
    'DELETE /extensions/{id}: 204');
is(call(DELETE => "$CONFD/incalls/$iid", token => $token)->{status}, 204,
    'DELETE /incalls/{id}: 204');
$r = call(GET => "$CONFD/incalls/$iid", token => $token);
is($r->{status}, 404, 'then GET: 404');
is_deeply($r->{json}, ["Resource Not Found - Incall was not found ('id': "
    . "$iid)"], '... the fixture error shape');
is(call(PUT => "$CONFD/incalls/$iid/extensions/$eid", token => $token)
    ->{status}, 404, 'associate missing: 404');
is(scalar @{ $wazo->state->{incalls} }, 0, 'state: no incall left');

# --- amid --------------------------------------------------------------------
$r = call(POST => "$AMID/action/Command", token => $token,
    json => { command => 'dialplan reload' });
is($r->{status}, 200, 'amid Command: 200');
is(ref $r->{json}{response}, 'ARRAY', '{"response": [lines]}');
is_deeply($wazo->state->{amid}[-1],
    { action => 'Command', body => { command => 'dialplan reload' },
      time => $wazo->state->{amid}[-1]{time} }, 'state: amid log');
is(call(POST => "$AMID/action/Queues", token => $token, json => {})
    ->{status}, 501, 'amid Queues: 501');
$r = call(POST => "$AMID/action/Reload", token => $token,
    json => { Module => 'pbx_config' });
is(ref $r->{json}, 'ARRAY', 'other AMI actions: a list of messages');

# --- modes -------------------------------------------------------------------
$wazo->mode('fail');
$r = call(GET => "$CONFD/queues", token => $token);
is($r->{status}, 500, 'fail: 500');
is(ref $r->{json}, 'ARRAY', 'fail: confd-style error body');

$wazo->mode('refuse-token');
is(call(GET => "$CONFD/queues", token => $token)->{status}, 401,
    'refuse-token: confd 401');
is(call(POST => "$AMID/action/Command", token => $token,
    json => { command => 'dialplan reload' })->{status}, 401,
    'refuse-token: amid 401');
is(call(POST => "$AUTH/token", json => {},
    headers => { Authorization => basic('ivrd', 'secret') })->{status}, 200,
    'refuse-token: tokens still issued');

$wazo->mode('down');
my $t0 = time;
$r = call(GET => "$CONFD/queues", token => $token);
is($r->{status}, 599, 'down: connection closed');
ok(time - $t0 < 2, 'down: at once');

$wazo->mode('stall');
$t0 = time;
$r = call(GET => "$CONFD/queues", token => $token,
    http => HTTP::Tiny->new(timeout => 1));
is($r->{status}, 599, 'stall: the client times out');
like($r->{content}, qr/timed? ?out/i, '... a timeout');
ok(time - $t0 < 3, '... after about 1 s');
$wazo->mode('ok');
is(call(GET => "$CONFD/queues", token => $token)->{status}, 200,
    'mode ok again: 200');

# A request held by stall is answered when the mode changes.
$wazo->mode('stall');
{
	my $pid = fork // die;
	if (!$pid) {
		sleep 0.5;
		$wazo->mode('ok');
		POSIX::_exit(0);
	}
	$t0 = time;
	$r = call(GET => "$CONFD/agents", token => $token);
	is($r->{status}, 200, 'stalled request answered once mode is ok');
	ok(time - $t0 >= 0.4, '... not before');
	waitpid $pid, 0;
}
is($wazo->mode, 'ok', 'mode reads back');

# --- log ---------------------------------------------------------------------
$wazo->clear_requests;
call(GET => "$CONFD/queues?limit=1&offset=0", token => $token);
$reqs = $wazo->requests;
is(scalar @$reqs, 1, 'clear_requests then one request');
is($reqs->[0]{query}, 'limit=1&offset=0', 'logged raw query');
is($reqs->[0]{mode}, 'ok', 'logged mode');

my $fpid = $wazo->pid;
$wazo->stop;
ok(!kill(0, $fpid), 'stopped');
done_testing;
