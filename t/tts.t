#!/usr/bin/perl
# Prompts rendered by the real espeak-ng, resampled to what Asterisk
# plays: the endpoints, the cache, pre-render of flows, cleanup.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IvrdTest;
use Test::More;
use Time::HiRes qw(sleep time);
use Wav;

my $ivrd = IvrdTest->start;

sub synth {
	my (%b) = @_;
	return $ivrd->req(POST => '/tts/synthesize', body => \%b);
}

sub cache { $ivrd->req(GET => '/status')->{json}{tts}{cache} }

# A prompt in Asterisk's .wav: PCM, mono, 16-bit, exactly 8000 Hz.
sub asterisk_wav_ok {
	my ($file, $name, $min, $max) = @_;
	my $w = Wav::read($file);
	ok($w, "$name: a RIFF/WAVE file") or return diag($@);
	is($w->{tag}, 1, "$name: PCM");
	is($w->{channels}, 1, "$name: mono");
	is($w->{rate}, 8000, "$name: 8000 Hz");
	is($w->{bits}, 16, "$name: 16-bit");
	is($w->{data_len}, $w->{size} - 44, "$name: the data chunk fills the file");
	is($w->{riff_len}, $w->{size} - 8, "$name: the RIFF length is right");
	cmp_ok($w->{seconds}, '>=', $min, "$name: at least $min s ($w->{seconds})");
	cmp_ok($w->{seconds}, '<=', $max, "$name: at most $max s");
	cmp_ok($w->{rms}, '>', 300, "$name: not silence (RMS $w->{rms})");
	return $w;
}

# --- /tts/synthesize with the local voice -----------------------------
my $text = 'Hello, this is a test of the TTS system.';
my $res = synth(text => $text, voice => 'Joanna', language => 'en-US',
    tts_backend => 'local');
is($res->{status}, 200, 'synthesize: 200');
is($res->{json}{message}, 'Speech synthesized successfully', 'the seed\'s message');
is($res->{json}{text}, $text, 'text echoed');
is($res->{json}{voice}, 'Joanna', 'voice echoed');
is($res->{json}{language}, 'en-US', 'language echoed');
my $file = $res->{json}{audio_file};
like($file, qr{^\Q@{[ $ivrd->dir ]}\E/cache/[0-9a-f]{2}/[0-9a-f]{64}\.wav$},
    'audio_file is in the cache dir, named by its key');
is($res->{json}{stream_file}, substr($file, 0, -4),
    'stream_file is the STREAM FILE name: the path without .wav');
is($res->{json}{fallback}, JSON::PP::false, 'no fallback for the local backend');
my $w = asterisk_wav_ok($file, 'a local prompt', 1.5, 6);
is(cache()->{syntheses}, 1, 'one synthesis so far');

# Asking again costs no synthesis.
$res = synth(text => $text, voice => 'Joanna', language => 'en-US',
    tts_backend => 'local');
is($res->{json}{audio_file}, $file, 'the same prompt: the same file');
is(cache()->{syntheses}, 1, 'and no second synthesis');
is(cache()->{cache_hits}, 1, 'it was a cache hit');

# Two at once: synthesised once.
{
	my $pid = fork // die;
	if ($pid == 0) {
		synth(text => 'Two callers, one render.', language => 'en-US');
		POSIX::_exit(0);
	}
	my $r = synth(text => 'Two callers, one render.', language => 'en-US');
	waitpid($pid, 0);
	is($r->{status}, 200, 'a concurrent pair of requests: 200');
	is(cache()->{syntheses}, 2, 'the pair cost one synthesis');
}

# --- the audio over HTTP, for a browser ----------------------------------
{
	my $url = $res->{json}{audio_url};
	like($url, qr{^/api/ivr/tts/audio/[0-9a-f]{64}\.wav$}, 'audio_url');
	my $get = $ivrd->req(GET => $url);
	is($get->{status}, 200, 'GET audio_url: 200');
	is($get->{headers}{'content-type'}, 'audio/wav', 'as audio/wav');
	open my $fh, '<:raw', $file or die;
	local $/;
	my $bytes = <$fh>;
	ok($get->{content} eq $bytes, 'the very bytes of the cached file');
	is($ivrd->req(GET => "$url?access_token=" . $ivrd->token, token => undef)->{status},
	    200, 'a browser link with ?access_token= works');
	is($ivrd->req(GET => $url, token => undef)->{status}, 401, 'no token: 401');
	is($ivrd->req(GET => '/tts/audio/../../ivrd.sqlite')->{status}, 404,
	    'only cache names are served');
	is($ivrd->req(GET => '/tts/audio/' . ('0' x 64) . '.wav')->{status}, 404,
	    'a missing file: 404');
}

# --- what changes the audio changes the key --------------------------
{
	my %base = (text => 'Key test.', voice => 'Joanna', language => 'en-US',
	    tts_backend => 'local');
	my $k0 = synth(%base)->{json}{audio_file};
	my %files;
	for my $change ([ text => 'Key test!' ], [ voice => 'Matthew' ],
	    [ language => 'en-GB', voice => 'Amy' ]) {
		my %b = (%base, @$change);
		my $f = synth(%b)->{json}{audio_file};
		isnt($f, $k0, "changing @$change[0] changes the cached file");
		$files{$f}++;
	}
	is(scalar keys %files, 3, 'three different inputs, three files');
	is(synth(%base)->{json}{audio_file}, $k0, 'the same inputs, the same file');
	my $m = Wav::read(synth(%base, voice => 'Matthew')->{json}{audio_file});
	my $j = Wav::read($k0);
	isnt($m->{samples}, $j->{samples}, 'Matthew and Joanna do not sound alike');
}

# --- SSML -----------------------------------------------------------------
{
	my $plain = Wav::read(synth(text => 'Hello world', language => 'en-US')->{json}{audio_file});
	my $r = synth(text => '<speak>Hello <break time="1500ms"/> world</speak>',
	    language => 'en-US');
	is($r->{status}, 200, 'SSML: 200');
	my $ssml = Wav::read($r->{json}{audio_file});
	cmp_ok($ssml->{seconds} - $plain->{seconds}, '>', 1.2,
	    'SSML break of 1.5 s is heard (tags are not read aloud)');
}

# --- every language of the seed has a local voice ------------------------
my %sample = (
	'en-US' => [ 'Joanna', 'Press one for sales.' ],
	'en-GB' => [ 'Amy', 'Press one for sales.' ],
	'es-ES' => [ 'Lucia', 'Pulse uno para ventas.' ],
	'es-US' => [ 'Lupe', 'Oprima uno para ventas.' ],
	'fr-FR' => [ 'Lea', 'Appuyez sur un pour les ventes.' ],
	'de-DE' => [ 'Vicki', "F\x{fc}r den Vertrieb dr\x{fc}cken Sie eins." ],
	'it-IT' => [ 'Bianca', 'Premere uno per le vendite.' ],
	'pt-BR' => [ 'Camila', 'Pressione um para vendas.' ],
	'ja-JP' => [ 'Mizuki', "\x{3053}\x{3093}\x{306b}\x{3061}\x{306f}" ],
	'ko-KR' => [ 'Seoyeon', "\x{c548}\x{b155}\x{d558}\x{c138}\x{c694}" ],
	'zh-CN' => [ 'Zhiyu', 'ni3 hao3' ],
	'ru-RU' => [ 'Tatyana', "\x{417}\x{434}\x{440}\x{430}\x{432}\x{441}\x{442}\x{432}\x{443}\x{439}\x{442}\x{435}" ],
);
for my $lang (sort keys %sample) {
	my ($voice, $t) = @{ $sample{$lang} };
	my $r = synth(text => $t, voice => $voice, language => $lang);
	is($r->{status}, 200, "$lang: synthesized");
	my $wv = Wav::read($r->{json}{audio_file} // '');
	ok($wv && $wv->{rate} == 8000 && $wv->{seconds} > 0.3 && $wv->{rms} > 300,
	    "$lang: 8 kHz audio that is heard (" . ($wv ? sprintf('%.2f s', $wv->{seconds}) : 'none') . ')');
}

# --- bad requests -----------------------------------------------------------
for my $case (
	[ { language => 'en-US' }, 'text: is required' ],
	[ { text => 'x', language => 'xx-YY' }, qr/^language: language 'xx-YY' is not supported/ ],
	[ { text => 'x', tts_backend => 'festival' }, 'tts_backend: must be one of polly, local' ],
	[ { text => 'x', speed => 2 }, 'speed: unknown field' ],
	[ { text => 5 }, 'text: must be a string' ],
	[ { text => 'a' x 3001 }, 'text: 3001 characters; at most 3000' ],
) {
	my ($body, $want) = @$case;
	my $r = $ivrd->req(POST => '/tts/synthesize', body => $body);
	is($r->{status}, 400, "bad synthesize request: 400");
	ref $want ? like($r->{json}{error}, $want, "  $r->{json}{error}")
	    : is($r->{json}{error}, $want, "  $want");
}

# --- voices ------------------------------------------------------------------
$res = $ivrd->req(GET => '/tts/voices?language=es-US');
is($res->{status}, 200, 'GET /tts/voices: 200');
is($res->{json}{language}, 'es-US', 'language');
is_deeply([ sort @{ $res->{json}{voices} } ], [ qw(Lupe Miguel Penelope) ],
    'the es-US voices');
is(scalar @{ $res->{json}{all_languages} }, 12, 'all_languages lists the twelve');
is($res->{json}{source}, 'known', 'without Polly: the known list');
is($ivrd->req(GET => '/tts/voices')->{json}{language}, 'en-US', 'language defaults to en-US');
is($ivrd->req(GET => '/tts/voices?language=xx')->{status}, 400, 'an unknown language: 400');

# --- pre-render on save -------------------------------------------------------
sub flow_doc {
	my ($id, %texts) = @_;
	return {
		id => $id, tts_backend => 'local',
		languages => [ { code => 'en-US', voice => 'Joanna' },
		    { code => 'es-US', voice => 'Miguel' } ],
		prompts => { map { $_ => { text => $texts{$_} } } keys %texts },
		menus => { root => { id => 'root', prompt => 'welcome',
		    options => { 1 => { action => 'hangup', prompt => 'bye' } } } },
	};
}
sub wait_ready {
	my ($id, $want) = @_;
	my $deadline = time + 60;
	my $f;
	while (time < $deadline) {
		$f = $ivrd->req(GET => "/flows/$id")->{json};
		last if $f->{prompts_ready} + $f->{prompts_failed} >= $want;
		sleep 0.05;
	}
	return $f;
}
my %texts = (
	welcome => { 'en-US' => 'Welcome to ACME.', 'es-US' => 'Bienvenido a ACME.' },
	bye => { 'en-US' => 'Goodbye.', 'es-US' => "Adi\x{f3}s." },
	closed => { 'en-US' => 'We are closed.' },
);
my $before = cache()->{syntheses};
$res = $ivrd->req(POST => '/flows', body => flow_doc('pre', %texts));
is($res->{status}, 201, 'a flow with 5 prompt texts is saved');
is($res->{json}{flow}{prompts_total}, 5, 'the response says 5 prompts are to render');
my $f = wait_ready('pre', 5);
is($f->{prompts_total}, 5, 'GET /flows/pre: prompts_total 5');
is($f->{prompts_ready}, 5, 'GET /flows/pre: all 5 ready');
is($f->{prompts_failed}, 0, 'none failed');
is(cache()->{syntheses} - $before, 5, 'five syntheses');
for my $p ([ 'Welcome to ACME.', 'en-US', 'Joanna' ], [ "Adi\x{f3}s.", 'es-US', 'Miguel' ]) {
	my $r = synth(text => $p->[0], language => $p->[1], voice => $p->[2]);
	ok(-s $r->{json}{audio_file}, "$p->[1] '$p->[0]' is in the cache");
}
is(cache()->{syntheses} - $before, 5, 'asking for pre-rendered prompts costs nothing');

# An update re-renders only what changed.
$texts{bye}{'en-US'} = 'Goodbye, and thank you.';
$before = cache()->{syntheses};
$res = $ivrd->req(PUT => '/flows/pre', body => flow_doc('pre', %texts));
is($res->{status}, 200, 'the flow is updated');
is($res->{json}{flow}{prompts_total}, 5, 'PUT says 5 prompts');
$f = wait_ready('pre', 5);
is($f->{prompts_ready}, 5, 'all 5 ready again');
is(cache()->{syntheses} - $before, 1, 'only the changed prompt was synthesised');

# After a restart, stored flows are pre-rendered from the cache.
$ivrd->restart;
$f = wait_ready('pre', 5);
is($f->{prompts_ready}, 5, 'after a restart the counts come back');
is(cache()->{syntheses}, 0, 'from the cache: no synthesis');

# --- cleanup ------------------------------------------------------------------
{
	my $keep = synth(text => 'Welcome to ACME.', language => 'en-US', voice => 'Joanna')->{json}{audio_file};
	my $old = synth(text => 'An orphan, old.', language => 'en-US')->{json}{audio_file};
	my $new = synth(text => 'An orphan, new.', language => 'en-US')->{json}{audio_file};
	my $long_ago = time - 40 * 86400;
	utime $long_ago, $long_ago, $keep, $old or die;
	$res = $ivrd->req(POST => '/maintenance/cleanup', body => { max_age_days => 30 });
	is($res->{status}, 200, 'cleanup: 200');
	is($res->{json}{message}, 'Cleanup completed for files older than 30 days',
	    'the seed\'s message');
	ok(!-e $old, 'an old file no flow uses is removed');
	ok(-e $keep, 'an old file a stored flow needs is kept');
	ok(-e $new, 'a recent file is kept');
	cmp_ok($res->{json}{removed}, '>=', 1, "removed counts it ($res->{json}{removed})");
	is($ivrd->req(POST => '/maintenance/cleanup', body => { max_age_days => -1 })->{status},
	    400, 'max_age_days -1: 400');
	is($ivrd->req(POST => '/maintenance/cleanup', body => { days => 3 })->{status},
	    400, 'an unknown field: 400');
}

# --- status ----------------------------------------------------------------
$res = $ivrd->req(GET => '/status');
is($res->{json}{tts}{local}{available}, JSON::PP::true, 'tts.local.available');
is_deeply($res->{json}{tts}{local}{engines}, [ 'espeak-ng' ], 'tts.local.engines');
is($res->{json}{tts}{polly}{available}, JSON::PP::false, 'tts.polly.available is false');
like($res->{json}{tts}{polly}{error}, qr/^not configured: no AWS credentials/,
    'tts.polly.error says why');

$ivrd->stop;
done_testing;
