package FakePolly;
# A fake Amazon Polly endpoint (../shared/tts-notes.md, section 3) for the
# tests: plain HTTP on 127.0.0.1 port 0, served by a forked child so the
# test process stays free to talk to ivrd while ivrd talks to the fake.
# It verifies SigV4 the way AWS does, answers SynthesizeSpeech with real
# (non-silent) s16le PCM and DescribeVoices with the standard voices, and
# records every request it was sent. Core Perl only.
#
#   my $polly = FakePolly->start(access_key => 'AKIDTEST',
#       secret_key => 'secret', region => 'us-east-1', token => undef);
#   $polly->url;              # http://127.0.0.1:PORT
#   $polly->mode('throttle'); # ok fail throttle hang refuse-signature
#   $polly->requests;         # [ { method, path, query, headers, body,
#                             #     json, signature_ok, signature_error,
#                             #     status, error, mode, time }, ... ]
#   $polly->stop;
#
# State crosses the process boundary through files in a temp dir: the
# test writes "mode" (atomically, by rename), the server re-reads it on
# every request and appends one JSON line per request to requests.jsonl.
# Each connection is served by its own forked process, so a request held
# by 'hang' never blocks the next one.
#
# The signing math is exposed as plain functions (canonical_request,
# string_to_sign, signing_key, signature, authorization, verify) so that
# t/fake-polly.t can check it against AWS's published test vectors and
# tests can sign requests of their own.
use strict;
use FakeHTTP;
use warnings;
use Carp qw(croak);
use Digest::SHA qw(hmac_sha256 hmac_sha256_hex sha256_hex);
use Fcntl qw(:flock);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::IP;
use JSON::PP;
use MIME::Base64 qw(encode_base64 decode_base64);
use POSIX qw(WNOHANG strftime);
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);

my $JSON = JSON::PP->new->utf8->canonical;

our @MODES = qw(ok fail throttle hang refuse-signature);
our @ISA = qw(FakeHTTP);
sub name { 'fake Polly' }
sub modes { @MODES }

# The standard voices of tts-notes.md section 3; Polly calls zh-CN cmn-CN.
my @VOICE_TABLE = (
    [ 'en-US', 'US English', Female => qw(Ivy Joanna Kendra Kimberly Salli) ],
    [ 'en-US', 'US English', Male => qw(Joey Justin Matthew) ],
    [ 'en-GB', 'British English', Female => qw(Amy Emma) ],
    [ 'en-GB', 'British English', Male => qw(Brian) ],
    [ 'es-ES', 'Castilian Spanish', Female => qw(Conchita Lucia) ],
    [ 'es-ES', 'Castilian Spanish', Male => qw(Enrique) ],
    [ 'es-US', 'US Spanish', Female => qw(Lupe Penelope) ],
    [ 'es-US', 'US Spanish', Male => qw(Miguel) ],
    [ 'fr-FR', 'French', Female => qw(Celine Lea) ],
    [ 'fr-FR', 'French', Male => qw(Mathieu) ],
    [ 'de-DE', 'German', Female => qw(Marlene Vicki) ],
    [ 'de-DE', 'German', Male => qw(Hans) ],
    [ 'it-IT', 'Italian', Female => qw(Carla Bianca) ],
    [ 'it-IT', 'Italian', Male => qw(Giorgio) ],
    [ 'pt-BR', 'Brazilian Portuguese', Female => qw(Camila Vitoria) ],
    [ 'pt-BR', 'Brazilian Portuguese', Male => qw(Ricardo) ],
    [ 'ja-JP', 'Japanese', Female => qw(Mizuki) ],
    [ 'ja-JP', 'Japanese', Male => qw(Takumi) ],
    [ 'ko-KR', 'Korean', Female => qw(Seoyeon) ],
    [ 'cmn-CN', 'Chinese Mandarin', Female => qw(Zhiyu) ],
    [ 'ru-RU', 'Russian', Female => qw(Tatyana) ],
    [ 'ru-RU', 'Russian', Male => qw(Maxim) ],
);
our @VOICES = map {
	my ($lang, $lname, $gender, @ids) = @$_;
	map { { Gender => $gender, Id => $_, LanguageCode => $lang,
	    LanguageName => $lname, Name => $_, AdditionalLanguageCodes => [],
	    SupportedEngines => ['standard'] } } @ids;
} @VOICE_TABLE;
my %VOICE = map { $_->{Id} => $_ } @VOICES;

# Enums from botocore's Polly model: a value outside them is a
# ValidationException at Polly (zh-CN is one).
my %LANGUAGE_CODES = map { $_ => 1 } qw(arb cmn-CN cy-GB da-DK de-DE en-AU
    en-GB en-GB-WLS en-IN en-US es-ES es-MX es-US fr-CA fr-FR is-IS it-IT
    ja-JP hi-IN ko-KR nb-NO nl-NL pl-PL pt-BR pt-PT ro-RO ru-RU sv-SE tr-TR
    en-NZ en-ZA ca-ES de-AT yue-CN ar-AE fi-FI en-IE nl-BE fr-BE cs-CZ de-CH
    en-SG);
my %OUTPUT_FORMATS = map { $_ => 1 } qw(json mp3 ogg_opus ogg_vorbis pcm
    mulaw alaw);
my %ENGINES = map { $_ => 1 } qw(standard neural long-form generative);

my $URI_CORAL = 'http://internal.amazon.com/coral/com.amazon.coral.service/';
my $URI_VALIDATE = 'http://internal.amazon.com/coral/com.amazon.coral.validate/';
my $URI_AVAIL = 'http://internal.amazon.com/coral/com.amazon.coral.availability/';
my $URI_POLLY = 'http://internal.amazon.com/coral/com.amazonaws.polly/';

my $MISMATCH = 'The request signature we calculated does not match the '
    . 'signature you provided. Check your AWS Secret Access Key and signing '
    . 'method. Consult the service documentation for details.';

# --- the test-side object ---------------------------------------------

# Options: access_key, secret_key, region, token (undef: none expected),
# mode (initial, default 'ok').
sub start {
	my ($class, %o) = @_;
	my $self = bless {
		access_key => 'AKIDTEST',
		secret_key => 'secret',
		region => 'us-east-1',
		token => undef,
		%o,
	}, $class;
	$self->{dir} = tempdir('fake-polly-XXXXXX', TMPDIR => 1,
	    CLEANUP => !$ENV{IVRD_KEEP});
	$self->mode(delete $self->{mode} // 'ok');
	open my $log, '>', "$self->{dir}/requests.jsonl"
	    or croak "requests.jsonl: $!";
	close $log;

	return $self->_spawn;
}







# --- SigV4, as AWS computes it -------------------------------------------

# URI-encodes as SigV4 wants: unreserved characters kept, every other
# byte %XX with uppercase hex.
sub uri_encode {
	my ($s) = @_;
	utf8::encode($s) if utf8::is_utf8($s);
	$s =~ s/([^A-Za-z0-9\-_.~])/sprintf('%%%02X', ord $1)/ge;
	return $s;
}

sub uri_decode {
	my ($s) = @_;
	$s =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
	return $s;
}

# The path as sent on the wire, each segment encoded once more, as AWS
# does for every service but S3 (botocore quotes the wire path too).
sub canonical_uri {
	my ($path) = @_;
	return '/' if !defined $path || $path eq '';
	return join '/', map { uri_encode($_) } split m{/}, $path, -1;
}

# The raw query string: parameters decoded, re-encoded, sorted by name
# then value.
sub canonical_query {
	my ($query) = @_;
	return '' if !defined $query || $query eq '';
	my @pairs;
	for my $param (split /&/, $query) {
		next if $param eq '';
		my ($name, $value) = split /=/, $param, 2;
		push @pairs, [ uri_encode(uri_decode($name)),
		    uri_encode(uri_decode($value // '')) ];
	}
	return join '&', map { "$_->[0]=$_->[1]" }
	    sort { $a->[0] cmp $b->[0] || $a->[1] cmp $b->[1] } @pairs;
}

sub _signed_list {
	my ($signed) = @_;
	return ref $signed ? [ map { lc } @$signed ]
	    : [ map { lc } split /;/, $signed ];
}

# canonical_request(method, path, query, headers => { lc name => value },
#     signed_headers => 'a;b' or [a, b], body => BYTES)
sub canonical_request {
	my (%p) = @_;
	my $signed = _signed_list($p{signed_headers});
	my $headers = '';
	for my $name (@$signed) {
		my $value = $p{headers}{$name} // '';
		$value =~ s/^\s+|\s+$//g;
		$value =~ s/\s+/ /g;
		$headers .= "$name:$value\n";
	}
	my $body = $p{body} // '';
	utf8::encode($body) if utf8::is_utf8($body);
	return join "\n", uc $p{method}, canonical_uri($p{path}),
	    canonical_query($p{query}), $headers, join(';', @$signed),
	    $p{payload_hash} // sha256_hex($body);
}

sub string_to_sign {
	my ($amz_date, $scope, $canonical) = @_;
	return "AWS4-HMAC-SHA256\n$amz_date\n$scope\n" . sha256_hex($canonical);
}

sub signing_key {
	my ($secret, $date, $region, $service) = @_;
	my $k = hmac_sha256($date, "AWS4$secret");
	$k = hmac_sha256($region, $k);
	$k = hmac_sha256($service, $k);
	return hmac_sha256('aws4_request', $k);
}

# signature(%canonical_request_parts, secret_key, region, service,
#     amz_date) -> hex; in list context (hex, canonical, string to sign).
sub signature {
	my (%p) = @_;
	my $date = substr($p{amz_date}, 0, 8);
	my $service = $p{service} // 'polly';
	my $canonical = canonical_request(%p);
	my $sts = string_to_sign($p{amz_date},
	    "$date/$p{region}/$service/aws4_request", $canonical);
	my $sig = hmac_sha256_hex($sts,
	    signing_key($p{secret_key}, $date, $p{region}, $service));
	return wantarray ? ($sig, $canonical, $sts) : $sig;
}

# The Authorization header value for the same parts plus access_key.
sub authorization {
	my (%p) = @_;
	my $signed = join ';', @{ _signed_list($p{signed_headers}) };
	my $date = substr($p{amz_date}, 0, 8);
	my $service = $p{service} // 'polly';
	return "AWS4-HMAC-SHA256 Credential=$p{access_key}/$date/$p{region}/"
	    . "$service/aws4_request, SignedHeaders=$signed, Signature="
	    . signature(%p);
}

sub amz_date { strftime('%Y%m%dT%H%M%SZ', gmtime($_[0] // time)) }

# verify(request => { method, path, query, headers, body }, access_key,
#     secret_key, region, service, token, now)
# -> { ok => 1 } or { ok => 0, error => why (for the log),
#     code => AWS error type, message => what AWS would answer }
sub verify {
	my (%a) = @_;
	my $req = $a{request};
	my $h = $req->{headers};
	my $service = $a{service} // 'polly';
	my $now = $a{now} // time;
	my $fail = sub {
		my ($code, $error, $message) = @_;
		return { ok => 0, code => $code, error => $error,
		    message => $message // $error };
	};

	my $auth = $h->{authorization};
	return $fail->('MissingAuthenticationTokenException',
	    'no Authorization header', 'Missing Authentication Token')
	    unless defined $auth;
	my ($params) = $auth =~ /^AWS4-HMAC-SHA256\s+(.*)$/s
	    or return $fail->('IncompleteSignatureException',
	    "Authorization is not AWS4-HMAC-SHA256: '$auth'");
	my %p;
	for (split /\s*,\s*/, $params) {
		my ($k, $v) = split /=/, $_, 2;
		$p{$k} = $v;
	}
	for my $k (qw(Credential SignedHeaders Signature)) {
		return $fail->('IncompleteSignatureException',
		    "Authorization header requires '$k' parameter. "
		    . "Authorization=$auth") unless defined $p{$k};
	}
	my ($akid, $date, $region, $svc, $term, @rest) = split m{/},
	    $p{Credential}, -1;
	return $fail->('IncompleteSignatureException',
	    "Credential '$p{Credential}' is not AKID/DATE/REGION/SERVICE/"
	    . 'aws4_request') if @rest || !defined $term;
	return $fail->('UnrecognizedClientException',
	    "unknown access key id '$akid'",
	    'The security token included in the request is invalid.')
	    unless $akid eq $a{access_key};
	return $fail->('InvalidSignatureException',
	    "Credential should be scoped with a valid terminator: "
	    . "'aws4_request', not '$term'.") unless $term eq 'aws4_request';
	return $fail->('InvalidSignatureException',
	    "Credential should be scoped to correct service: '$service'.")
	    unless $svc eq $service;
	return $fail->('InvalidSignatureException',
	    "Credential should be scoped to a valid region, not '$region'.")
	    unless $region eq $a{region};

	my $amz_date = $h->{'x-amz-date'};
	return $fail->('IncompleteSignatureException',
	    "Authorization header requires existence of either a "
	    . "'X-Amz-Date' or a 'Date' header.") unless defined $amz_date;
	my @t = $amz_date =~ /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/
	    or return $fail->('IncompleteSignatureException',
	    "X-Amz-Date '$amz_date' is not YYYYMMDDTHHMMSSZ");
	return $fail->('InvalidSignatureException',
	    "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
	    . "version of date from HTTP: '$date' != '"
	    . substr($amz_date, 0, 8) . "', from '$amz_date'.")
	    unless $date eq substr($amz_date, 0, 8);
	my $when = eval { timegm($t[5], $t[4], $t[3], $t[2], $t[1] - 1, $t[0]) }
	    // return $fail->('IncompleteSignatureException',
	    "X-Amz-Date '$amz_date' is not a date");
	return $fail->('InvalidSignatureException',
	    "Signature expired: $amz_date is now earlier than "
	    . amz_date($now - 300) . ' (' . amz_date($now) . ' - 5 min.)')
	    if $when < $now - 300;
	return $fail->('InvalidSignatureException',
	    "Signature not yet current: $amz_date is still later than "
	    . amz_date($now + 300) . ' (' . amz_date($now) . ' + 5 min.)')
	    if $when > $now + 300;

	my @signed = split /;/, $p{SignedHeaders};
	my %signed = map { $_ => 1 } @signed;
	return $fail->('IncompleteSignatureException',
	    "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
	    . 'Authorization.') unless $signed{host};
	return $fail->('IncompleteSignatureException',
	    "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")
	    unless $signed{'x-amz-date'};
	my $token = $h->{'x-amz-security-token'};
	if (defined $a{token}) {
		return $fail->('UnrecognizedClientException',
		    defined $token ? "wrong X-Amz-Security-Token '$token'"
		    : 'no X-Amz-Security-Token header',
		    'The security token included in the request is invalid.')
		    unless defined $token && $token eq $a{token};
		return $fail->('IncompleteSignatureException',
		    "'X-Amz-Security-Token' must be a 'SignedHeader' in the "
		    . 'AWS Authorization.') unless $signed{'x-amz-security-token'};
	} elsif (defined $token) {
		return $fail->('UnrecognizedClientException',
		    "X-Amz-Security-Token sent but none expected",
		    'The security token included in the request is invalid.');
	}
	# curl 7.88 signs "expect:" for a removed Expect header it never
	# sends; AWS rejects that, so must the fake.
	my @absent = grep { !exists $h->{$_} } @signed;
	return $fail->('InvalidSignatureException',
	    'signed but not sent: ' . join(', ', @absent), $MISMATCH) if @absent;

	my ($sig, $canonical, $sts) = signature(
	    method => $req->{method}, path => $req->{path},
	    query => $req->{query}, headers => $h,
	    signed_headers => \@signed, body => $req->{body},
	    secret_key => $a{secret_key}, region => $a{region},
	    service => $service, amz_date => $amz_date);
	return { ok => 1 } if lc $p{Signature} eq $sig;
	return $fail->('InvalidSignatureException',
	    "signature mismatch; canonical request:\n$canonical\nstring to sign:\n$sts",
	    "$MISMATCH\n\nThe Canonical String for this request should have "
	    . "been\n'$canonical'\n\nThe String-to-Sign should have been\n"
	    . "'$sts'\n");
}

# --- the server (child processes) ---------------------------------------



sub _connection {
	my ($self, $conn, $server) = @_;
	my $req = _read_request($conn) or return;
	my $check = verify(request => $req, access_key => $self->{access_key},
	    secret_key => $self->{secret_key}, region => $self->{region},
	    token => $self->{token});
	my $mode = FakeHTTP::_read_mode($self->{dir});
	my $resp = $self->_answer($req, $mode, $check);
	$self->_log({ %$req, body_b64 => encode_base64($req->{body}, ''),
	    body => undef, signature_ok => $check->{ok} ? 1 : 0,
	    signature_error => $check->{error}, mode => $mode,
	    status => $resp ? $resp->{status} : undef,
	    error => $resp ? $resp->{error} : undef, time => time });
	# 'hang': nothing until the mode changes.
	$resp //= $self->_hold($conn, $server,
	    sub { $self->_answer($req, $_[0], $check) }) or return;
	_send($conn, $resp);
}


# One HTTP/1.1 request, read by the reader both fakes share.
sub _read_request { FakeHTTP::read_request(@_) }

sub _send {
	my ($conn, $resp) = @_;
	my $body = $resp->{body} // '';
	my @h = (@{ $resp->{headers} },
	    Date => strftime('%a, %d %b %Y %H:%M:%S GMT', gmtime),
	    Connection => 'close');
	if ($resp->{chunked}) {
		# Polly streams the audio: no Content-Length.
		push @h, 'Transfer-Encoding' => 'chunked';
		my $chunked = '';
		for (my $off = 0; $off < length $body; $off += 8192) {
			my $piece = substr($body, $off, 8192);
			$chunked .= sprintf("%x\r\n", length $piece) . "$piece\r\n";
		}
		$body = "${chunked}0\r\n\r\n";
	} else {
		push @h, 'Content-Length' => length $body;
	}
	my $out = "HTTP/1.1 $resp->{status} $resp->{reason}\r\n";
	while (my ($k, $v) = splice @h, 0, 2) {
		$out .= "$k: $v\r\n";
	}
	$out .= "\r\n$body";
	while (length $out) {
		my $n = syswrite $conn, $out;
		return unless $n;
		substr($out, 0, $n, '');
	}
	shutdown $conn, 1;
	close $conn;
}

my %REASON = (200 => 'OK', 400 => 'Bad Request', 403 => 'Forbidden',
    404 => 'Not Found', 500 => 'Internal Server Error');

sub _request_id { FakeHTTP::uuid() }

sub _error {
	my ($status, $code, $message, $uri) = @_;
	$uri //= $status == 403 ? $URI_CORAL : $URI_POLLY;
	return { status => $status, reason => $REASON{$status},
	    error => $code, headers => [
		'x-amzn-RequestId' => _request_id(),
		'x-amzn-ErrorType' => "$code:$uri",
		'Content-Type' => 'application/json',
	    ], body => $JSON->encode({ message => $message }) };
}

sub _validation {
	my (@errors) = @_;
	my $n = @errors;
	return _error(400, 'ValidationException',
	    "$n validation error" . ($n > 1 ? 's' : '') . ' detected: '
	    . join('; ', @errors), $URI_VALIDATE);
}

# The answer to a request in a mode; undef means hold it ('hang').
sub _answer {
	my ($self, $req, $mode, $check) = @_;
	return undef if $mode eq 'hang';
	my $op = $req->{method} eq 'POST' && $req->{path} eq '/v1/speech'
	    ? \&_synthesize_speech
	    : $req->{method} eq 'GET' && $req->{path} eq '/v1/voices'
	    ? \&_describe_voices : undef;
	return _error(404, 'UnknownOperationException', 'not found',
	    $URI_CORAL) unless $op;
	return _error(403, $check->{code}, $check->{message}, $URI_CORAL)
	    unless $check->{ok};
	return _error(403, 'InvalidSignatureException', $MISMATCH, $URI_CORAL)
	    if $mode eq 'refuse-signature';
	return _error(500, 'ServiceFailureException',
	    'Service encountered an error (fake Polly, mode fail)')
	    if $mode eq 'fail';
	return _error(400, 'ThrottlingException', 'Rate exceeded', $URI_AVAIL)
	    if $mode eq 'throttle';
	return $op->($req);
}

sub _is_number {
	my ($ref) = @_;
	require B;
	my $flags = B::svref_2object($ref)->FLAGS;
	return ($flags & (B::SVf_IOK() | B::SVf_NOK()))
	    && !($flags & B::SVf_POK());
}

sub _synthesize_speech {
	my ($req) = @_;
	my $in = eval { $JSON->decode($req->{body}) };
	return _error(400, 'SerializationException',
	    'Start of structure or map found where not expected.')
	    unless ref $in eq 'HASH';
	# First, before anything stringifies it.
	return _error(400, 'InvalidSampleRateException',
	    "SampleRate must be a string such as \"8000\", not the number "
	    . $in->{SampleRate}) if defined $in->{SampleRate}
	    && _is_number(\$in->{SampleRate});

	my @errors;
	for ([ Text => 'text' ], [ VoiceId => 'voiceId' ],
	    [ OutputFormat => 'outputFormat' ]) {
		my ($key, $member) = @$_;
		push @errors, "Value null at '$member' failed to satisfy "
		    . 'constraint: Member must not be null'
		    unless defined $in->{$key};
	}
	my $voice = $in->{VoiceId};
	push @errors, "Value '$voice' at 'voiceId' failed to satisfy "
	    . 'constraint: Member must satisfy enum value set: ['
	    . join(', ', sort keys %VOICE) . '] (the standard voices of the '
	    . 'fake)' if defined $voice && !$VOICE{$voice};
	my $format = $in->{OutputFormat};
	push @errors, "Value '$format' at 'outputFormat' failed to satisfy "
	    . 'constraint: Member must satisfy enum value set: ['
	    . join(', ', sort keys %OUTPUT_FORMATS) . ']'
	    if defined $format && !$OUTPUT_FORMATS{$format};
	my $type = $in->{TextType} // 'text';
	push @errors, "Value '$type' at 'textType' failed to satisfy "
	    . 'constraint: Member must satisfy enum value set: [ssml, text]'
	    unless $type eq 'text' || $type eq 'ssml';
	my $engine = $in->{Engine};
	push @errors, "Value '$engine' at 'engine' failed to satisfy "
	    . 'constraint: Member must satisfy enum value set: ['
	    . join(', ', sort keys %ENGINES) . ']'
	    if defined $engine && !$ENGINES{$engine};
	my $lang = $in->{LanguageCode};
	push @errors, "Value '$lang' at 'languageCode' failed to satisfy "
	    . 'constraint: Member must satisfy enum value set: ['
	    . join(', ', sort keys %LANGUAGE_CODES) . ']'
	    if defined $lang && !$LANGUAGE_CODES{$lang};
	return _validation(@errors) if @errors;
	return _validation("Value '$format' at 'outputFormat': this fake "
	    . 'Polly only produces pcm') unless $format eq 'pcm';
	return _error(400, 'EngineNotSupportedException',
	    "This voice does not support the selected engine: $engine")
	    if defined $engine && $engine ne 'standard';

	my $rate = $in->{SampleRate} // '16000';
	return _error(400, 'InvalidSampleRateException',
	    "Sample rate $rate is not valid for pcm (\"8000\" or \"16000\")")
	    unless $rate eq '8000' || $rate eq '16000';

	my $text = $in->{Text};
	return _validation("Value at 'text' must be a string")
	    if ref $text || _is_number(\$in->{Text});
	my $billed = $text;
	if ($type eq 'ssml') {
		return _error(400, 'InvalidSsmlException', 'Invalid SSML request')
		    unless _ssml_ok($text);
		$billed =~ s/<[^>]*>//g;
		$billed =~ s/&(?:#\d+|#x[0-9A-Fa-f]+|\w+);/x/g;
	}
	my $chars = length $billed;
	return _error(400, 'TextLengthExceededException',
	    'Maximum text length has been exceeded')
	    if $chars > 3000 || length $text > 6000;

	return { status => 200, reason => 'OK', chunked => 1, headers => [
		'x-amzn-RequestId' => _request_id(),
		'x-amzn-RequestCharacters' => $chars,
		'Content-Type' => 'audio/pcm',
	    ], body => pcm($rate, $chars) };
}

# The audio for n characters: 60 ms each, 0.3 s to 10 s, a 440 Hz sine
# at amplitude 8000, s16le mono.
sub pcm {
	my ($rate, $chars) = @_;
	my $seconds = 0.06 * $chars;
	$seconds = 0.3 if $seconds < 0.3;
	$seconds = 10 if $seconds > 10;
	my $n = int($rate * $seconds + 0.5);
	my $w = 2 * 3.14159265358979 * 440 / $rate;
	return pack 's<*', map { int(8000 * sin($w * $_)) } 0 .. $n - 1;
}

# Well-formed enough for Polly: one <speak> root, tags that nest and
# close, no stray '<' or '&'.
sub _ssml_ok {
	my ($text) = @_;
	$text =~ s/^\s+|\s+$//g;
	return 0 unless $text =~ /^<speak[\s>]/ && $text =~ m{</speak>$};
	my @open;
	my $root_closed;
	while (length $text) {
		if ($text =~ s/^<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>//) {
			my ($close, $name, $self_close) = ($1, $2, $4);
			return 0 if $root_closed;
			if ($close) {
				return 0 if $self_close || !@open
				    || pop(@open) ne $name;
				$root_closed = 1 unless @open;
			} elsif (!$self_close) {
				push @open, $name;
			}
		} elsif ($text =~ s/^<!--.*?-->//s) {
		} elsif ($text =~ s/^&(?:\w+|#\d+|#x[0-9A-Fa-f]+);//) {
		} elsif ($text =~ s/^[^<&]+//) {
			return 0 if $root_closed && $& =~ /\S/;
		} else {
			return 0;
		}
	}
	return !@open && $root_closed;
}

sub _describe_voices {
	my ($req) = @_;
	my %q;
	for (split /&/, $req->{query}) {
		my ($k, $v) = split /=/, $_, 2;
		$q{uri_decode($k)} = uri_decode($v // '');
	}
	my @errors;
	push @errors, "Value '$q{LanguageCode}' at 'languageCode' failed to "
	    . 'satisfy constraint: Member must satisfy enum value set: ['
	    . join(', ', sort keys %LANGUAGE_CODES) . ']'
	    if defined $q{LanguageCode} && !$LANGUAGE_CODES{$q{LanguageCode}};
	push @errors, "Value '$q{Engine}' at 'engine' failed to satisfy "
	    . 'constraint: Member must satisfy enum value set: ['
	    . join(', ', sort keys %ENGINES) . ']'
	    if defined $q{Engine} && !$ENGINES{$q{Engine}};
	return _validation(@errors) if @errors;
	# The fake never hands out a NextToken: all voices fit one page.
	return _error(400, 'InvalidNextTokenException',
	    'The NextToken is invalid') if defined $q{NextToken};
	my @voices = grep {
		(!defined $q{LanguageCode} || $_->{LanguageCode} eq $q{LanguageCode})
		    && (!defined $q{Engine} || $q{Engine} eq 'standard')
	} @VOICES;
	return { status => 200, reason => 'OK', headers => [
		'x-amzn-RequestId' => _request_id(),
		'Content-Type' => 'application/json',
	    ], body => $JSON->encode({ Voices => \@voices }) };
}

1;
