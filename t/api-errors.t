#!/usr/bin/perl
# Protocol-level errors of the /api/ivr API: every one is a JSON
# {"error": ...} with the right status and message, none of them changes
# the store, and the daemon keeps serving afterwards.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IvrdTest;
use JSON::PP;
use Test::More;

my $JSON = JSON::PP->new->canonical;

# A small valid flow (the seed's "Create Flow" example, without its
# 'default' tenant: the test token writes tenant 'acme').
sub flow {
	my (%o) = @_;
	return {
		id => 'support',
		entry_context => 'dp-ivr-support',
		tts_backend => 'polly',
		languages => [ { code => 'en-US', voice => 'Joanna' } ],
		prompts => { welcome => { text => {
		    'en-US' => 'Welcome to support. Press 1 for technical support.',
		} } },
		menus => { root => {
			id => 'root', prompt => 'welcome', timeout_sec => 10,
			max_retries => 3,
			options => { 1 => { action => 'queue',
			    queue_ref => 'support_q' } },
			fallback_action => 'voicemail',
		} },
		business_hours => {
			name => 'business-hours',
			timeframes => { map { $_ => ['09:00-17:00'] }
			    qw(monday tuesday wednesday thursday friday) },
			timezone => 'America/New_York',
		},
		voicemail_fallback => '1000',
		call_recording => { enabled => JSON::PP::true, format => 'wav' },
		%o,
	};
}

# Asserts one JSON error answer: status, Content-Type, and the message
# (a string for an exact match, or a regex).
sub json_error {
	my ($res, $status, $msg, $name) = @_;
	subtest $name => sub {
		is($res->{status}, $status, "status $status");
		is($res->{headers}{'content-type'}, 'application/json',
		    'Content-Type: application/json');
		ok(ref $res->{json} eq 'HASH', 'the body is a JSON object')
		    or diag($res->{content});
		if (ref $msg) {
			like($res->{json}{error} // '', $msg, 'error message');
		} else {
			is($res->{json}{error}, $msg, 'error message');
		}
	};
}

my $ivrd = IvrdTest->start(conf => { max_body_bytes => 4096 });

# --- bodies that are not a JSON object -------------------------------

json_error($ivrd->req(POST => '/flows', body => '{"id": "x",}'), 400,
    "malformed JSON at line 1, column 12: string or '}' expected near '}'",
    'trailing comma: 400 at line 1, column 12 (the closing brace)');
json_error($ivrd->req(POST => '/flows', body => "{\n  \"id\": \"x\",\n}"),
    400, qr/^malformed JSON at line 3, column 1: /,
    'trailing comma on another line: line 3, column 1');
json_error($ivrd->req(POST => '/flows', body => '{"id": "x"} x'), 400,
    qr/^malformed JSON at line 1, column 13: end of file expected/,
    'garbage after the object: 400');
json_error($ivrd->req(POST => '/flows', body => ''), 400,
    'request body is empty: a JSON object is expected', 'empty body: 400');
json_error($ivrd->req(POST => '/flows', body => '[{"id": "x"}]'), 400,
    'request body must be a JSON object', 'a JSON array: 400');
json_error($ivrd->req(POST => '/flows', body => '{"id": "a", "id": "b"}'),
    400, qr/^malformed JSON at line 1, column 16: duplicate object key/,
    'a duplicate key: 400');
json_error($ivrd->req(POST => '/flows',
    body => '{"id": "a", "menus": {"root": {"options": {"1": {}, "1": {}}}}}'),
    400, qr/^malformed JSON at line 1, column \d+: duplicate object key near '"1"'/,
    'a duplicate key deeper down (two options "1"): 400');
json_error($ivrd->req(POST => '/flows', body => "{\"id\": \"\xff\"}"), 400,
    qr/^malformed JSON at line 1, column 8: unable to decode byte 0xff/,
    'invalid UTF-8: 400');
json_error($ivrd->req(POST => '/flows', body => '[' x 3000), 400,
    qr/^malformed JSON at line 1, column \d+: maximum parsing depth reached/,
    'nesting 3000 deep: 400, no stack overflow');
json_error($ivrd->req(POST => '/flows', body => 'null'), 400,
    'request body must be a JSON object', 'JSON null: 400, not an object');
json_error($ivrd->req(POST => '/flows', body => '"str"'), 400,
    'request body must be a JSON object', 'a JSON string: 400, not an object');
is($ivrd->req(GET => '/flows')->{json}{count}, 0,
    'none of the bad bodies stored anything');

# --- body size --------------------------------------------------------

{
	my $text = $JSON->encode(flow(id => 'big'));
	my $over = $text . (' ' x (5000 - length $text));
	is(length $over, 5000, 'a 5000-byte body of valid JSON');
	json_error($ivrd->req(POST => '/flows', body => $over), 413,
	    'request body is larger than 4096 bytes (max_body_bytes)',
	    'POST over max_body_bytes: 413');
	json_error($ivrd->req(PUT => '/flows/big', body => $over), 413,
	    'request body is larger than 4096 bytes (max_body_bytes)',
	    'PUT over max_body_bytes: 413');
	json_error($ivrd->req(POST => '/flows',
	    body => $text . (' ' x (4097 - length $text))), 413,
	    'request body is larger than 4096 bytes (max_body_bytes)',
	    'one byte over the limit: 413');
	is($ivrd->req(GET => '/flows/big')->{status}, 404,
	    'the refused flow was not stored');

	my $under = $text . (' ' x (4096 - length $text));
	is(length $under, 4096, 'a body of exactly max_body_bytes');
	my $res = $ivrd->req(POST => '/flows', body => $under);
	is($res->{status}, 201, 'a body at the limit is not 413: created')
	    or diag($res->{content});
	is($ivrd->req(GET => '/flows/big')->{json}{id}, 'big',
	    'and it is stored');
	is($ivrd->req(DELETE => '/flows/big')->{status}, 200, 'deleted again');

	# Far over the limit libevent itself refuses the body.
	my $huge = $ivrd->req(POST => '/flows', body => ' ' x 100_000);
	is($huge->{status}, 413, 'a 100 kB body: 413');
	local $TODO = 'bug: libevent answers bodies over 4 x max_body_bytes '
	    . 'with its own HTML page';
	is($huge->{headers}{'content-type'}, 'application/json',
	    'a 100 kB body: the 413 is JSON too');
}

# --- routes -----------------------------------------------------------

json_error($ivrd->req(GET => '/nope'), 404,
    'no such endpoint: GET /api/ivr/nope', 'unknown route /api/ivr/nope: 404');
json_error($ivrd->req(POST => '/flows/x/frobnicate', body => '{}'), 404,
    'no such endpoint: POST /api/ivr/flows/x/frobnicate',
    'route one segment too deep: 404');
json_error($ivrd->req(GET => '/api/ivr'), 404,
    'no such endpoint: GET /api/ivr', 'the bare prefix: 404');
json_error($ivrd->req(GET => '/api/other/flows'), 404,
    'no such endpoint: /api/other/flows (the API lives under /api/ivr)',
    'a path outside /api/ivr: 404');
json_error($ivrd->req(GET => '/api/ivrflows'), 404,
    'no such endpoint: /api/ivrflows (the API lives under /api/ivr)',
    'a path that only starts like the prefix: 404');
json_error($ivrd->req(GET => '/flows?tenant'), 400,
    'malformed query string', 'a malformed query string: 400');

# --- methods ----------------------------------------------------------

for my $case (
	[ PATCH => '/flows', 'GET, HEAD, POST' ],
	[ DELETE => '/flows', 'GET, HEAD, POST' ],
	[ PUT => '/flows', 'GET, HEAD, POST' ],
	[ POST => '/flows/x', 'GET, HEAD, PUT, DELETE' ],
	[ PATCH => '/flows/x', 'GET, HEAD, PUT, DELETE' ],
	[ POST => '/status', 'GET, HEAD' ],
	[ DELETE => '/status', 'GET, HEAD' ],
) {
	my ($method, $path, $allow) = @$case;
	my $res = $ivrd->req($method => $path, body => '{}');
	json_error($res, 405,
	    "method $method is not allowed here; allowed: $allow",
	    "$method $path: 405");
	is($res->{headers}{allow}, $allow, "$method $path: Allow: $allow");
}

{
	my $head = $ivrd->req(HEAD => '/status');
	is($head->{status}, 200, 'HEAD is served wherever GET is');
	is($head->{content} // '', '', 'HEAD sends no body');
	my $get = $ivrd->req(GET => '/status');
	is($head->{headers}{'content-length'}, length($get->{content}),
	    'HEAD announces the length GET sends');
	is($ivrd->req(GET => '/flows')->{status}, 200,
	    'the connection state is sound after a HEAD');
}

# --- flows that are not there ------------------------------------------

json_error($ivrd->req(GET => '/flows/ghost'), 404, "flow 'ghost' not found",
    'GET of a missing flow: 404');
json_error($ivrd->req(DELETE => '/flows/ghost'), 404, "flow 'ghost' not found",
    'DELETE of a missing flow: 404');
for my $case (
	[ '/flows/a%20b', 'a b' ],
	[ '/flows/..%2f..', '../..' ],
	[ '/flows/..%2F..%2Fetc%2Fpasswd', '../../etc/passwd' ],
	[ '/flows/%2e%2e', '..' ],
	[ '/flows/x%3By', 'x;y' ],
	[ '/flows/%22%27', q{"'} ],
	[ '/flows/' . ('a' x 65), 'a' x 65 ],
) {
	my ($path, $id) = @$case;
	for my $method (qw(GET PUT DELETE)) {
		my %body = $method eq 'PUT' ? (body => flow(id => $id)) : ();
		json_error($ivrd->req($method => $path, %body), 404,
		    "flow '$id' not found", "$method $path: 404");
	}
}
json_error($ivrd->req(GET => '/flows/%00'), 404,
    'no such endpoint: /api/ivr/flows/%00', 'a NUL in the id: 404');

# --- conflicts and updates that must not change anything -------------

my $res = $ivrd->req(POST => '/flows', body => flow());
is($res->{status}, 201, 'flow support created') or diag($res->{content});
# Compared without the pre-render counts, which rise by themselves.
my $orig = IvrdTest::stored($ivrd->req(GET => '/flows/support')->{json});
is($orig->{id}, 'support', 'GET support');

sub unchanged {
	my ($name) = @_;
	my $now = $ivrd->req(GET => '/flows/support');
	$now->{json} = IvrdTest::stored($now->{json});
	subtest "$name: the stored flow is unchanged" => sub {
		is($now->{status}, 200, 'still there');
		is_deeply([ sort keys %{ $now->{json} } ], [ sort keys %$orig ],
		    'same fields');
		is_deeply($now->{json}{$_}, $orig->{$_}, "field $_")
		    for sort keys %$orig;
	};
}

my $other = flow(tts_backend => 'local', max_call_duration => 60,
    voicemail_fallback => '2000');
$other->{prompts}{welcome}{text}{'en-US'} = 'Replaced.';
json_error($ivrd->req(POST => '/flows', body => $other), 409,
    "flow 'support' already exists in tenant 'acme'",
    'POST of an existing id: 409');
unchanged('after the 409');

json_error($ivrd->req(PUT => '/flows/support',
    body => { %$other, id => 'renamed' }), 400,
    "id: 'renamed' does not match the flow in the URL ('support'); "
    . 'a flow cannot be renamed', 'PUT with another id in the body: 400');
unchanged('after the refused rename');
is($ivrd->req(GET => '/flows/renamed')->{status}, 404,
    'no flow named after the body id');

json_error($ivrd->req(PUT => '/flows/support',
    body => { %$other, menus => { root => { id => 'root' } } }), 400,
    'menus.root: prompt is required', 'PUT of an invalid flow: 400');
unchanged('after the invalid PUT');

json_error($ivrd->req(PUT => '/flows/support', body => '{"id": "support",'),
    400, qr/^malformed JSON at line 1, column \d+: /, 'PUT of bad JSON: 400');
unchanged('after the malformed PUT');

json_error($ivrd->req(PUT => '/flows/ghost', body => flow(id => 'ghost')),
    404, "flow 'ghost' not found", 'PUT to a missing flow: 404');
is($ivrd->req(GET => '/flows/ghost')->{status}, 404,
    'the PUT created nothing');
is($ivrd->req(GET => '/flows')->{json}{count}, 1, 'still one flow');

# The control: a good PUT does change what GET returns, so the checks
# above would have seen a change.
$res = $ivrd->req(PUT => '/flows/support', body => $other);
is($res->{status}, 200, 'a valid PUT is accepted') or diag($res->{content});
my $now = $ivrd->req(GET => '/flows/support')->{json};
is($now->{tts_backend}, 'local', 'and changes tts_backend');
is($now->{prompts}{welcome}{text}{'en-US'}, 'Replaced.',
    'and the prompt text');
is($now->{created_at}, $orig->{created_at}, 'created_at is kept');

# --- a burst of bad requests, then a good one --------------------------

{
	my @bad = ('{', '', '[]', '{"a": 1, "a": 2}', '{"id": "x",}',
	    "\xff", 'nul', '{"id": "x"}}');
	my $ok = 0;
	for my $n (1 .. 50) {
		my $r = $ivrd->req(POST => '/flows', body => $bad[$n % @bad]);
		$ok++ if $r->{status} == 400 && ref $r->{json} eq 'HASH' &&
		    ($r->{json}{error} // '') =~ /^(malformed JSON|request body)/;
	}
	is($ok, 50, '50 malformed requests in a row: each a JSON 400');
	$res = $ivrd->req(POST => '/flows', body => flow(id => 'after-burst'));
	is($res->{status}, 201, 'then a valid POST is created')
	    or diag($res->{content});
	is($ivrd->req(GET => '/flows/after-burst')->{json}{id}, 'after-burst',
	    'and can be read back');
}

$res = $ivrd->req(GET => '/status');
is($res->{status}, 200, 'GET /status still answers 200');
is($res->{json}{flows}{total}, 2, 'and counts the two flows');
is_deeply([ sort map { $_->{id} } @{ $ivrd->req(GET => '/flows')->{json}{flows} } ],
    [ 'after-burst', 'support' ], 'the store holds exactly the two good flows');

$ivrd->stop;
done_testing;
