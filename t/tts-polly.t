#!/usr/bin/perl
# Amazon Polly through a fake Polly on 127.0.0.1 that verifies each
# request's SigV4 signature the way AWS does; and the fall back to the
# local voice when Polly fails, refuses, or hangs.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use FakePolly;
use IvrdTest;
use Test::More;
use Time::HiRes qw(sleep time);
use Wav;

my $polly = FakePolly->start(access_key => 'AKIDTEST', secret_key => 'sekrit',
    region => 'eu-west-1', token => 'session-tok');
my $ivrd = IvrdTest->start(
    conf => { polly_endpoint => $polly->url, polly_region => 'eu-west-1',
        polly_timeout_ms => 1500 },
    # Credentials the standard AWS way: from the environment.
    env => { AWS_ACCESS_KEY_ID => 'AKIDTEST', AWS_SECRET_ACCESS_KEY => 'sekrit',
        AWS_SESSION_TOKEN => 'session-tok' });

sub synth {
	my ($text, %o) = @_;
	return $ivrd->req(POST => '/tts/synthesize', body => { text => $text,
	    voice => $o{voice} // 'Joanna', language => $o{language} // 'en-US',
	    tts_backend => 'polly' });
}
sub status { $ivrd->req(GET => '/status')->{json}{tts} }

# --- a prompt from Polly -----------------------------------------------
my $res = synth('Thank you for calling.');
is($res->{status}, 200, 'synthesize with Polly: 200');
is($res->{json}{fallback}, JSON::PP::false, 'Polly answered: no fallback');
my $w = Wav::read($res->{json}{audio_file});
ok($w, 'the cached file is a WAV file') or diag($@);
is($w->{rate}, 8000, 'at 8000 Hz, as Polly sent it (no resampling)');
is($w->{channels}, 1, 'mono');
cmp_ok($w->{rms}, '>', 300, 'Polly\'s audio, not silence');

my @reqs = grep { $_->{path} eq '/v1/speech' } @{ $polly->requests };
is(scalar @reqs, 1, 'one SynthesizeSpeech request');
my $r = $reqs[0];
ok($r->{signature_ok}, 'its SigV4 signature verifies') or diag($r->{signature_error});
like($r->{headers}{authorization},
    qr{^AWS4-HMAC-SHA256 Credential=AKIDTEST/\d{8}/eu-west-1/polly/aws4_request, },
    'signed for region eu-west-1, service polly');
is($r->{headers}{'x-amz-security-token'}, 'session-tok', 'the session token is sent');
like($r->{headers}{authorization}, qr/SignedHeaders=[^,]*x-amz-security-token/,
    'and signed');
is($r->{json}{OutputFormat}, 'pcm', 'OutputFormat pcm');
is($r->{json}{SampleRate}, '8000', 'SampleRate "8000", a string');
is($r->{json}{VoiceId}, 'Joanna', 'VoiceId');
is($r->{json}{TextType}, 'text', 'TextType text');
is($r->{json}{Text}, 'Thank you for calling.', 'Text');
is(status()->{polly}{available}, JSON::PP::true, 'status: polly available');

# Asked again: from the cache, not Polly.
is(synth('Thank you for calling.')->{json}{audio_file}, $res->{json}{audio_file},
    'the same prompt: the same file');
is(scalar(grep { $_->{path} eq '/v1/speech' } @{ $polly->requests }), 1,
    'and no second request to Polly');

# The local and the Polly rendering of one text are two cache entries.
my $local = $ivrd->req(POST => '/tts/synthesize', body => { text => 'Thank you for calling.',
    voice => 'Joanna', language => 'en-US', tts_backend => 'local' })->{json}{audio_file};
isnt($local, $res->{json}{audio_file}, 'the backend is part of the cache key');

# SSML, and Polly's own language code for zh-CN.
$res = synth('<speak>Hello <break time="300ms"/> there</speak>');
is($res->{json}{fallback}, JSON::PP::false, 'SSML through Polly');
is($polly->requests->[-1]{json}{TextType}, 'ssml', 'sent as TextType ssml');
$res = $ivrd->req(GET => '/tts/voices?language=zh-CN');
is($res->{json}{source}, 'polly', 'with Polly configured, voices are the live list');
is_deeply($res->{json}{voices}, [ 'Zhiyu' ], 'zh-CN asked of Polly as cmn-CN');
my ($dv) = grep { $_->{path} eq '/v1/voices' } @{ $polly->requests };
ok($dv && $dv->{signature_ok}, 'DescribeVoices is signed too (query in sorted order)')
    or diag($dv ? $dv->{signature_error} : 'no request');

# --- Polly fails: the local voice, logged and counted -----------------
$polly->mode('fail');
my $t0 = time;
$res = synth('Polly is down right now.');
is($res->{status}, 200, 'Polly failing: still 200');
is($res->{json}{fallback}, JSON::PP::true, 'rendered by the local voice instead');
$w = Wav::read($res->{json}{audio_file});
ok($w && $w->{rate} == 8000 && $w->{rms} > 300, 'a real local prompt');
my $st = status();
is($st->{polly}{available}, JSON::PP::false, 'status: polly unavailable');
like($st->{polly}{error}, qr/ServiceFailureException/, 'with the real error');
is($st->{polly}{fallbacks}, 1, 'one fallback counted');
like($ivrd->log_text, qr/Polly voice Joanna \(en-US\) not used, local voice instead: Polly HTTP 500 ServiceFailureException/,
    'and logged');

# Polly refuses the signature (wrong credentials in real life).
$polly->mode('refuse-signature');
$res = synth('A refused signature.');
is($res->{json}{fallback}, JSON::PP::true, 'a 403 from Polly: local voice');
like(status()->{polly}{error}, qr/403 InvalidSignatureException/, 'status names the 403');

# --- Polly hangs: the fallback comes within the configured timeout ------
$polly->mode('hang');
my $pid = fork // die;
if ($pid == 0) {
	my $rr = synth('Polly hangs and the caller must not wait.');
	POSIX::_exit($rr->{status} == 200 && $rr->{json}{fallback} ? 0 : 1);
}
sleep 0.2;
my $t1 = time;
is($ivrd->req(GET => '/flows')->{status}, 200, 'other requests are served while Polly hangs');
cmp_ok(time - $t1, '<', 1, 'at once');
waitpid($pid, 0);
is($? >> 8, 0, 'the hung prompt is rendered locally');
cmp_ok(time - $t0, '<', 20, 'within a bounded time (polly_timeout_ms 1500)');
like(status()->{polly}{error}, qr/Polly unreachable: .*(?i:timed? ?out)/,
    'status says Polly timed out');
$polly->mode('ok');

# --- a fallback is not forever: the next save asks Polly again ------------
$res = synth('Polly is down right now.');
is($res->{json}{fallback}, JSON::PP::false, 'once Polly is back, the Polly voice is used');
is(status()->{polly}{available}, JSON::PP::true, 'and status says so');

# --- pre-render of a Polly flow ----------------------------------------------
$res = $ivrd->req(POST => '/flows', body => {
	id => 'pf', tts_backend => 'polly',
	languages => [ { code => 'es-US', voice => 'Lupe' } ],
	prompts => { hi => { text => { 'es-US' => 'Hola.' } },
	    bye => { text => { 'es-US' => "Adi\x{f3}s." } } },
	menus => { root => { id => 'root', prompt => 'hi',
	    options => { 1 => { action => 'hangup', prompt => 'bye' } } } } });
is($res->{status}, 201, 'a Polly flow is saved');
my $deadline = time + 30;
my $f;
do { $f = $ivrd->req(GET => '/flows/pf')->{json}; sleep 0.05 }
    until $f->{prompts_ready} == 2 || time > $deadline;
is($f->{prompts_ready}, 2, 'its two prompts are rendered by Polly');
my @lupe = grep { ($_->{json}{VoiceId} // '') eq 'Lupe' } @{ $polly->requests };
is(scalar @lupe, 2, 'two Polly requests for Lupe');
ok(!grep({ !$_->{signature_ok} } @lupe), 'all signed correctly');

$ivrd->stop;
$polly->stop;
done_testing;
