#!/usr/bin/perl
# The fake Amazon Polly itself (t/lib/FakePolly.pm), so that the tests
# built on it can be trusted: its SigV4 math against AWS's published test
# vectors and against botocore, then the running fake against curl's own
# SigV4 signing (libcurl 7.88, what ivrd uses) and its modes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use FakePolly;
use HTTP::Tiny;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);

my $JSON = JSON::PP->new->utf8->canonical;
my $tmp = tempdir('fake-polly-t-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# --- (a) the signing math: AWS's aws-sig-v4-test-suite vectors ---------
# Credentials, region and service of the suite; the expected signatures
# were also recomputed with botocore's SigV4Auth.
my %SUITE = (access_key => 'AKIDEXAMPLE',
    secret_key => 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    region => 'us-east-1', service => 'service',
    amz_date => '20150830T123600Z');
my %host = (host => 'example.amazonaws.com',
    'x-amz-date' => '20150830T123600Z');
my @vectors = (
    [ 'get-vanilla', { method => 'GET', path => '/', query => '',
      headers => {%host}, signed_headers => 'host;x-amz-date' },
      '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31' ],
    [ 'post-vanilla', { method => 'POST', path => '/', query => '',
      headers => {%host}, signed_headers => 'host;x-amz-date' },
      '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b' ],
    [ 'get-vanilla-query-order-key-case', { method => 'GET', path => '/',
      query => 'Param2=value2&Param1=value1', headers => {%host},
      signed_headers => 'host;x-amz-date' },
      'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500' ],
    [ 'post-x-www-form-urlencoded', { method => 'POST', path => '/',
      query => '', body => 'Param1=value1', headers => { %host,
      'content-type' => 'application/x-www-form-urlencoded' },
      signed_headers => 'content-type;host;x-amz-date' },
      'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a' ],
    [ 'get-header-value-trim', { method => 'GET', path => '/', query => '',
      headers => { %host, 'my-header1' => ' value1',
      'my-header2' => ' "a   b   c"' },
      signed_headers => 'host;my-header1;my-header2;x-amz-date' },
      'acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736' ],
);
for my $v (@vectors) {
	my ($name, $parts, $want) = @$v;
	is(scalar FakePolly::signature(%SUITE, %$parts), $want,
	    "SigV4 test vector $name");
}
{
	my %gv = (%SUITE, %{ $vectors[0][1] });
	is(FakePolly::canonical_request(%gv), join("\n", 'GET', '/', '',
	    'host:example.amazonaws.com', 'x-amz-date:20150830T123600Z', '',
	    'host;x-amz-date',
	    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'),
	    'get-vanilla: the canonical request');
	is(FakePolly::string_to_sign('20150830T123600Z',
	    '20150830/us-east-1/service/aws4_request',
	    FakePolly::canonical_request(%gv)), "AWS4-HMAC-SHA256\n"
	    . "20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
	    . 'bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63',
	    'get-vanilla: the string to sign');

	# verify() on the whole get-vanilla request, at its own time.
	my $now = timegm(0, 36, 12, 30, 7, 2015);
	my %req = (method => 'GET', path => '/', query => '', body => '',
	    headers => { %host, authorization => 'AWS4-HMAC-SHA256 '
	    . 'Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, '
	    . 'SignedHeaders=host;x-amz-date, Signature='
	    . '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31' });
	my %cred = (access_key => $SUITE{access_key},
	    secret_key => $SUITE{secret_key}, region => 'us-east-1',
	    service => 'service');
	my $ok = FakePolly::verify(%cred, request => \%req, now => $now);
	ok($ok->{ok}, 'verify() accepts the get-vanilla request')
	    or diag($ok->{error});
	my $late = FakePolly::verify(%cred, request => \%req,
	    now => $now + 301);
	like($late->{error}, qr/^Signature expired: 20150830T123600Z/,
	    'verify(): more than 5 minutes later the signature has expired');
	my $polly = FakePolly::verify(%cred, service => 'polly',
	    request => \%req, now => $now);
	is($polly->{code}, 'InvalidSignatureException',
	    'verify(): a credential scoped to another service is refused');
	like($polly->{error}, qr/scoped to correct service: 'polly'/,
	    'verify(): and the message says so');
	local $req{query} = 'a=b';
	my $bad = FakePolly::verify(%cred, request => \%req, now => $now);
	ok(!$bad->{ok}, 'verify(): an unsigned query parameter breaks it');
	like($bad->{message}, qr/^The request signature we calculated does not match/,
	    'verify(): with the message AWS gives');
}

# --- the fake, driven by curl's SigV4 signing (libcurl 7.88) -------------
my $polly = FakePolly->start(access_key => 'AKIDTEST', secret_key => 'secret',
    region => 'us-east-1', token => undef);
like($polly->url, qr{^http://127\.0\.0\.1:\d+$}, 'url is http://127.0.0.1:PORT');
is($polly->mode, 'ok', 'the fake starts in mode ok');
my $url = $polly->url;
my $speech = "$url/v1/speech";
my @sign = ('--aws-sigv4', 'aws:amz:us-east-1:polly',
    '--user', 'AKIDTEST:secret');
my @json_type = ('-H', 'Content-Type: application/json');

my $has_curl = (`curl --version 2>/dev/null` // '') =~ /^curl (\d+)\.(\d+)/;
my $old_curl = $has_curl && `curl --version` =~ /^curl (\d+)\.(\d+)/
    && ($1 < 8 || ($1 == 8 && $2 < 3));

my $curls = 0;

# Runs curl; returns { status, exit, headers (lowercase), body, json,
# elapsed, stderr }.
sub curl {
	my (@args) = @_;
	my $n = ++$curls;
	my ($hfile, $bfile, $efile) = map { "$tmp/curl$$-$n.$_" } qw(h b e);
	my $t0 = time;
	my $pid = open(my $out, '-|') // die "fork: $!";
	if ($pid == 0) {
		open STDERR, '>', $efile;
		{ exec 'curl', '-sS', '-D', $hfile, '-o', $bfile,
		    '-w', '%{http_code}', @args }
		POSIX::_exit(127);
	}
	my $code = do { local $/; <$out> } // '';
	close $out;
	my %r = (exit => $? >> 8, status => $code + 0, elapsed => time - $t0,
	    body => slurp($bfile), stderr => slurp($efile), headers => {});
	# The last response block (a 100 Continue may precede it).
	my @blocks = split /\r\n\r\n/, slurp($hfile);
	for (split /\r\n/, $blocks[-1] // '') {
		$r{headers}{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
	}
	$r{json} = eval { $JSON->decode($r{body}) };
	return \%r;
}

sub slurp {
	open my $fh, '<', $_[0] or return '';
	local $/;
	return scalar <$fh>;
}

sub speak {
	my ($body, @more) = @_;
	$body = $JSON->encode($body) if ref $body;
	return curl(@sign, @json_type, @more, '--data-binary', $body, $speech);
}

sub last_request { $polly->requests->[-1] }

sub error_type {
	my ($r) = @_;
	return (split /:/, $r->{headers}{'x-amzn-errortype'} // '')[0] // '';
}

# RMS of s16le samples.
sub rms {
	my @s = unpack 's<*', $_[0];
	return 0 unless @s;
	my $sum = 0;
	$sum += $_ * $_ for @s;
	return sqrt($sum / @s);
}

SKIP: {
	skip 'curl is not installed', 1 unless $has_curl;

	# SynthesizeSpeech, signed by curl.
	my $hello = { Text => 'Hello', VoiceId => 'Joanna',
	    OutputFormat => 'pcm', SampleRate => '8000' };
	my $r = speak($hello);
	is($r->{status}, 200, 'curl-signed SynthesizeSpeech: 200')
	    or diag($r->{body}, $r->{stderr});
	is($r->{headers}{'content-type'}, 'audio/pcm', 'Content-Type audio/pcm');
	is($r->{headers}{'x-amzn-requestcharacters'}, 5,
	    'x-amzn-RequestCharacters counts the text');
	like($r->{headers}{'x-amzn-requestid'},
	    qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
	    'x-amzn-RequestId is a UUID');
	ok(length($r->{body}) > 0 && length($r->{body}) % 2 == 0,
	    'the PCM body is whole s16 samples');
	is(length $r->{body}, 0.3 * 8000 * 2,
	    '5 characters give the minimum 0.3 s at 8000 Hz');
	cmp_ok(rms($r->{body}), '>', 4000, 'the PCM is not silence (RMS)');
	my $log = last_request();
	is($log->{signature_ok}, 1, 'the log says the signature was right')
	    or diag($log->{signature_error});
	is($log->{method}, 'POST', 'the log has the method');
	is($log->{path}, '/v1/speech', 'the log has the path');
	is_deeply($log->{json}, $hello, 'the log has the decoded JSON body');
	is($log->{body}, $JSON->encode($hello), 'and the raw body');
	like($log->{headers}{authorization},
	    qr{^AWS4-HMAC-SHA256 Credential=AKIDTEST/\d{8}/us-east-1/polly/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=[0-9a-f]{64}$},
	    'curl signs content-type, host and x-amz-date (lowercase keys)');

	my $r16 = speak({ Text => 'x' x 20, VoiceId => 'Lupe',
	    OutputFormat => 'pcm', SampleRate => '16000' });
	is(length $r16->{body}, 1.2 * 16000 * 2,
	    '20 characters at 16000 Hz give 1.2 s');
	my $rdef = speak({ Text => 'x' x 20, VoiceId => 'Lupe',
	    OutputFormat => 'pcm' });
	is(length $rdef->{body}, 1.2 * 16000 * 2, 'SampleRate defaults to 16000');
	my $rlong = speak({ Text => 'y' x 3000, VoiceId => 'Hans',
	    OutputFormat => 'pcm', SampleRate => '8000' });
	is($rlong->{status}, 200, '3000 characters are accepted');
	is($rlong->{headers}{'x-amzn-requestcharacters'}, 3000, 'and billed');
	is(length $rlong->{body}, 10 * 8000 * 2, 'the audio is capped at 10 s');

	# Authentication failures.
	my $wrong = curl('--aws-sigv4', 'aws:amz:us-east-1:polly', '--user',
	    'AKIDTEST:wrong', @json_type, '--data-binary', $JSON->encode($hello),
	    $speech);
	is($wrong->{status}, 403, 'a wrong secret: 403');
	is($wrong->{headers}{'x-amzn-errortype'},
	    'InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/',
	    'x-amzn-ErrorType InvalidSignatureException');
	like($wrong->{json}{message},
	    qr/^The request signature we calculated does not match the signature you provided/,
	    'with the message AWS gives');
	is(last_request()->{signature_ok}, 0, 'the log says the signature was wrong');
	like(last_request()->{signature_error}, qr/^signature mismatch; canonical request:\nPOST\n/,
	    'and shows the canonical request');

	my $akid = curl('--aws-sigv4', 'aws:amz:us-east-1:polly', '--user',
	    'AKIDOTHER:secret', @json_type, '--data-binary',
	    $JSON->encode($hello), $speech);
	is($akid->{status}, 403, 'an unknown access key id: 403');
	is(error_type($akid), 'UnrecognizedClientException',
	    'UnrecognizedClientException, as AWS answers');

	my $region = curl('--aws-sigv4', 'aws:amz:eu-west-1:polly', '--user',
	    'AKIDTEST:secret', @json_type, '--data-binary',
	    $JSON->encode($hello), $speech);
	is($region->{status}, 403, 'signed for another region: 403');
	like($region->{json}{message}, qr/valid region/, 'the message names the region');

	my $unsigned = curl(@json_type, '--data-binary', $JSON->encode($hello),
	    $speech);
	is($unsigned->{status}, 403, 'an unsigned request: 403');
	is(error_type($unsigned), 'MissingAuthenticationTokenException',
	    'MissingAuthenticationTokenException');
	is(last_request()->{signature_ok}, 0, 'logged as not signed');

	# DescribeVoices, signed by curl.
	my $v = curl(@sign, "$url/v1/voices?LanguageCode=en-US");
	is($v->{status}, 200, 'curl-signed DescribeVoices?LanguageCode=en-US: 200');
	my @ids = map { $_->{Id} } @{ $v->{json}{Voices} // [] };
	ok((grep { $_ eq 'Joanna' } @ids), 'Joanna is in the list');
	is(scalar @ids, 8, 'the 8 standard en-US voices');
	is_deeply([ grep { $_->{LanguageCode} ne 'en-US' } @{ $v->{json}{Voices} } ],
	    [], 'all of them en-US');
	is_deeply($v->{json}{Voices}[0], { Gender => 'Female', Id => 'Ivy',
	    LanguageCode => 'en-US', LanguageName => 'US English', Name => 'Ivy',
	    AdditionalLanguageCodes => [], SupportedEngines => ['standard'] },
	    'a voice has the DescribeVoices fields');
	is(last_request()->{query}, 'LanguageCode=en-US', 'the log has the query');

	my $all = curl(@sign, "$url/v1/voices");
	is(scalar @{ $all->{json}{Voices} // [] }, 35, 'without a filter: 35 voices');
	my $sorted = curl(@sign,
	    "$url/v1/voices?Engine=standard&LanguageCode=cmn-CN");
	is_deeply([ map { $_->{Id} } @{ $sorted->{json}{Voices} // [] } ],
	    ['Zhiyu'], 'cmn-CN (sorted query): Zhiyu');
	my $neural = curl(@sign, "$url/v1/voices?Engine=neural");
	is_deeply($neural->{json}, { Voices => [] }, 'Engine=neural: none here');
	my $zh = curl(@sign, "$url/v1/voices?LanguageCode=zh-CN");
	is($zh->{status}, 400, 'LanguageCode=zh-CN: 400 (not a Polly code)');
	is(error_type($zh), 'ValidationException', 'ValidationException');
	SKIP: {
		skip 'curl >= 8.3 sorts the query itself', 2 unless $old_curl;
		my $unsorted = curl(@sign,
		    "$url/v1/voices?LanguageCode=en-US&Engine=standard");
		is($unsorted->{status}, 403,
		    'curl 7.88 signs an unsorted query verbatim: 403');
		like(last_request()->{signature_error},
		    qr/\nEngine=standard&LanguageCode=en-US\n/,
		    'the fake canonicalises the query sorted');
	}

	# Request checks.
	my $num = speak('{"Text":"Hello","VoiceId":"Joanna","OutputFormat":"pcm","SampleRate":8000}');
	is($num->{status}, 400, 'SampleRate as a number: 400');
	is(error_type($num), 'InvalidSampleRateException',
	    'InvalidSampleRateException');
	is(last_request()->{json}{SampleRate}, 8000, 'the log keeps the number');
	my $rate = speak({ %$hello, SampleRate => '22050' });
	is(error_type($rate), 'InvalidSampleRateException',
	    'SampleRate "22050" with pcm: InvalidSampleRateException');

	my $long = speak({ %$hello, Text => 'z' x 3001 },
	    '-H', 'Expect: 100-continue');
	is($long->{status}, 400, '3001 characters: 400');
	is(error_type($long), 'TextLengthExceededException',
	    'TextLengthExceededException');
	is(last_request()->{headers}{expect}, '100-continue',
	    'that request asked for 100-continue');
	cmp_ok($long->{elapsed}, '<', 0.9,
	    'and got it (curl would wait 1 s for it otherwise)');
	my $utf8 = speak({ %$hello, Text => "\x{53e3}" x 3000 });
	is($utf8->{status}, 200, '3000 CJK characters (9000 bytes) are 3000');

	my $missing = speak({ Text => 'Hi' });
	is($missing->{status}, 400, 'VoiceId and OutputFormat missing: 400');
	like($missing->{headers}{'x-amzn-errortype'}, qr/^ValidationException:/,
	    'ValidationException');
	like($missing->{json}{message},
	    qr/^2 validation errors detected: Value null at 'voiceId'.*Value null at 'outputFormat'/,
	    'naming both fields');
	my $notext = speak({ VoiceId => 'Joanna', OutputFormat => 'pcm' });
	like($notext->{json}{message}, qr/^1 validation error detected: Value null at 'text'/,
	    'Text missing: ValidationException');
	my $kevin = speak({ %$hello, VoiceId => 'Kevin' });
	is(error_type($kevin), 'ValidationException',
	    'a voice that is not a standard one: ValidationException');
	my $mp3 = speak({ %$hello, OutputFormat => 'mp3' });
	is(error_type($mp3), 'ValidationException', 'mp3: refused, pcm only');
	my $eng = speak({ %$hello, Engine => 'neural' });
	is(error_type($eng), 'EngineNotSupportedException',
	    'Engine neural: EngineNotSupportedException');
	my $junk = speak('{"Text":');
	is(error_type($junk), 'SerializationException',
	    'a body that is not JSON: SerializationException');

	# SSML.
	my $ssml = speak({ %$hello, TextType => 'ssml',
	    Text => '<speak>Hello <break time="1s"/>world &amp; you</speak>' });
	is($ssml->{status}, 200, 'well-formed SSML: 200');
	is($ssml->{headers}{'x-amzn-requestcharacters'}, 17,
	    'tags are not billed');
	for my $bad ('<speak>Hello', 'Hello', '<speak>a & b</speak>',
	    '<speak><prosody rate="slow">x</speak></prosody>',
	    '<speak>x</speak><speak>y</speak>') {
		my $b = speak({ %$hello, TextType => 'ssml', Text => $bad });
		is(error_type($b), 'InvalidSsmlException',
		    "malformed SSML '$bad': InvalidSsmlException");
	}
	my $big = speak({ %$hello, TextType => 'ssml',
	    Text => '<speak>' . ('<s>' . 'w' x 93 . '</s>') x 32 . '</speak>' });
	is($big->{status}, 200, '2976 billed characters in 3215 of SSML: 200');

	# Routes.
	my $nf = curl(@sign, "$url/v1/lexicons");
	is($nf->{status}, 404, 'an unknown path: 404');
	is(error_type($nf), 'UnknownOperationException', 'UnknownOperationException');
	is_deeply($nf->{json}, { message => 'not found' }, 'body {"message":"not found"}');
	is(curl(@sign, $speech)->{status}, 404, 'GET /v1/speech: 404');

	# Modes.
	is($polly->mode('fail'), 'fail', 'mode(fail)');
	is($polly->mode, 'fail', 'mode() reads it back');
	my $fail = speak($hello);
	is($fail->{status}, 500, 'mode fail: 500');
	is(error_type($fail), 'ServiceFailureException', 'ServiceFailureException');
	is(curl(@sign, "$url/v1/voices")->{status}, 500, 'DescribeVoices too');
	$polly->mode('throttle');
	my $thr = speak($hello);
	is($thr->{status}, 400, 'mode throttle: 400');
	is(error_type($thr), 'ThrottlingException', 'ThrottlingException');
	$polly->mode('refuse-signature');
	my $ref = speak($hello);
	is($ref->{status}, 403, 'mode refuse-signature: 403');
	is(error_type($ref), 'InvalidSignatureException', 'InvalidSignatureException');
	is(last_request()->{signature_ok}, 1, 'though the signature was right');
	eval { $polly->mode('sleepy') };
	like($@, qr/unknown mode 'sleepy'/, 'an unknown mode croaks');

	# hang: one request held while the mode is hang, the server still
	# accepting; the held one is answered when the mode changes.
	$polly->mode('hang');
	my $held_out = "$tmp/held";
	my $before = @{ $polly->requests };
	my $held = fork // die;
	if ($held == 0) {
		open my $fh, '>', "$held_out.tmp";
		print $fh $JSON->encode(speak($hello, '--max-time', 10));
		close $fh;
		rename "$held_out.tmp", $held_out;
		POSIX::_exit(0);
	}
	sleep 0.3;
	my $hung = speak($hello, '--max-time', 1);
	is($hung->{exit}, 28, "mode hang: curl --max-time 1 times out")
	    or diag($hung->{stderr});
	cmp_ok($hung->{elapsed}, '>=', 0.9, 'after a second');
	my @hung = @{ $polly->requests }[ -2, -1 ];
	is(scalar @{ $polly->requests }, $before + 2,
	    'the held request and the timed-out one are both logged');
	is_deeply([ map { $_->{status} } @hung ], [ undef, undef ],
	    'with no status: neither was answered');
	ok(!-e $held_out, 'the held request is still waiting');
	$polly->mode('ok');
	my $after = speak($hello);
	is($after->{status}, 200, 'after mode(ok) a new request works');
	waitpid($held, 0);
	my $held_r = eval { $JSON->decode(slurp($held_out)) } // {};
	is($held_r->{status}, 200, 'and the held request got its answer');
	cmp_ok($held_r->{elapsed}, '<', 5, 'as soon as the mode changed');

	# Security tokens: a fake that expects one.
	my $tok = FakePolly->start(access_key => 'AKIDTOK', secret_key => 's2',
	    region => 'eu-west-3', token => 'FwoGZXIvYXdzE+tok/en==');
	my @tsign = ('--aws-sigv4', 'aws:amz:eu-west-3:polly',
	    '--user', 'AKIDTOK:s2', @json_type, '--data-binary',
	    $JSON->encode($hello));
	my $t1 = curl(@tsign, '-H', 'X-Amz-Security-Token: FwoGZXIvYXdzE+tok/en==',
	    $tok->url . '/v1/speech');
	is($t1->{status}, 200, 'with the session token (signed by curl): 200');
	like($tok->requests->[-1]{headers}{authorization},
	    qr/SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,/,
	    'curl signs X-Amz-Security-Token like any header');
	my $t2 = curl(@tsign, $tok->url . '/v1/speech');
	is(error_type($t2), 'UnrecognizedClientException',
	    'without it: UnrecognizedClientException');
	my $t3 = curl(@tsign, '-H', 'X-Amz-Security-Token: other',
	    $tok->url . '/v1/speech');
	is(error_type($t3), 'UnrecognizedClientException', 'a wrong one too');
	my $tpid = $tok->pid;
	$tok->stop;
	ok(!kill(0, $tpid), 'stop() ends the server process');

	SKIP: {
		skip 'curl >= 8.3 does not sign removed headers', 2
		    unless $old_curl;
		my $exp = speak($hello, '-H', 'Expect:');
		is($exp->{status}, 403,
		    'curl 7.88 signs a removed header (Expect:) it never sends: 403');
		like(last_request()->{signature_error},
		    qr/^signed but not sent: expect/, 'the log says why');
	}
}

# --- signing of our own, through HTTP::Tiny -------------------------------
sub own_signed {
	my (%o) = @_;
	my $http = HTTP::Tiny->new(timeout => 10);
	my $host = "127.0.0.1:" . $polly->port;
	my %h = (host => $host, 'x-amz-date' => FakePolly::amz_date($o{when}),
	    'content-type' => 'application/json');
	my $body = $JSON->encode({ Text => 'Hi', VoiceId => 'Celine',
	    OutputFormat => 'pcm', SampleRate => '8000' });
	my $auth = FakePolly::authorization(method => 'POST',
	    path => '/v1/speech', query => '', headers => \%h, body => $body,
	    signed_headers => 'content-type;host;x-amz-date',
	    access_key => 'AKIDTEST', secret_key => 'secret',
	    region => 'us-east-1', amz_date => $h{'x-amz-date'});
	return $http->request(POST => "http://$host/v1/speech", {
	    content => $body, headers => { 'Content-Type' => $h{'content-type'},
	    'X-Amz-Date' => $h{'x-amz-date'}, Authorization => $auth } });
}
{
	my $r = own_signed(when => time);
	is($r->{status}, 200, 'FakePolly::authorization signs a request it accepts');
	my $old = own_signed(when => time - 600);
	is($old->{status}, 403, 'an X-Amz-Date 10 minutes old: 403');
	like($polly->requests->[-1]{signature_error}, qr/^Signature expired/,
	    'the signature expired');
	my $future = own_signed(when => time + 600);
	like($polly->requests->[-1]{signature_error}, qr/^Signature not yet current/,
	    'and one 10 minutes ahead is not yet current');
}

# --- the request log -----------------------------------------------------
{
	$polly->clear_requests;
	is_deeply($polly->requests, [], 'clear_requests empties the log');
	my $http = HTTP::Tiny->new(timeout => 10);
	$http->request(POST => "$url/v1/speech", { content => '{"Text":"a"}' });
	$http->get("$url/v1/voices?LanguageCode=fr-FR");
	$http->request(PUT => "$url/other", { content => "\x00\xff" });
	my $log = $polly->requests;
	is_deeply([ map { "$_->{method} $_->{path} $_->{status}" } @$log ],
	    [ 'POST /v1/speech 403', 'GET /v1/voices 403', 'PUT /other 404' ],
	    'every request is logged, in order, with its status');
	is_deeply($log->[0]{json}, { Text => 'a' }, 'a JSON body is decoded');
	is($log->[1]{query}, 'LanguageCode=fr-FR', 'the query is kept raw');
	is($log->[2]{body}, "\x00\xff", 'a binary body is kept as bytes');
	is($log->[2]{json}, undef, 'and json is undef');
	ok(exists $log->[0]{headers}{'user-agent'}, 'header names are lowercase');
}

# --- (a, again) botocore, an independent SigV4 implementation ---------------
SKIP: {
	skip 'python3 with botocore is not installed', 1
	    unless system('python3 -c "import botocore" >/dev/null 2>&1') == 0;
	my $tok = FakePolly->start(access_key => 'AKIDBOTO', secret_key => 'b0t0/+s',
	    region => 'ap-northeast-1', token => 'Tok/en+==');
	my @cases = (
	    [ $polly, 'POST', '/v1/speech', $JSON->encode({
	      Text => "\x{bf}C\x{f3}mo est\x{e1}? \x{53e3}\x{5ea7}",
	      VoiceId => 'Lupe', OutputFormat => 'pcm', SampleRate => '8000' }),
	      200, 'POST /v1/speech with UTF-8 text' ],
	    [ $polly, 'GET', '/v1/voices?LanguageCode=es-US&Engine=standard', '',
	      200, 'GET /v1/voices, query unsorted' ],
	    [ $polly, 'GET',
	      '/v1/voices?NextToken=a%2Fb%2Bc%3D%20~x&LanguageCode=en-US', '',
	      400, 'GET /v1/voices, a NextToken with /+= space ~' ],
	    [ $tok, 'POST', '/v1/speech', $JSON->encode({ Text => 'Hallo',
	      VoiceId => 'Vicki', OutputFormat => 'pcm' }),
	      200, 'POST /v1/speech with a session token' ],
	);
	my @in = map { {
	    method => $_->[1], url => $_->[0]->url . $_->[2],
	    body => $_->[3], access_key => $_->[0]{access_key},
	    secret_key => $_->[0]{secret_key}, token => $_->[0]{token},
	    region => $_->[0]{region} } } @cases;
	open my $fh, '>', "$tmp/boto.json" or die;
	print $fh $JSON->encode(\@in);
	close $fh;
	my $py = <<'PY';
import json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
out = []
for c in json.load(open(sys.argv[1])):
    r = AWSRequest(method=c['method'], url=c['url'], data=c['body'].encode('latin-1'),
                   headers={'Content-Type': 'application/json'} if c['body'] else {})
    SigV4Auth(Credentials(c['access_key'], c['secret_key'], c['token']),
              'polly', c['region']).add_auth(r)
    out.append(dict(r.headers.items()))
print(json.dumps(out))
PY
	open my $pf, '>', "$tmp/sign.py" or die;
	print $pf $py;
	close $pf;
	my $signed = eval { $JSON->decode(scalar `python3 "$tmp/sign.py" "$tmp/boto.json"`) };
	ok($signed && @$signed == @cases, 'botocore signed the requests')
	    or diag($@);
	my $http = HTTP::Tiny->new(timeout => 10);
	for my $i (0 .. $#cases) {
		my ($fake, $method, $path, $body, $status, $name) = @{ $cases[$i] };
		my $h = $signed->[$i] // {};
		my ($signed_h, $sig) = ($h->{Authorization} // '')
		    =~ /SignedHeaders=([^,]+), Signature=(\w+)/;
		my ($p, $q) = split /\?/, $path, 2;
		my %lc = map { lc($_) => $h->{$_} } keys %$h;
		$lc{host} = '127.0.0.1:' . $fake->port;
		is(scalar FakePolly::signature(method => $method, path => $p,
		    query => $q // '', headers => \%lc, body => $body,
		    signed_headers => $signed_h // '', secret_key => $fake->{secret_key},
		    region => $fake->{region}, amz_date => $h->{'X-Amz-Date'} // ''),
		    $sig, "botocore and FakePolly::signature agree: $name");
		my $r = $http->request($method, $fake->url . $path,
		    { headers => $h, length $body ? (content => $body) : () });
		is($r->{status}, $status, "botocore-signed $name: $status")
		    or diag($r->{content});
		is($fake->requests->[-1]{signature_ok}, 1, "the fake accepts its signature")
		    or diag($fake->requests->[-1]{signature_error});
	}
	$tok->stop;
}

# --- stop ----------------------------------------------------------------
{
	my $pid = $polly->pid;
	$polly->mode('hang');
	my $http = HTTP::Tiny->new(timeout => 0.5);
	$http->get("$url/v1/voices");	# leaves a held connection behind
	my $t0 = time;
	$polly->stop;
	cmp_ok(time - $t0, '<', 2, 'stop() is quick even with a request held');
	ok(!kill(0, $pid), 'the server is gone');
	my $r = HTTP::Tiny->new(timeout => 2)->get("$url/v1/voices");
	is($r->{status}, 599, 'nothing listens on the port any more');
}

done_testing;
