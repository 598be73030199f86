#!/usr/bin/perl
# API authentication and tenant isolation: bearer tokens made with
# `ivrd token create`, revocation that applies at once, one tenant never
# seeing another's flows, admin tokens, the loopback exception, and a
# store that keeps only a hash of each token.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Digest::SHA qw(sha256 sha256_hex);
use IvrdTest;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use Test::More;

my $TOKEN_RE = qr/^ivr_[0-9a-f]{12}_[0-9a-f]{64}$/;
my $MISSING = "missing credentials: send 'Authorization: Bearer TOKEN' "
    . "(create one with 'ivrd token create')";
my $INVALID = 'invalid or revoked token';

sub flow {
	my ($id, %o) = @_;
	return {
		id => $id,
		languages => [ { code => 'en-US', voice => 'Joanna' } ],
		prompts => { welcome => { text => { 'en-US' => "Welcome to $id." } } },
		menus => { root => {
			id => 'root', prompt => 'welcome',
			options => { 1 => { action => 'queue', queue_ref => "${id}_q" } },
			fallback_action => 'hangup',
		} },
		%o,
	};
}

# One 401: status, JSON, message, WWW-Authenticate.
sub unauthorized {
	my ($res, $msg, $challenge, $name) = @_;
	subtest $name => sub {
		is($res->{status}, 401, 'status 401');
		is($res->{headers}{'content-type'}, 'application/json',
		    'Content-Type: application/json');
		is(ref $res->{json} eq 'HASH' && $res->{json}{error}, $msg,
		    'error message');
		is($res->{headers}{'www-authenticate'}, $challenge,
		    "WWW-Authenticate: $challenge");
	};
}

my $ivrd = IvrdTest->start;		# its token: tenant 'acme'
my $dir = $ivrd->dir;
like($ivrd->token, $TOKEN_RE, 'the token from "token create" has the token form');

# --- credentials ------------------------------------------------------

is($ivrd->req(GET => '/flows')->{status}, 200, 'the acme token is accepted');
unauthorized($ivrd->req(GET => '/flows', token => undef), $MISSING, 'Bearer',
    'no Authorization header: 401');
unauthorized($ivrd->req(POST => '/flows', token => undef, body => flow('x')),
    $MISSING, 'Bearer', 'no Authorization header on a POST: 401');
unauthorized($ivrd->req(GET => '/flows', token => undef,
    headers => { Authorization => 'Basic ' . encode_base64('admin:admin', '') }),
    $MISSING, 'Bearer', 'Authorization: Basic: 401');
unauthorized($ivrd->req(GET => '/flows', token => undef,
    headers => { Authorization => 'Basic ' . encode_base64($ivrd->token . ':', '') }),
    $MISSING, 'Bearer', 'a good token sent as Basic credentials: 401');
unauthorized($ivrd->req(GET => '/flows', token => 'garbage'), $INVALID,
    'Bearer error="invalid_token"', 'a garbage bearer token: 401');
{
	# Right id, right length, wrong secret.
	(my $forged = $ivrd->token) =~ s/(.)$/$1 eq '0' ? '1' : '0'/e;
	isnt($forged, $ivrd->token, 'a token differing in its last digit');
	unauthorized($ivrd->req(GET => '/flows', token => $forged), $INVALID,
	    'Bearer error="invalid_token"', 'a token with a wrong secret: 401');
	unauthorized($ivrd->req(GET => '/flows', token => $ivrd->token . '0'),
	    $INVALID, 'Bearer error="invalid_token"', 'a token with one more digit: 401');
}
unauthorized($ivrd->req(GET => '/flows', token => undef,
    headers => { Authorization => 'Bearer' }), $MISSING, 'Bearer',
    'the scheme with no token at all: 401');
is($ivrd->req(GET => '/flows', token => undef,
    headers => { Authorization => 'bearer ' . $ivrd->token })->{status}, 200,
    'the scheme name is case-insensitive ("bearer")');
is($ivrd->req(GET => '/flows')->{json}{count}, 0,
    'none of the refused requests created a flow');

# --- revocation -------------------------------------------------------

{
	my $victim = IvrdTest->make_token($dir, tenant => 'acme', name => 'victim');
	like($victim, $TOKEN_RE, 'token victim created');
	is($ivrd->req(GET => '/status', token => $victim)->{status}, 200,
	    'victim works');
	my ($rc, $out) = IvrdTest->run_cli($dir, 'token', 'revoke', 'victim');
	is($rc, 0, 'token revoke victim exits 0') or diag($out);
	is($out, "revoked victim\n", 'and says so');
	unauthorized($ivrd->req(GET => '/status', token => $victim), $INVALID,
	    'Bearer error="invalid_token"',
	    'the very next request with the revoked token: 401');
	is($ivrd->req(GET => '/status')->{status}, 200,
	    'the other acme token still works');

	($rc, $out) = IvrdTest->run_cli($dir, 'token', 'revoke', 'victim');
	is($rc, 1, 'revoking it again fails');
	like($out, qr/no live token with id or name 'victim'/, 'and says why');

	($rc, $out) = IvrdTest->run_cli($dir, 'token', 'list');
	is($rc, 0, 'token list exits 0') or diag($out);
	my $list = eval { JSON::PP->new->decode($out) };
	is(ref $list, 'ARRAY', 'token list prints a JSON array') or diag($out);
	my ($entry) = grep { $_->{name} eq 'victim' } @{ $list // [] };
	ok($entry, 'victim is listed');
	like($entry->{revoked_at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
	    'with revoked_at set');
	is($entry->{tenant}, 'acme', 'and its tenant');
	is(substr($victim, 4, 12), $entry->{id}, 'its id is the token\'s id part');
	my ($live) = grep { $_->{id} eq substr($ivrd->token, 4, 12) } @{ $list // [] };
	ok($live, 'the harness token is listed');
	ok(exists $live->{revoked_at} && !defined $live->{revoked_at},
	    'a live token has revoked_at null');
	is_deeply([ sort keys %$entry ],
	    [ qw(admin created_at id name revoked_at tenant) ],
	    'an entry has no secret or hash field');
	for my $t ($victim, $ivrd->token) {
		my $secret = substr($t, 17);
		my $hash = sha256($t);
		ok(index($out, $secret) < 0, 'token list never prints a secret');
		ok(index(lc $out, sha256_hex($t)) < 0 &&
		    index($out, encode_base64($hash, '')) < 0 &&
		    index($out, $hash) < 0,
		    'nor the hash of a token (hex, base64 or raw)');
	}
}

# --- tenants ------------------------------------------------------------

my $globex = IvrdTest->make_token($dir, tenant => 'globex', name => 'g');
like($globex, $TOKEN_RE, 'a token of tenant globex');
my $admin = IvrdTest->make_token($dir, admin => 1, name => 'root');
like($admin, $TOKEN_RE, 'an admin token');

my $res = $ivrd->req(POST => '/flows', body => flow('sales'));
is($res->{status}, 201, 'acme creates flow sales') or diag($res->{content});
is($res->{json}{flow}{tenant}, 'acme', 'in tenant acme');
$res = $ivrd->req(POST => '/flows', body => flow('support'));
is($res->{status}, 201, 'acme creates flow support');
my $acme_sales = $ivrd->req(GET => '/flows/sales')->{json};

for my $method (qw(GET PUT DELETE)) {
	my $r = $ivrd->req($method => '/flows/sales', token => $globex,
	    $method eq 'PUT' ? (body => flow('sales')) : ());
	is($r->{status}, 404, "globex $method /flows/sales: 404");
	is($r->{json}{error}, "flow 'sales' not found",
	    "globex $method: the flow is simply not found");
}
$res = $ivrd->req(GET => '/flows', token => $globex);
is($res->{status}, 200, 'globex lists its flows');
is($res->{json}{count}, 0, 'globex sees no flows');
is_deeply($res->{json}{flows}, [], 'an empty list');

$res = $ivrd->req(POST => '/flows', token => $globex,
    body => flow('sales', tts_backend => 'polly'));
is($res->{status}, 201, 'globex creates its own sales: the same id in two tenants')
    or diag($res->{content});
is($res->{json}{flow}{tenant}, 'globex', 'in tenant globex');
$res = $ivrd->req(GET => '/flows/sales', token => $globex);
is($res->{json}{tenant}, 'globex', 'globex reads its own sales');
is($res->{json}{tts_backend}, 'polly', 'with its own content');
is_deeply(IvrdTest::stored($ivrd->req(GET => '/flows/sales')->{json}),
    IvrdTest::stored($acme_sales),
    'acme\'s sales is untouched');

$res = $ivrd->req(POST => '/flows', body => flow('intruder', tenant => 'globex'));
is($res->{status}, 403, 'acme posting a flow for tenant globex: 403');
is($res->{headers}{'content-type'}, 'application/json', 'a JSON 403');
is($res->{json}{error}, "tenant: this token belongs to tenant 'acme' and "
    . "cannot write tenant 'globex'", 'the 403 says why');
is($ivrd->req(GET => '/flows/intruder', token => $admin)->{status}, 404,
    'and nothing was created, in any tenant');
$res = $ivrd->req(PUT => '/flows/sales', body => flow('sales', tenant => 'globex'));
is($res->{status}, 400, 'acme moving its flow to globex with PUT: 400');
is($res->{json}{error}, "tenant: flow 'sales' belongs to tenant 'acme' and "
    . "cannot move to 'globex'", 'the 400 says why');
is_deeply(IvrdTest::stored($ivrd->req(GET => '/flows/sales')->{json}),
    IvrdTest::stored($acme_sales),
    'acme\'s sales is still untouched');
$res = $ivrd->req(POST => '/flows', body => flow('own', tenant => 'acme'));
is($res->{status}, 201, 'naming its own tenant in the body is fine');
is($ivrd->req(DELETE => '/flows/own')->{status}, 200, '(deleted again)');

# --- admin --------------------------------------------------------------

$res = $ivrd->req(GET => '/flows', token => $admin);
is($res->{status}, 200, 'admin lists flows');
is($res->{json}{count}, 3, 'admin sees every tenant\'s flows');
is_deeply([ map { "$_->{tenant}/$_->{id}" } @{ $res->{json}{flows} } ],
    [ qw(acme/sales acme/support globex/sales) ], 'both sales and support');
$res = $ivrd->req(GET => '/flows?tenant=globex', token => $admin);
is($res->{json}{count}, 1, 'admin with ?tenant=globex sees only globex');

$res = $ivrd->req(GET => '/flows/sales', token => $admin);
is($res->{status}, 409, 'admin GET /flows/sales without ?tenant=: 409');
is($res->{headers}{'content-type'}, 'application/json', 'a JSON 409');
is($res->{json}{error}, "flow 'sales' exists in several tenants; name one "
    . 'with ?tenant=', 'the 409 says how to choose');
$res = $ivrd->req(GET => '/flows/sales?tenant=acme', token => $admin);
is($res->{status}, 200, 'admin GET /flows/sales?tenant=acme: 200');
is_deeply(IvrdTest::stored($res->{json}), IvrdTest::stored($acme_sales),
    'acme\'s sales');
$res = $ivrd->req(GET => '/flows/sales?tenant=globex', token => $admin);
is($res->{json}{tenant}, 'globex', '?tenant=globex: globex\'s sales');
$res = $ivrd->req(GET => '/flows/support', token => $admin);
is($res->{status}, 200, 'admin GET of an id only one tenant has: 200');
is($res->{json}{tenant}, 'acme', 'from that tenant');
$res = $ivrd->req(POST => '/flows', token => $admin,
    body => flow('hq', tenant => 'initech'));
is($res->{status}, 201, 'admin creates a flow in any tenant');
is($res->{json}{flow}{tenant}, 'initech', 'in the tenant the body names');
is($ivrd->req(DELETE => '/flows/hq?tenant=initech', token => $admin)->{status},
    200, 'admin deletes it');

# /status counts the caller's tenant; an admin's counts everything.
is($ivrd->req(GET => '/status')->{json}{flows}{total}, 2,
    '/status for acme: flows.total 2');
is($ivrd->req(GET => '/status', token => $globex)->{json}{flows}{total}, 1,
    '/status for globex: flows.total 1');
is($ivrd->req(GET => '/status', token => $admin)->{json}{flows}{total}, 3,
    '/status for admin: flows.total 3');

# --- the store keeps only hashes ---------------------------------------

{
	my @tokens = ($ivrd->token, $globex, $admin);
	my $db = "$dir/ivrd.sqlite";
	ok(-s $db, 'the store file exists');
	my $raw = '';
	for my $f ($db, "$db-wal") {
		next unless -e $f;
		open my $fh, '<:raw', $f or die "$f: $!";
		local $/;
		$raw .= <$fh>;
	}
	for my $t (@tokens) {
		ok(index($raw, $t) < 0 && index($raw, substr($t, 17)) < 0,
		    'neither a token nor its secret is in the store files');
	}
	my ($sqlite) = grep { -x "$_/sqlite3" } split /:/, $ENV{PATH};
	SKIP: {
		skip 'no sqlite3 command', 3 unless $sqlite;
		my $out = qx{sqlite3 -readonly "$db" "SELECT id, hex(hash) FROM api_tokens" 2>&1};
		is($?, 0, 'sqlite3 reads the token table') or diag($out);
		my %hash = map { split /\|/ } split /\n/, $out;
		is_deeply([ map { $hash{substr($_, 4, 12)} } @tokens ],
		    [ map { uc sha256_hex($_) } @tokens ],
		    'each row holds the SHA-256 of its token');
		my $dump = qx{sqlite3 -readonly "$db" .dump 2>&1};
		ok(!grep({ index($dump, $_) >= 0 || index($dump, substr($_, 17)) >= 0 }
		    @tokens), 'a full dump of the store holds no token or secret');
	}
}

# --- the loopback exception ----------------------------------------------

unauthorized($ivrd->req(GET => '/flows', token => undef), $MISSING, 'Bearer',
    'without api_loopback_without_token, no token from 127.0.0.1: 401');

my $open = IvrdTest->start(conf => { api_loopback_without_token => 'yes' });
is($open->req(POST => '/flows', body => flow('mine'))->{status}, 201,
    'second daemon: acme creates a flow');
$res = $open->req(GET => '/flows', token => undef);
is($res->{status}, 200,
    'with api_loopback_without_token = yes, no token from 127.0.0.1: 200');
is($res->{json}{count}, 1, 'and it sees the flows');
$res = $open->req(GET => '/flows/mine', token => undef);
is($res->{json}{tenant}, 'acme', 'and can read one');
unauthorized($open->req(GET => '/flows', token => 'garbage'), $INVALID,
    'Bearer error="invalid_token"',
    'a bad token is still refused on loopback: sending one means checking it');
unauthorized($open->req(GET => '/flows', token => undef,
    headers => { Authorization => 'Basic ' . encode_base64('a:b', '') }),
    $MISSING, 'Bearer', 'so are Basic credentials');
$open->stop('the second daemon exited cleanly');

$ivrd->stop;
done_testing;
