package FakeWazo;
# A fake Wazo Platform (../shared/wazo-api.md) for the tests: plain HTTP on
# 127.0.0.1 port 0, one port serving wazo-auth, wazo-confd and wazo-amid
# under the nginx prefixes a remote client sees:
#
#   /api/auth/0.1/...   token issue/check/revoke       (wazo-api.md 2.1)
#   /api/confd/1.1/...  queues, agents, contexts, extensions, incalls,
#                       incall<->extension, infos      (3.1-3.7, 4)
#   /api/amid/1.0/...   action/Command, action/{Action} (5.1)
#
# Served by a forked child (one more fork per connection) so the test
# process stays free to talk to ivrd while ivrd talks to the fake. Core
# Perl only. Same structure as FakePolly.pm.
#
#   my $wazo = FakeWazo->start(username => 'ivrd', password => 'secret',
#       tenant => '2b4e6f80-aaaa-4bbb-8ccc-123456789abc',
#       token_lifetime => 7200);
#   $wazo->url;                 # http://127.0.0.1:PORT
#   $wazo->mode('stall');       # ok down stall fail refuse-token
#   $wazo->requests;            # [ { method, path, query, headers, body,
#                               #     json, service, mode, status, time } ]
#   $wazo->clear_requests;
#   $wazo->state;               # { incalls, extensions, queues, agents,
#                               #   contexts, amid, tokens }
#   $wazo->token;               # a valid token, issued without HTTP
#   $wazo->expire_token($t);    # $t (default: all) expires now
#   $wazo->update_state(sub { my $s = shift; ... });  # seed / tamper
#   $wazo->stop;
#
# State crosses the process boundary through files in a temp dir: "mode"
# (written atomically by rename, re-read on every request),
# requests.jsonl (one JSON line per request, logged before it is
# answered) and state.json (the whole in-memory model, read and rewritten
# under an exclusive lock on state.lock by every request, so concurrent
# connections see a consistent model).
use strict;
use FakeHTTP;
use warnings;
use Carp qw(croak);
use Fcntl qw(:flock);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::IP;
use JSON::PP;
use MIME::Base64 qw(encode_base64 decode_base64);
use POSIX qw(WNOHANG strftime);
use Time::HiRes qw(sleep time);

my $JSON = JSON::PP->new->utf8->canonical;

our @MODES = qw(ok down stall fail refuse-token);
our @ISA = qw(FakeHTTP);
sub name { 'fake Wazo' }
sub modes { @MODES }
# 'down': every connection is closed at once, nothing read.
sub _drop_connection { FakeHTTP::_read_mode($_[0]{dir}) eq 'down' }

our $AUTH = '/api/auth/0.1';
our $CONFD = '/api/confd/1.1';
our $AMID = '/api/amid/1.0';

# The confd custom destination command (wazo-api.md 3.5).
our $CUSTOM_RE = qr/^(?!(try)?system\()[a-zA-Z]{3,}\((.*)\)$/s;

my $FIXTURES = do {
	require File::Spec;
	my $d = File::Spec->rel2abs(__FILE__);
	$d =~ s{[^/]*$}{};
	$d = '.' if $d eq '';
	"$d/../../../shared/fixtures/wazo";
};

# The contexts the fake starts with: the fixtures' incall and internal
# contexts (wazo-api.md 3.6 step 1, 3.7).
our $INCALL_CONTEXT = 'ctx-acme-incall-1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d';
our $INTERNAL_CONTEXT = 'ctx-acme-internal-0f2c9d1e-5b6a-4c3d-9e8f-7a6b5c4d3e2f';

sub _slurp_json {
	my ($file) = @_;
	open my $fh, '<', $file or croak "fake Wazo: $file: $!";
	local $/;
	my $text = <$fh>;
	close $fh;
	return $JSON->decode($text);
}

# --- the test-side object ---------------------------------------------

# Options: username, password, tenant, token_lifetime (default 7200),
# mode (initial, default 'ok'), master_tenant (default 1: the tenant is
# the master tenant, as amid requires), wazo_version (default '25.16'),
# xivo_uuid, fixtures (dir), incall_ranges (for the seeded incall
# context; default one range 0 .. 999999999999999).
sub start {
	my ($class, %o) = @_;
	my $self = bless {
		username => 'ivrd',
		password => 'secret',
		tenant => '2b4e6f80-aaaa-4bbb-8ccc-123456789abc',
		token_lifetime => 7200,
		master_tenant => 1,
		wazo_version => '25.16',
		xivo_uuid => 'c0ffee00-1234-4abc-8def-00000000beef',
		fixtures => $FIXTURES,
		%o,
	}, $class;
	$self->{dir} = tempdir('fake-wazo-XXXXXX', TMPDIR => 1,
	    CLEANUP => !$ENV{IVRD_KEEP});
	$self->mode(delete $self->{mode} // 'ok');
	open my $log, '>', "$self->{dir}/requests.jsonl"
	    or croak "requests.jsonl: $!";
	close $log;
	open my $lock, '>', "$self->{dir}/state.lock" or croak "state.lock: $!";
	close $lock;
	_write_state($self->{dir}, $self->_initial_state);

	return $self->_spawn;
}

sub _initial_state {
	my ($self) = @_;
	my $queues = _slurp_json("$self->{fixtures}/queues-list.json")->{items};
	my $agents = _slurp_json("$self->{fixtures}/agents-list.json")->{items};
	$_->{tenant_uuid} = $self->{tenant} for @$queues, @$agents;
	my $ranges = $self->{incall_ranges}
	    // [ { start => '0', end => '999999999999999', did_length => 0 } ];
	my @contexts = (
	    { id => 1, uuid => '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d',
	      name => $INCALL_CONTEXT, label => 'Incalls', type => 'incall',
	      user_ranges => [], group_ranges => [], queue_ranges => [],
	      conference_room_ranges => [], incall_ranges => $ranges,
	      description => undef, enabled => JSON::PP::true,
	      tenant_uuid => $self->{tenant}, contexts => [] },
	    { id => 2, uuid => '0f2c9d1e-5b6a-4c3d-9e8f-7a6b5c4d3e2f',
	      name => $INTERNAL_CONTEXT, label => 'Internal', type => 'internal',
	      user_ranges => [ { start => '1000', end => '1999' } ],
	      group_ranges => [], queue_ranges => [ { start => '1000', end => '1999' } ],
	      conference_room_ranges => [], incall_ranges => [],
	      description => undef, enabled => JSON::PP::true,
	      tenant_uuid => $self->{tenant}, contexts => [] },
	);
	# The queues' own extensions exist as extensions too.
	my @extensions;
	for my $q (@$queues) {
		for my $e (@{ $q->{extensions} }) {
			push @extensions, { id => $e->{id}, exten => $e->{exten},
			    context => $e->{context}, commented => JSON::PP::false,
			    enabled => JSON::PP::true, tenant_uuid => $self->{tenant},
			    queue_id => $q->{id} };
		}
	}
	return {
		config => { username => $self->{username},
		    password => $self->{password}, tenant => $self->{tenant},
		    token_lifetime => $self->{token_lifetime},
		    master_tenant => $self->{master_tenant} ? 1 : 0,
		    wazo_version => $self->{wazo_version},
		    xivo_uuid => $self->{xivo_uuid},
		    auth_id => '7f1e2d3c-4b5a-4968-8877-665544332211' },
		tokens => {},
		queues => $queues,
		agents => $agents,
		contexts => \@contexts,
		extensions => \@extensions,
		incalls => [],
		amid => [],
		next_id => { incall => 10, extension => 100 },
	};
}

sub auth_url { $_[0]->url . $AUTH }
sub confd_url { $_[0]->url . $CONFD }
sub amid_url { $_[0]->url . $AMID }
sub tenant { $_[0]{tenant} }
sub username { $_[0]{username} }
sub password { $_[0]{password} }




# The model as the fake holds it: { incalls => [ confd incall objects ],
# extensions => [ confd extension objects ], queues, agents, contexts,
# amid => [ { action, body, time } ], tokens => { token => { issued,
# expires, expiration } } } (issued/expires: epoch seconds).
sub state {
	my ($self) = @_;
	my $s = $self->_locked(sub { $_[0] });
	my $url = $self->url;
	return {
		incalls => [ map { _incall_out($s, $url, $_) } @{ $s->{incalls} } ],
		extensions => [ map { _extension_out($s, $url, $_) }
		    @{ $s->{extensions} } ],
		queues => $s->{queues},
		agents => $s->{agents},
		contexts => $s->{contexts},
		amid => $s->{amid},
		tokens => $s->{tokens},
	};
}

# update_state(sub { my $raw = shift; ... }): changes the raw model under
# the lock (e.g. to seed an incall or shorten a token); returns the
# sub's result.
sub update_state {
	my ($self, $code) = @_;
	return $self->_locked($code, 1);
}

# A fresh valid token, issued as POST /token would but without HTTP;
# expiration in seconds (default token_lifetime).
sub token {
	my ($self, $expiration) = @_;
	return $self->update_state(sub {
		_issue_token($_[0], $expiration)->{token};
	});
}

# expire_token(TOKEN): that token (no argument: every token) is expired
# from now on; set_token_expiry(TOKEN, EPOCH) for any other expiry.
sub expire_token {
	my ($self, $token) = @_;
	$self->update_state(sub {
		my $t = $_[0]{tokens};
		$_->{expires} = time - 1
		    for defined $token ? grep { defined } $t->{$token} : values %$t;
	});
}

sub set_token_expiry {
	my ($self, $token, $epoch) = @_;
	$self->update_state(sub {
		my $t = $_[0]{tokens}{$token} or croak "unknown token $token";
		$t->{expires} = $epoch;
	});
}

# Lifetime of tokens issued from now on without an 'expiration'.
sub token_lifetime {
	my ($self, $secs) = @_;
	return $self->update_state(sub {
		$_[0]{config}{token_lifetime} = $secs if defined $secs;
		$_[0]{config}{token_lifetime};
	});
}



# --- state files ---------------------------------------------------------


sub _write_state {
	my ($dir, $state) = @_;
	my $tmp = "$dir/state.json.tmp.$$";
	open my $fh, '>', $tmp or die "$tmp: $!";
	print $fh $JSON->encode($state);
	close $fh or die "$tmp: $!";
	rename $tmp, "$dir/state.json" or die "rename $tmp: $!";
}

# Runs $code->(state) under the exclusive lock; writes the state back
# when $write.
sub _locked {
	my ($self, $code, $write) = @_;
	open my $lock, '<', "$self->{dir}/state.lock" or die "state.lock: $!";
	flock $lock, LOCK_EX;
	my $state = _slurp_json("$self->{dir}/state.json");
	my @r = $code->($state);
	_write_state($self->{dir}, $state) if $write;
	close $lock;
	return wantarray ? @r : $r[0];
}

# --- the server (child processes) ---------------------------------------


sub _service_of {
	my ($path) = @_;
	return 'auth' if index($path, "$AUTH/") == 0;
	return 'confd' if index($path, "$CONFD/") == 0;
	return 'amid' if index($path, "$AMID/") == 0;
	return 'none';
}

sub _connection {
	my ($self, $conn, $server) = @_;
	my $req = _read_request($conn) or return;
	my $mode = FakeHTTP::_read_mode($self->{dir});
	my $resp = $self->_answer($req, $mode);
	$self->_log({ %$req, body_b64 => encode_base64($req->{body}, ''),
	    service => _service_of($req->{path}), mode => $mode,
	    status => $resp ? $resp->{status} : undef, time => time });
	# 'stall': nothing until the mode changes ('down' drops it).
	$resp //= $self->_hold($conn, $server, sub { $self->_answer($req, $_[0]) })
	    or return;
	_send($conn, $resp, $req->{method} eq 'HEAD');
}


# One HTTP/1.1 request, read by the reader both fakes share.
sub _read_request { FakeHTTP::read_request(@_) }

my %REASON = (200 => 'OK', 201 => 'Created', 204 => 'No Content',
    400 => 'Bad Request', 401 => 'Unauthorized', 403 => 'Forbidden',
    404 => 'Not Found', 405 => 'Method Not Allowed',
    500 => 'Internal Server Error', 501 => 'Not Implemented');

sub _send {
	my ($conn, $resp, $head_only) = @_;
	my $body = $resp->{body} // '';
	my @h = (@{ $resp->{headers} // [] },
	    Date => strftime('%a, %d %b %Y %H:%M:%S GMT', gmtime),
	    Connection => 'close');
	push @h, 'Content-Length' => length $body
	    unless $resp->{status} == 204;
	my $out = "HTTP/1.1 $resp->{status} "
	    . ($REASON{$resp->{status}} // 'Unknown') . "\r\n";
	while (my ($k, $v) = splice @h, 0, 2) {
		$out .= "$k: $v\r\n";
	}
	$out .= "\r\n";
	$out .= $body unless $head_only || $resp->{status} == 204;
	while (length $out) {
		my $n = syswrite $conn, $out;
		return unless $n;
		substr($out, 0, $n, '');
	}
	shutdown $conn, 1;
	close $conn;
}

sub _uuid { FakeHTTP::uuid() }

sub _json_resp {
	my ($status, $data, @headers) = @_;
	return { status => $status, headers => [
	    'Content-Type' => 'application/json', @headers ],
	    body => $JSON->encode($data) };
}

sub _empty { return { status => $_[0], headers => [], body => '' } }

# confd: every error is an array of strings (wazo-api.md 4).
sub _confd_error { my ($status, @msgs) = @_; _json_resp($status, [@msgs]) }

# wazo-auth /token errors (wazo-api.md 2.1, 4).
sub _auth_error {
	my ($status, $reason) = @_;
	return _json_resp($status, { reason => [$reason],
	    timestamp => [ time + 0 ], status_code => $status + 0 });
}

# calld/amid/plugind errors (wazo-api.md 4).
sub _rest_error {
	my ($status, $message, $error_id, $details) = @_;
	return _json_resp($status, { message => $message,
	    error_id => $error_id, details => $details // {},
	    timestamp => time + 0 });
}

sub _query {
	my ($query) = @_;
	my %q;
	for (split /&/, $query // '') {
		next if $_ eq '';
		my ($k, $v) = split /=/, $_, 2;
		for ($k, $v) {
			next unless defined;
			tr/+/ /;
			s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
		}
		$q{$k} = $v // '';
	}
	return \%q;
}

# The answer to a request in a mode; undef means hold it ('stall').
sub _answer {
	my ($self, $req, $mode) = @_;
	return undef if $mode eq 'stall';
	my $service = _service_of($req->{path});
	if ($mode eq 'fail') {
		return _confd_error(500, 'Unexpected error - fake Wazo, mode fail')
		    if $service eq 'confd';
		return _auth_error(500, 'Internal Server Error')
		    if $service eq 'auth';
		return _rest_error(500, 'Internal Server Error (fake Wazo, mode '
		    . 'fail)', 'internal-server-error');
	}
	return $self->_locked(sub {
		my ($state) = @_;
		my $changed = 0;
		my $resp = $service eq 'auth'
		    ? $self->_auth($state, $req, \$changed)
		    : $service eq 'confd'
		    ? $self->_confd($state, $req, $mode, \$changed)
		    : $service eq 'amid'
		    ? $self->_amid($state, $req, $mode, \$changed)
		    : _json_resp(404, { message => 'The requested URL was not '
		    . 'found on the server.' });
		_write_state($self->{dir}, $state) if $changed;
		return $resp;
	});
}

# --- wazo-auth -----------------------------------------------------------

sub _iso {
	my ($t, $utc) = @_;
	my @tm = $utc ? gmtime(int $t) : localtime(int $t);
	return strftime('%Y-%m-%dT%H:%M:%S', @tm)
	    . sprintf('.%06d', int(($t - int $t) * 1e6));
}

sub _issue_token {
	my ($state, $expiration, $req) = @_;
	my $c = $state->{config};
	$expiration //= $c->{token_lifetime};
	my $now = time;
	my $token = _uuid();
	$state->{tokens}{$token} = { issued => $now + 0,
	    expires => $now + $expiration, expiration => $expiration + 0 };
	return {
		token => $token,
		auth_id => $c->{auth_id},
		xivo_user_uuid => undef,
		xivo_uuid => $c->{xivo_uuid},
		issued_at => _iso($now),
		expires_at => _iso($now + $expiration),
		utc_issued_at => _iso($now, 1),
		utc_expires_at => _iso($now + $expiration, 1),
		acl => [ 'confd.queues.#', 'confd.agents.#', 'confd.ivr.#',
		    'confd.incalls.#', 'confd.extensions.#',
		    'confd.contexts.read', 'confd.infos.read',
		    'calld.calls.read', 'amid.action.Command.create' ],
		metadata => { uuid => $c->{auth_id},
		    tenant_uuid => $c->{tenant}, auth_id => $c->{auth_id},
		    pbx_user_uuid => undef, xivo_uuid => $c->{xivo_uuid},
		    purpose => 'external_api' },
		session_uuid => _uuid(),
		remote_addr => '127.0.0.1',
		user_agent => $req ? $req->{headers}{'user-agent'} // '' : '',
	};
}

sub _token_valid {
	my ($state, $token) = @_;
	return 0 unless defined $token && length $token;
	my $t = $state->{tokens}{$token} or return 0;
	return time < $t->{expires};
}

sub _auth {
	my ($self, $state, $req, $changed) = @_;
	my $path = substr($req->{path}, length $AUTH);
	my $m = $req->{method};
	if ($path eq '/token') {
		return _json_resp(405, { message => 'The method is not allowed '
		    . 'for the requested URL.' }) unless $m eq 'POST';
		my ($user, $pass) = ('', '');
		if (($req->{headers}{authorization} // '') =~ /^Basic\s+(\S+)/i) {
			($user, $pass) = split /:/, decode_base64($1), 2;
		}
		my $c = $state->{config};
		return _auth_error(401, 'Authentication Failed')
		    unless defined $pass && $user eq $c->{username}
		    && $pass eq $c->{password};
		# get_json(force=True): any body must be JSON; an empty body
		# is refused too (the client must send at least {}).
		my $in = eval { $JSON->decode($req->{body}) };
		return _auth_error(400, 'Invalid body: not JSON')
		    unless ref $in eq 'HASH';
		my $exp = $in->{expiration};
		if (defined $exp) {
			return _auth_error(400, "Invalid value for 'expiration'")
			    if ref $exp || $exp !~ /^\d+$/ || $exp < 1
			    || $exp > 315360000;
		}
		my $ac = $in->{access_type} // 'online';
		return _auth_error(400, "Invalid value for 'access_type'")
		    unless $ac eq 'online' || $ac eq 'offline';
		$$changed = 1;
		my $data = _issue_token($state, $exp, $req);
		return _json_resp(200, { data => $data },
		    'Wazo-Sessions-Revoked' => 0);
	}
	if ($path =~ m{^/token/([^/]+)$}) {
		my $token = $1;
		my $valid = _token_valid($state, $token);
		if ($m eq 'HEAD') {
			return _empty($valid ? 204 : 404);
		}
		if ($m eq 'GET') {
			return _auth_error(404, 'No such token') unless $valid;
			my $t = $state->{tokens}{$token};
			my $c = $state->{config};
			return _json_resp(200, { data => {
			    token => $token, auth_id => $c->{auth_id},
			    xivo_uuid => $c->{xivo_uuid},
			    issued_at => _iso($t->{issued}),
			    expires_at => _iso($t->{expires}),
			    utc_issued_at => _iso($t->{issued}, 1),
			    utc_expires_at => _iso($t->{expires}, 1),
			    metadata => { tenant_uuid => $c->{tenant},
			        uuid => $c->{auth_id}, auth_id => $c->{auth_id},
			        purpose => 'external_api' } } });
		}
		if ($m eq 'DELETE') {
			$$changed = 1 if delete $state->{tokens}{$token};
			return _json_resp(200, {});
		}
	}
	return _json_resp(404, { message => 'The requested URL was not found '
	    . 'on the server.' });
}

# The token check shared by confd and amid: undef when allowed, else the
# reason ('not_found_or_expired' or 'missing_permission_or_invalid_tenant').
sub _check_token {
	my ($state, $req, $mode, $amid) = @_;
	my $token = $req->{headers}{'x-auth-token'};
	return 'not_found_or_expired'
	    if $mode eq 'refuse-token' || !_token_valid($state, $token);
	my $tenant = $req->{headers}{'wazo-tenant'};
	return 'missing_permission_or_invalid_tenant'
	    if defined $tenant && length $tenant
	    && $tenant ne $state->{config}{tenant};
	return 'missing_permission_or_invalid_tenant'
	    if $amid && !$state->{config}{master_tenant};
	return undef;
}

# --- wazo-confd ----------------------------------------------------------

# Sort (and search) columns per resource, default first (wazo-api.md 3.1).
my %COLUMNS = (
	queues => [qw(id name label exten)],
	agents => [qw(id firstname lastname number)],
	incalls => [qw(exten description greeting_sound preprocess_subroutine
	    user_id)],
	extensions => [qw(exten context type)],
	contexts => [qw(id name label type description)],
);
# Exact-match filter columns (any search column plus the id).
my %FILTERS = (
	queues => [qw(id name label exten)],
	agents => [qw(id firstname lastname number)],
	incalls => [qw(id exten description greeting_sound
	    preprocess_subroutine user_id)],
	extensions => [qw(id exten context type)],
	contexts => [qw(id name label type description)],
);

sub _column {
	my ($state, $kind, $item, $col) = @_;
	if ($col eq 'exten' && ($kind eq 'queues' || $kind eq 'incalls')) {
		my $e = $item->{extensions}[0];
		return $e ? $e->{exten} : undef;
	}
	return undef if $col eq 'user_id';
	if ($kind eq 'extensions' && $col eq 'type') {
		my ($ctx) = grep { $_->{name} eq $item->{context} }
		    @{ $state->{contexts} };
		return $ctx ? $ctx->{type} : undef;
	}
	return $item->{$col};
}

sub _cmp {
	my ($a, $b) = @_;
	return 0 if !defined $a && !defined $b;
	return 1 if !defined $a;
	return -1 if !defined $b;
	return $a <=> $b if $a =~ /^\d+$/ && $b =~ /^\d+$/;
	return lc $a cmp lc $b;
}

# A confd list: { total, items } after search, filters, order,
# direction, offset and limit; or a 400 response.
sub _list {
	my ($state, $kind, $q, $items) = @_;
	my $cols = $COLUMNS{$kind};
	if (defined $q->{limit}) {
		return _confd_error(400, "Input Error - field 'limit': wrong type. "
		    . 'Should be a positive number')
		    unless $q->{limit} =~ /^\d+$/ && $q->{limit} > 0;
	}
	if (defined $q->{offset}) {
		return _confd_error(400, "Input Error - field 'offset': wrong "
		    . 'type. Should be a positive number')
		    unless $q->{offset} =~ /^\d+$/;
	}
	my $dir = $q->{direction} // 'asc';
	return _confd_error(400, "Input Error - direction: must be 'asc' or "
	    . "'desc'") unless $dir eq 'asc' || $dir eq 'desc';
	my $order = $q->{order} // $cols->[0];
	return _confd_error(400, "Input Error - order: column '$order' was "
	    . 'not found') unless grep { $_ eq $order } @$cols;
	my @found = @$items;
	if (defined $q->{search} && length $q->{search}) {
		my $s = lc $q->{search};
		@found = grep {
			my $item = $_;
			grep { defined && index(lc, $s) >= 0 }
			    map { _column($state, $kind, $item, $_) } @$cols;
		} @found;
	}
	for my $f (@{ $FILTERS{$kind} }) {
		next unless defined $q->{$f};
		my $want = $q->{$f};
		@found = grep {
			my $v = _column($state, $kind, $_, $f);
			defined $v && "$v" eq $want;
		} @found;
	}
	@found = sort {
		_cmp(_column($state, $kind, $a, $order),
		    _column($state, $kind, $b, $order))
	} @found;
	@found = reverse @found if $dir eq 'desc';
	my $total = @found;
	my $offset = $q->{offset} // 0;
	@found = $offset < @found ? @found[$offset .. $#found] : ();
	splice @found, $q->{limit} if defined $q->{limit} && $q->{limit} < @found;
	return { total => $total, items => \@found };
}

sub _link {
	my ($url, $rel, $path) = @_;
	return [ { rel => $rel, href => "$url$CONFD/$path" } ];
}

sub _extension_ref {
	my ($url, $e) = @_;
	return { id => $e->{id} + 0, exten => $e->{exten},
	    context => $e->{context},
	    links => _link($url, 'extensions', "extensions/$e->{id}") };
}

# A destination as confd shows it (wazo-api.md 3.5): unset fields null,
# names added.
sub _destination_out {
	my ($state, $d) = @_;
	return $d unless ref $d eq 'HASH';
	my %d = %$d;
	my $t = $d{type} // '';
	if ($t eq 'queue') {
		$d{$_} //= undef for qw(ring_time skill_rule_id skill_rule_variables);
		my ($q) = grep { $_->{id} == $d{queue_id} } @{ $state->{queues} };
		$d{queue_label} = $q ? $q->{label} : undef;
	} elsif ($t eq 'hangup') {
		$d{timeout} //= undef if ($d{cause} // '') ne 'normal';
	} elsif ($t eq 'user') {
		$d{$_} //= undef for qw(ring_time moh_uuid);
	} elsif ($t eq 'voicemail') {
		$d{$_} //= undef for qw(skip_instructions greeting);
	}
	return \%d;
}

sub _incall_out {
	my ($state, $url, $i) = @_;
	my @ext = grep { ($_->{incall_id} // -1) == $i->{id} }
	    @{ $state->{extensions} };
	return {
		id => $i->{id} + 0,
		tenant_uuid => $i->{tenant_uuid},
		preprocess_subroutine => $i->{preprocess_subroutine},
		greeting_sound => $i->{greeting_sound},
		caller_id_mode => $i->{caller_id_mode},
		caller_id_name => $i->{caller_id_name},
		description => $i->{description},
		destination => _destination_out($state, $i->{destination}),
		links => _link($url, 'incalls', "incalls/$i->{id}"),
		extensions => [ map { _extension_ref($url, $_) } @ext ],
		schedules => [],
	};
}

sub _extension_out {
	my ($state, $url, $e) = @_;
	my $incall;
	if (defined $e->{incall_id}) {
		$incall = { id => $e->{incall_id} + 0,
		    links => _link($url, 'incalls', "incalls/$e->{incall_id}") };
	}
	my $queue;
	if (defined $e->{queue_id}) {
		my ($q) = grep { $_->{id} == $e->{queue_id} } @{ $state->{queues} };
		$queue = { id => $e->{queue_id} + 0,
		    name => $q ? $q->{name} : undef,
		    label => $q ? $q->{label} : undef,
		    links => _link($url, 'queues', "queues/$e->{queue_id}") };
	}
	return {
		id => $e->{id} + 0,
		tenant_uuid => $e->{tenant_uuid},
		exten => $e->{exten},
		context => $e->{context},
		commented => $e->{commented} ? JSON::PP::true : JSON::PP::false,
		enabled => $e->{enabled} ? JSON::PP::true : JSON::PP::false,
		links => _link($url, 'extensions', "extensions/$e->{id}"),
		incall => $incall,
		queue => $queue,
		group => undef, conference => undef, parking_lot => undef,
		outcall => undef, lines => [],
	};
}

my %DEST_REQUIRED = (
	user => ['user_id'], group => ['group_id'], queue => ['queue_id'],
	voicemail => ['voicemail_id'], extension => [qw(exten context)],
	ivr => ['ivr_id'], hangup => ['cause'], sound => ['filename'],
	custom => ['command'], application => ['application'],
	conference => ['conference_id'], outcall => [qw(outcall_id exten)],
	switchboard => ['switchboard_uuid'], none => [],
);

# Validates a destination; returns error strings (confd's "Input Error -
# destination: {...}" form, wording approximated).
sub _destination_errors {
	my ($state, $d) = @_;
	my $pre = 'Input Error - destination: ';
	return ("${pre}['Invalid input type.']") unless ref $d eq 'HASH';
	my $t = $d->{type};
	return ("${pre}{'type': ['Missing data for required field.']}")
	    unless defined $t;
	return ("${pre}{'type': ['Must be one of: "
	    . join(', ', sort keys %DEST_REQUIRED) . ".']}")
	    unless $DEST_REQUIRED{$t};
	for my $f (@{ $DEST_REQUIRED{$t} }) {
		return ("${pre}{'$f': ['Missing data for required field.']}")
		    unless defined $d->{$f};
	}
	if ($t eq 'custom') {
		my $c = $d->{command};
		return ("${pre}{'command': ['Not a valid string.']}") if ref $c;
		return ("${pre}{'command': ['Length must be between 1 and 255.']}")
		    if length $c < 1 || length $c > 255;
		return ("${pre}{'command': ['String does not match expected "
		    . "pattern.']}") unless $c =~ $CUSTOM_RE;
	} elsif ($t eq 'queue') {
		my $id = $d->{queue_id};
		return ("Input Error - field 'actionarg1': Queue was not found "
		    . "('id': $id)") unless $id =~ /^\d+$/
		    && grep { $_->{id} == $id } @{ $state->{queues} };
	} elsif ($t eq 'hangup') {
		return ("${pre}{'cause': ['Must be one of: busy, congestion, "
		    . "normal.']}") unless $d->{cause} =~ /^(normal|busy|congestion)$/;
	} elsif ($t eq 'extension') {
		return ("${pre}{'exten': ['String does not match expected "
		    . "pattern.']}") unless $d->{exten} =~ /^[0-9*#]{1,255}$/;
		return ("${pre}{'context': ['String does not match expected "
		    . "pattern.']}") unless $d->{context} =~ /^[a-zA-Z0-9_-]{1,79}$/;
	}
	return ();
}

my @INCALL_FIELDS = qw(preprocess_subroutine greeting_sound caller_id_mode
    caller_id_name description destination);

sub _incall_errors {
	my ($state, $in, $create) = @_;
	my @errors;
	if (exists $in->{destination} || $create) {
		push @errors, defined $in->{destination}
		    ? _destination_errors($state, $in->{destination})
		    : "Input Error - destination: ['Missing data for required "
		    . "field.']";
	}
	push @errors, "Input Error - preprocess_subroutine: ['Length must be "
	    . "between 0 and 79.']" if defined $in->{preprocess_subroutine}
	    && length $in->{preprocess_subroutine} > 79;
	push @errors, "Input Error - caller_id_mode: ['Must be one of: "
	    . "prepend, overwrite, append.']" if defined $in->{caller_id_mode}
	    && $in->{caller_id_mode} !~ /^(prepend|overwrite|append)$/;
	for my $f (qw(description greeting_sound caller_id_name
	    preprocess_subroutine)) {
		push @errors, "Input Error - $f: ['Not a valid string.']"
		    if ref $in->{$f};
	}
	return @errors;
}

sub _find {
	my ($list, $id) = @_;
	return undef unless defined $id && $id =~ /^\d+$/;
	my ($x) = grep { $_->{id} == $id } @$list;
	return $x;
}

sub _not_found {
	my ($what, $id) = @_;
	return _confd_error(404, "Resource Not Found - $what was not found "
	    . "('id': $id)");
}

sub _flask_404 {
	return _json_resp(404, { message => 'The requested URL was not found '
	    . 'on the server. If you entered the URL manually please check '
	    . 'your spelling and try again.' });
}

sub _flask_405 {
	return _json_resp(405, { message => 'The method is not allowed for '
	    . 'the requested URL.' });
}

# In an incall context's ranges (wazo-api.md 3.6 step 4); '_' patterns
# are not range-checked.
sub _in_range {
	my ($ctx, $exten) = @_;
	return 1 if $exten =~ /^_/;
	return 0 unless $exten =~ /^\d+$/;
	for my $r (@{ $ctx->{incall_ranges} // [] }) {
		my ($s, $e) = ($r->{start}, $r->{end});
		my $ge = length $exten <=> length $s || $exten cmp $s;
		my $le = length $exten <=> length $e || $exten cmp $e;
		return 1 if $ge >= 0 && $le <= 0;
	}
	return 0;
}

sub _confd {
	my ($self, $state, $req, $mode, $changed) = @_;
	my $path = substr($req->{path}, length $CONFD);
	$path =~ s{/+$}{};
	my $m = $req->{method};
	my $q = _query($req->{query});
	my $url = $self->url;

	# Route first (Flask answers an unknown path without auth).
	my @routes = (
	    [ qr{^/infos$}, { GET => 'infos' } ],
	    [ qr{^/(queues|agents|contexts)$}, { GET => 'list' } ],
	    [ qr{^/(queues|agents|contexts)/(\d+)$}, { GET => 'get' } ],
	    [ qr{^/incalls$}, { GET => 'incalls_list', POST => 'incall_create' } ],
	    [ qr{^/incalls/(\d+)$}, { GET => 'incall_get', PUT => 'incall_update',
	      DELETE => 'incall_delete' } ],
	    [ qr{^/incalls/(\d+)/extensions/(\d+)$},
	      { PUT => 'associate', DELETE => 'dissociate' } ],
	    [ qr{^/extensions$}, { GET => 'extensions_list',
	      POST => 'extension_create' } ],
	    [ qr{^/extensions/(\d+)$}, { GET => 'extension_get',
	      PUT => 'extension_update', DELETE => 'extension_delete' } ],
	);
	my ($op, @arg);
	for my $r (@routes) {
		my @c = $path =~ $r->[0] or next;
		$op = $r->[1]{$m} or return _flask_405();
		@arg = @c;
		last;
	}
	return _flask_404() unless $op;

	if (defined(my $why = _check_token($state, $req, $mode, 0))) {
		# str() of the auth exception: its raw arguments (wazo-api.md 4).
		my $token = $req->{headers}{'x-auth-token'};
		return _confd_error(401, defined $token
		    ? "('$token', 'confd." . join('.', grep { !/^\d+$/ }
		    split m{/}, substr($path, 1)) . '.'
		    . ($m eq 'GET' ? 'read' : $m eq 'POST' ? 'create'
		    : $m eq 'PUT' ? 'update' : 'delete') . "')" : '');
	}

	my $in;
	if (($m eq q{POST} || $m eq q{PUT}) && $op ne q{associate}) {
		$in = eval { $JSON->decode($req->{body}) };
		return _confd_error(400, 'Input Error - the request body is not '
		    . 'a JSON object') unless ref $in eq 'HASH';
	}
	my $tenant = $state->{config}{tenant};

	if ($op eq 'infos') {
		return _json_resp(200, { uuid => $state->{config}{xivo_uuid},
		    wazo_version => $state->{config}{wazo_version} });
	}
	if ($op eq 'list') {
		my $l = _list($state, $arg[0], $q, $state->{$arg[0]});
		return ref $l eq 'HASH' && exists $l->{status} ? $l
		    : _json_resp(200, $l);
	}
	if ($op eq 'get') {
		my ($kind, $id) = @arg;
		my $x = _find($state->{$kind}, $id);
		my %name = (queues => 'Queue', agents => 'Agent',
		    contexts => 'Context');
		return $x ? _json_resp(200, $x) : _not_found($name{$kind}, $id);
	}
	if ($op eq 'incalls_list') {
		my @out = map { _incall_out($state, $url, $_) }
		    @{ $state->{incalls} };
		my $l = _list($state, 'incalls', $q, \@out);
		return exists $l->{status} ? $l : _json_resp(200, $l);
	}
	if ($op eq 'incall_create') {
		my @errors = _incall_errors($state, $in, 1);
		return _confd_error(400, @errors) if @errors;
		my $id = $state->{next_id}{incall}++;
		my %i = (id => $id, tenant_uuid => $tenant,
		    map { $_ => $in->{$_} } @INCALL_FIELDS);
		push @{ $state->{incalls} }, \%i;
		$$changed = 1;
		return _json_resp(201, _incall_out($state, $url, \%i),
		    Location => "$url$CONFD/incalls/$id");
	}
	if ($op eq 'incall_get' || $op eq 'incall_update'
	    || $op eq 'incall_delete') {
		my $i = _find($state->{incalls}, $arg[0])
		    or return _not_found('Incall', $arg[0]);
		return _json_resp(200, _incall_out($state, $url, $i))
		    if $op eq 'incall_get';
		if ($op eq 'incall_update') {
			my @errors = _incall_errors($state, $in, 0);
			return _confd_error(400, @errors) if @errors;
			exists $in->{$_} and $i->{$_} = $in->{$_}
			    for @INCALL_FIELDS;
		} else {
			$state->{incalls} = [ grep { $_->{id} != $i->{id} }
			    @{ $state->{incalls} } ];
			for my $e (@{ $state->{extensions} }) {
				delete $e->{incall_id}
				    if ($e->{incall_id} // -1) == $i->{id};
			}
		}
		$$changed = 1;
		return _empty(204);
	}
	if ($op eq 'associate' || $op eq 'dissociate') {
		my $i = _find($state->{incalls}, $arg[0])
		    or return _not_found('Incall', $arg[0]);
		my $e = _find($state->{extensions}, $arg[1])
		    or return _not_found('Extension', $arg[1]);
		if ($op eq 'dissociate') {
			if (($e->{incall_id} // -1) == $i->{id}) {
				delete $e->{incall_id};
				$$changed = 1;
			}
			return _empty(204);
		}
		return _empty(204) if ($e->{incall_id} // -1) == $i->{id};
		return _confd_error(400, "Resource Error - Extension is already "
		    . "associated ('id': $e->{id}, 'incall_id': $e->{incall_id})")
		    if defined $e->{incall_id};
		return _confd_error(400, "Resource Error - Extension is already "
		    . "associated ('id': $e->{id}, 'queue_id': $e->{queue_id})")
		    if defined $e->{queue_id};
		my ($ctx) = grep { $_->{name} eq $e->{context} }
		    @{ $state->{contexts} };
		return _confd_error(400, "Resource Error - Context type is "
		    . "'$ctx->{type}' but should be 'incall' ('name': "
		    . "'$ctx->{name}')") if $ctx && $ctx->{type} ne 'incall';
		return _confd_error(400, "Input Error - Extension '$e->{exten}' "
		    . "is outside of range for context '$e->{context}'")
		    if $ctx && !_in_range($ctx, $e->{exten});
		$e->{incall_id} = $i->{id};
		$$changed = 1;
		return _empty(204);
	}
	if ($op eq 'extensions_list') {
		my @out = map { _extension_out($state, $url, $_) }
		    @{ $state->{extensions} };
		my $l = _list($state, 'extensions', $q, \@out);
		return exists $l->{status} ? $l : _json_resp(200, $l);
	}
	if ($op eq 'extension_create' || $op eq 'extension_update') {
		my $e;
		if ($op eq 'extension_update') {
			$e = _find($state->{extensions}, $arg[0])
			    or return _not_found('Extension', $arg[0]);
		}
		my @errors;
		my $exten = exists $in->{exten} ? $in->{exten} : $e && $e->{exten};
		my $context = exists $in->{context} ? $in->{context}
		    : $e && $e->{context};
		for ([ exten => $exten ], [ context => $context ]) {
			push @errors, "Input Error - $_->[0]: ['Missing data for "
			    . "required field.']" unless defined $_->[1];
		}
		push @errors, "Input Error - exten: ['String does not match "
		    . "expected pattern.']" if defined $exten
		    && (ref $exten || $exten !~ /^([0-9*#]{1,40}|_[-0-9*#A-Z\[\].!]{1,39})$/);
		return _confd_error(400, @errors) if @errors;
		my ($ctx) = grep { $_->{name} eq $context } @{ $state->{contexts} };
		return _confd_error(400, "Input Error - field 'context': Context "
		    . "was not found ('name': '$context')") unless $ctx;
		return _confd_error(400, "Resource Error - Extension already "
		    . "exists ('exten': '$exten', 'context': '$context')")
		    if grep { $_->{exten} eq $exten && $_->{context} eq $context
		    && (!$e || $_->{id} != $e->{id}) } @{ $state->{extensions} };
		$$changed = 1;
		if ($e) {
			@$e{qw(exten context)} = ($exten, $context);
			$e->{enabled} = $in->{enabled} ? 1 : 0 if exists $in->{enabled};
			return _empty(204);
		}
		my $id = $state->{next_id}{extension}++;
		$e = { id => $id, exten => $exten, context => $context,
		    commented => 0, enabled => exists $in->{enabled}
		    ? ($in->{enabled} ? 1 : 0) : 1, tenant_uuid => $tenant };
		push @{ $state->{extensions} }, $e;
		return _json_resp(201, _extension_out($state, $url, $e),
		    Location => "$url$CONFD/extensions/$id");
	}
	if ($op eq 'extension_get' || $op eq 'extension_delete') {
		my $e = _find($state->{extensions}, $arg[0])
		    or return _not_found('Extension', $arg[0]);
		return _json_resp(200, _extension_out($state, $url, $e))
		    if $op eq 'extension_get';
		return _confd_error(400, "Resource Error - Extension is "
		    . "associated with an Incall ('id': $e->{id}, 'incall_id': "
		    . "$e->{incall_id})") if defined $e->{incall_id};
		return _confd_error(400, "Resource Error - Extension is "
		    . "associated with a Queue ('id': $e->{id})")
		    if defined $e->{queue_id};
		$state->{extensions} = [ grep { $_->{id} != $e->{id} }
		    @{ $state->{extensions} } ];
		$$changed = 1;
		return _empty(204);
	}
	return _flask_404();
}

# --- wazo-amid -----------------------------------------------------------

sub _amid {
	my ($self, $state, $req, $mode, $changed) = @_;
	my $path = substr($req->{path}, length $AMID);
	my ($action) = $path =~ m{^/action/([A-Za-z0-9_]+)$}
	    or return _flask_404();
	return _flask_405() unless $req->{method} eq 'POST';
	if (defined(my $why = _check_token($state, $req, $mode, 1))) {
		return _rest_error(401, 'Unauthorized', 'unauthorized', {
		    invalid_token => $req->{headers}{'x-auth-token'},
		    reason => $why,
		    required_access => "amid.action.$action.create" });
	}
	my $in = length $req->{body} ? eval { $JSON->decode($req->{body}) }
	    : {};
	return _rest_error(400, 'Invalid body: not a JSON object',
	    'invalid-data') unless ref $in eq 'HASH';
	if ($action eq 'Command') {
		my $cmd = $in->{command};
		return _rest_error(400, "Missing field 'command'", 'invalid-data',
		    { command => ['Missing data for required field.'] })
		    unless defined $cmd && !ref $cmd;
		push @{ $state->{amid} }, { action => 'Command', body => $in,
		    time => time + 0 };
		$$changed = 1;
		my @lines = $cmd eq 'dialplan reload' ? ('Dialplan reloaded.')
		    : $cmd =~ /^core show version/ ? ('Asterisk 20.0.0 built by '
		    . 'fake-wazo') : ("No such command '$cmd' (type 'core show "
		    . "help $cmd' for other possible commands)");
		return _json_resp(200, { response => \@lines });
	}
	return _rest_error(501, "Action $action is not compatible with this "
	    . 'endpoint', 'incompatible-action', { action => $action })
	    if $action eq 'Queues';
	push @{ $state->{amid} }, { action => $action, body => $in,
	    time => time + 0 };
	$$changed = 1;
	my $msg = $action eq 'Reload' ? 'Module Reloaded.'
	    : "$action done (fake Wazo)";
	return _json_resp(200, [ { Response => 'Success', Message => $msg } ]);
}

1;
