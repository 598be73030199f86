package FakeAsterisk;
# Plays the Asterisk side of one FastAGI call against a server, the way
# Asterisk 20's res_agi does (../shared/agi-protocol.md, section 8): it
# connects, sends the agi_* block, then answers each command line by
# line, with res_agi's own parser, command table, reply texts, hangup
# handling and AGISTATUS. Sound files play "by timing" (a file lasts as
# long as its audio), and a scripted caller presses digits or hangs up.
# Core Perl only.
#
#   my $call = FakeAsterisk->call($ivrd, flow => 'sales',
#       callerid => '5551234', time_scale => 0.01);
#   $call->expect(qr/^ANSWER$/);
#   $call->expect(qr/^STREAM FILE \S+ "0123456789\*#"/, press => '1');
#   like($call->route, qr/Queue\(sales_q/);     # runs the call to its end
#   is($call->agistatus, 'SUCCESS');
#   is_deeply([$call->violations], []);
#
# call($target, %opts): $target is an IvrdTest (its agi_addr) or
# "host:port". Options (defaults in brackets):
#   flow            agi_network_script, query included ('sales?lang=es-US');
#                   the line is left out when empty [none]
#   request         agi_request [agi://HOST:PORT/FLOW]
#   callerid, calleridname, dnid, rdnis   [unknown]
#   callingpres, callingani2, callington, callingtns   [0]
#   context [default]  extension [dnid, else s]  priority [1]
#   language [en]  uniqueid [like 1718035200.97]  channel [PJSIP/carrier-0000002a]
#   version [20.9.3]  accountcode ['']  threadid [a pthread-like number]
#   args            [list]: agi_arg_1 .. agi_arg_N
#   variables       {name => value}: channel variables GET VARIABLE sees
#   exit_on_hangup  AGIEXITONHANGUP=yes [0]
#   sighup          0 is AGISIGHUP=no: no HANGUP lines at all [1]
#   answered        the channel is already up (CHANNEL STATUS 6) [0]
#   time_scale      real seconds per virtual second: 0.01 plays audio and
#                   runs every Asterisk-side timer 100x faster [1]
#   timeout         real seconds expect() waits for a command [10]
#   run_timeout     real seconds run() waits for the end of the call [30]
#   exec_result     {App => R} or {App => {result => R, ms => DURATION,
#                   hangup => 1}}: what EXEC App replies, after how long,
#                   and whether the call is over when it returns [0, 0 ms]
#   sounds          {name => ms}: sound names that exist without a file
#                   (Asterisk's own 'beep', 'silence/1'...)
#   sounds_dir      where relative sound names live [none: missing]
#   labels          {label => priority} known to SET PRIORITY [none]
#   autohangup_on   SET AUTOHANGUP N really hangs up N s (call time) later;
#                   0: it only replies. Mind time_scale: 300 s at 0.01 is
#                   3 real seconds [1]
#   database        {'family/key' => value} for DATABASE GET/PUT/DEL
#   say_ms          virtual ms per item said by SAY * [400]
#   digit_gap       virtual ms between the digits of one press [250]
#   buf_len         AGI_BUF_LEN: 8192 (20.16+) or 2048 (older) [8192]
#
# All times in ms are virtual (call time): real = virtual * time_scale.
# The fake runs only inside its methods (expect, run, pump and the
# outcome accessors): while the test does something else the call is
# frozen, so drive it promptly.
#
# Scripting the caller:
#   $call->expect($re, %act)   waits for the next command line, checks it
#       with Test::More::like and returns it. %act applies to that command:
#       press => '12#' (at its start, + delay => ms), hangup => 1 (during
#       it, + hangup_delay => ms), silent => 1 (answer nothing from now
#       on), reply => "raw reply\n" (sent instead of emulating), name.
#   $call->press_at($ms, '12#')    digits at a call time (one per digit_gap)
#   $call->hangup_at($ms)          the caller hangs up at a call time
#   $call->hangup_after($re [, $ms])  hang up $ms after the first command
#       matching $re starts: a running command gets its -1 reply
#       (STREAM FILE "200 result=-1 endpos=N"), a quick one its normal
#       reply; then the HANGUP line and dead mode (511 for commands that
#       are not dead-OK)
#   $call->silent                  stop answering (the server must time out)
#   $call->pump($ms)               let $ms of call time pass, answering
#   $call->run(timeout => $s)      drive the call to its end; returns
#       agistatus; a call still going at the deadline fails a test
#   $call->close                   drop the connection (no HANGUP line)
#
# The outcome (route, agistatus, vars and execs first run the call to
# its end; the others are snapshots):
#   route       last routing: 'Queue(sales_q,,,,)', 'Goto(ctx,1001,1)',
#               'Dial(...)' (EXEC of a routing app), or 'context=C
#               extension=E priority=P' after SET CONTEXT/EXTENSION/
#               PRIORITY (P: the priority the PBX runs next); undef if none
#   agistatus   SUCCESS, FAILURE or HANGUP, as Asterisk sets AGISTATUS
#   vars        {name => value} of SET VARIABLE (CR and all, verbatim)
#   execs       [[app, options], ...] of EXEC that ran
#   commands    every line received, raw (without its LF)
#   violations  list of 'kind: detail' strings: "pipelined", "reply
#               pending" (bytes sent while a command ran), "CR", "NUL",
#               "long line", "510", "520", "partial line"
#   digits_lost [[digit, ms], ...] pressed while nothing read digits
#   transcript  the call as text ("  123.4 S: ANSWER"), for diag
#   ended, end_reason, replies (every line sent, raw), env (the block)
#
# What the model decides where the protocol leaves a choice:
# - Reading is fgets() over stdio: one read() of up to 4 KB, lines taken
#   from that buffer first; bytes seen by poll() during STREAM FILE, GET
#   DATA, GET OPTION, WAIT FOR DIGIT and SAY DIGITS/NUMBER/ALPHA/PHONETIC
#   interrupt them (SAY DATE/TIME/DATETIME, EXEC, RECORD FILE and CONTROL
#   STREAM FILE do not watch the socket, as in res_agi).
# - A digit is one instant DTMF end at a virtual time; it reaches the
#   command running then, or is lost. endpos counts whole 20 ms frames
#   played (a digit at 250 ms of an 8 kHz file: 1920).
# - Sound lookup: a name in 'sounds', else <dir>/<lang>/<name> then
#   <name> (plus sounds_dir/en for relative names), extensions tried in
#   the order ulaw alaw sln wav gsm sln16 wav16 g722; a .wav is checked
#   as format_wav does (PCM mono 16-bit at exactly 8000 Hz), through Wav.pm.
# - EXEC on a dead channel: 0, or -1 for apps that need the channel
#   (Queue, Dial, Playback...), unless exec_result says otherwise.
use strict;
use warnings;
use Carp qw(croak);
use Errno ();
use IO::Socket::IP;
use Socket qw(MSG_NOSIGNAL MSG_PEEK MSG_DONTWAIT);
use Test::More ();
use Time::HiRes ();
use Wav ();

use constant {
	MAX_ARGS => 128,        # res_agi.c MAX_ARGS
	STDIO_BUFSIZ => 4096,   # what glibc's fgets reads from a socket at once
	WRITE_TIMEOUT => 0.1,   # ast_agi_send's ast_carefulwrite timeout
	OLD_BUF_LEN => 2048,    # AGI_BUF_LEN before 20.16/21.11/22.6
};

my $R510 = '510 Invalid or unknown command';
my $R511 = '511 Command Not Permitted on a dead channel or intercept routine';
my $DIGIT_ANY = '0123456789#*ABCD';   # AST_DIGIT_ANY

# EXEC of these apps is what route() reports.
my %ROUTING_APPS = map { lc $_ => 1 } qw(Queue Dial Goto GotoIf GotoIfTime
    Gosub VoiceMail VoiceMailMain Transfer ConfBridge MeetMe Page Directory
    Stasis Hangup AGI);
# On a dead channel these apps fail (-1); the rest (Goto, Set...) run.
my %CHANNEL_APPS = map { lc $_ => 1 } qw(Queue Dial Playback Background
    Read Record VoiceMail VoiceMailMain Page ConfBridge MeetMe Directory
    Answer Wait WaitExten SayDigits SayNumber MusicOnHold);

my $uniq_seq = 96;
my $chan_seq = 0x29;

# --- the command table: res_agi.c commands[] order, then app_stack's gosub -

my @COMMANDS;
{
	# [words, dead-OK, handler, usage (the XML description, as
	# ast_xmldoc_build_description leaves it)]
	my @table = (
	    ['answer', 0, \&_cmd_answer,
		'Answers channel if not already in answer state. Returns <literal>-1</literal> on channel failure, or <literal>0</literal> if successful.'],
	    ['asyncagi break', 1, \&_cmd_zero,
		'Interrupts expected flow of Async AGI commands and returns control to previous source (typically, the PBX dialplan).'],
	    ['channel status', 0, \&_cmd_channel_status,
		"Returns the status of the specified <replaceable>channelname</replaceable>. If no channel name is given then returns the status of the current channel.\n\nReturn values:"],
	    ['database del', 1, \&_cmd_db_del,
		'Deletes an entry in the Asterisk database for a given <replaceable>family</replaceable> and <replaceable>key</replaceable>.'],
	    ['database deltree', 1, \&_cmd_db_deltree,
		'Deletes a <replaceable>family</replaceable> or specific <replaceable>keytree</replaceable> within a <replaceable>family</replaceable> in the Asterisk database.'],
	    ['database get', 1, \&_cmd_db_get,
		'Retrieves an entry in the Asterisk database for a given <replaceable>family</replaceable> and <replaceable>key</replaceable>.'],
	    ['database put', 1, \&_cmd_db_put,
		'Adds or updates an entry in the Asterisk database for a given <replaceable>family</replaceable>, <replaceable>key</replaceable>, and <replaceable>value</replaceable>.'],
	    ['exec', 1, \&_cmd_exec,
		"Executes <replaceable>application</replaceable> with given <replaceable>options</replaceable>.\n\nReturns whatever the <replaceable>application</replaceable> returns, or <literal>-2</literal> on failure to find <replaceable>application</replaceable>."],
	    ['get data', 0, \&_cmd_get_data,
		"Stream the given <replaceable>file</replaceable>, and receive DTMF data.\n\nReturns the digits received from the channel at the other end."],
	    ['get full variable', 1, \&_cmd_get_full_variable,
		'Evaluates the given <replaceable>expression</replaceable> against the channel specified by <replaceable>channelname</replaceable>, or the current channel if <replaceable>channelname</replaceable> is not provided.'],
	    ['get option', 0, \&_cmd_get_option,
		'Behaves similar to STREAM FILE but used with a timeout option.'],
	    ['get variable', 1, \&_cmd_get_variable,
		"Returns <literal>0</literal> if <replaceable>variablename</replaceable> is not set. Returns <literal>1</literal> if <replaceable>variablename</replaceable> is set and returns the variable in parentheses.\n\nExample return code: 200 result=1 (testvariable)"],
	    ['hangup', 0, \&_cmd_hangup,
		'Hangs up the specified channel. If no channel name is given, hangs up the current channel'],
	    ['noop', 1, \&_cmd_zero, 'Does nothing.'],
	    ['receive char', 0, \&_cmd_receive_char,
		'Receives a character of text on a channel. Most channels do not support the reception of text.'],
	    ['receive text', 0, \&_cmd_receive_text,
		'Receives a string of text on a channel. Most channels do not support the reception of text.'],
	    ['record file', 0, \&_cmd_record_file,
		'Record to a file until a given dtmf digit in the sequence is received. Returns <literal>-1</literal> on hangup or error.'],
	    ['say alpha', 0, \&_cmd_say, 'Say a given character string, returning early if any of the given DTMF digits are received on the channel.'],
	    ['say digits', 0, \&_cmd_say, 'Say a given digit string, returning early if any of the given DTMF digits are received on the channel.'],
	    ['say number', 0, \&_cmd_say, 'Say a given number, returning early if any of the given DTMF digits are received on the channel.'],
	    ['say phonetic', 0, \&_cmd_say, 'Say a given character string with phonetics, returning early if any of the given DTMF digits are received on the channel.'],
	    ['say date', 0, \&_cmd_say, 'Say a given date, returning early if any of the given DTMF digits are received on the channel.'],
	    ['say time', 0, \&_cmd_say, 'Say a given time, returning early if any of the given DTMF digits are received on the channel.'],
	    ['say datetime', 0, \&_cmd_say, 'Say a given time, returning early if any of the given DTMF digits are received on the channel.'],
	    ['send image', 0, \&_cmd_send, 'Sends the given image on a channel. Most channels do not support the transmission of images.'],
	    ['send text', 0, \&_cmd_send, 'Sends the given text on a channel. Most channels do not support the transmission of text.'],
	    ['set autohangup', 0, \&_cmd_set_autohangup,
		'Cause the channel to automatically hangup at <replaceable>time</replaceable> seconds in the future. Of course it can be hungup before then as well. Setting to <literal>0</literal> will cause the autohangup feature to be disabled on this channel.'],
	    ['set callerid', 0, \&_cmd_set_callerid, 'Changes the callerid of the current channel.'],
	    ['set context', 0, \&_cmd_set_context, 'Sets the context for continuation upon exiting the application.'],
	    ['set extension', 0, \&_cmd_set_extension, 'Changes the extension for continuation upon exiting the application.'],
	    ['set music', 0, \&_cmd_set_music,
		"Enables/Disables the music on hold generator. If <replaceable>class</replaceable> is not specified, then the <literal>default</literal> music on hold class will be used. This generator will be stopped automatically when playing a file.\n\nAlways returns <literal>0</literal>."],
	    ['set priority', 0, \&_cmd_set_priority,
		'Changes the priority for continuation upon exiting the application. The priority must be a valid priority or label.'],
	    ['set variable', 1, \&_cmd_set_variable, 'Sets a variable to the current channel.'],
	    ['stream file', 0, \&_cmd_stream_file,
		"Send the given file, allowing playback to be interrupted by the given digits, if any. Returns <literal>0</literal> if playback completes without a digit being pressed, or the ASCII numerical value of the digit if one was pressed, or <literal>-1</literal> on error or if the channel was disconnected. If musiconhold is playing before calling stream file it will be automatically stopped and will not be restarted after completion.\n\nIt sets the following channel variables upon completion:\n\nPLAYBACKSTATUS: The status of the playback attempt as a text string.\n    SUCCESS\n    FAILED"],
	    ['control stream file', 0, \&_cmd_control_stream_file,
		'Send the given file, allowing playback to be controlled by the given digits, if any. Use double quotes for the digits if you wish none to be permitted.'],
	    ['tdd mode', 0, \&_cmd_tdd_mode, 'Enable/Disable TDD transmission/reception on a channel.'],
	    ['verbose', 1, \&_cmd_verbose,
		'Sends <replaceable>message</replaceable> to the console via verbose message system. <replaceable>level</replaceable> is the verbose level (1-4). Always returns <literal>1</literal>'],
	    ['wait for digit', 0, \&_cmd_wait_for_digit,
		'Waits up to <replaceable>timeout</replaceable> milliseconds for channel to receive a DTMF digit. Returns <literal>-1</literal> on channel failure, <literal>0</literal> if no digit is received in the timeout, or the numerical value of the ascii of the digit if one is received. Use <literal>-1</literal> for the <replaceable>timeout</replaceable> value if you desire the call to block indefinitely.'],
	    ['speech create', 0, \&_cmd_speech, 'Create a speech object to be used by the other Speech AGI commands.'],
	    ['speech set', 0, \&_cmd_speech, 'Set an engine-specific setting.'],
	    ['speech destroy', 1, \&_cmd_speech, 'Destroy the speech object created by <literal>SPEECH CREATE</literal>.'],
	    ['speech load grammar', 0, \&_cmd_speech, 'Loads the specified grammar as the specified name.'],
	    ['speech unload grammar', 1, \&_cmd_speech, 'Unloads the specified grammar.'],
	    ['speech activate grammar', 0, \&_cmd_speech, 'Activates the specified grammar on the speech object.'],
	    ['speech deactivate grammar', 0, \&_cmd_speech, 'Deactivates the specified grammar on the speech object.'],
	    ['speech recognize', 0, \&_cmd_speech, 'Plays back given <replaceable>prompt</replaceable> while listening for speech and dtmf.'],
	    ['gosub', 0, \&_cmd_gosub,
		'Cause the channel to execute the specified dialplan subroutine, returning to the dialplan with execution of a Return().'],
	);
	@COMMANDS = map { {
		words => [split / /, $_->[0]], name => uc $_->[0],
		dead => $_->[1], run => $_->[2], usage => $_->[3],
	} } @table;
}

# --- the test-side object -------------------------------------------------

sub call {
	my ($class, $target, %o) = @_;
	my $addr = ref $target && eval { $target->can('agi_addr') }
	    ? $target->agi_addr : $target;
	my ($host, $port) = ($addr // '') =~ /^\[?([^\]]*?)\]?:(\d+)$/
	    or croak "FakeAsterisk->call: no host:port in '" . ($addr // '') . "'";
	my $self = bless {
		time_scale => 1, timeout => 10, run_timeout => 30,
		sighup => 1, exit_on_hangup => 0, say_ms => 400, autohangup_on => 1,
		digit_gap => 250, buf_len => 8192,
		%o,
		host => $host, port => $port,
		stdio => '', eof => 0, events => [], rules => [],
		commands => [], replies => [], transcript => [],
		violations => [], execs => [], set_vars => {},
		digits_lost => [], status => 'SUCCESS',
		hungup => 0, notified => 0, dead => 0, ended => 0, silent => 0,
	}, $class;
	croak 'time_scale must be > 0' unless $self->{time_scale} > 0;
	$self->_setup_channel;
	$self->{t0} = Time::HiRes::time();
	my $sock = IO::Socket::IP->new(PeerHost => $host, PeerPort => $port,
	    Proto => 'tcp', Timeout => 2);   # MAX_AGI_CONNECT
	unless ($sock) {
		$self->{status} = 'FAILURE';
		$self->_note("connect to $addr failed: $@");
		$self->{ended} = 1;
		$self->{end_reason} = 'connect failed';
		return $self;
	}
	$sock->blocking(0);
	binmode $sock;
	$self->{sock} = $sock;
	# setup_env writes line by line; the block is built once for env().
	$self->_send("$_\n") for @{ $self->{env_lines} };
	$self->_send("\n");
	$self->_log(A => $self->{env_lines}[$_]) for 0 .. 2;
	$self->_note('... the rest of the agi_* block and its blank line '
	    . '(env() shows it all)');
	return $self;
}

sub expect {
	my ($self, $re, %act) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $name = delete $act{name} // "command matches $re";
	$self->{expecting} = \%act;
	delete $self->{got};
	my $deadline = Time::HiRes::time() + $self->{timeout};
	$self->_loop(sub { exists $self->{got} }, $deadline);
	delete $self->{expecting};
	if (exists $self->{got}) {
		my $line = delete $self->{got};
		Test::More::like($line, $re, $name)
		    or Test::More::diag($self->transcript);
		return $line;
	}
	my $why = $self->{ended} ? "the call ended ($self->{end_reason})"
	    : "no command within $self->{timeout} s";
	Test::More::ok(0, "$name: $why");
	Test::More::diag("stdio's buffer holds " . _show($self->{stdio})
	    . ': it came along with an earlier command, and Asterisk reads '
	    . 'it only when more bytes arrive') if length $self->{stdio};
	Test::More::diag($self->transcript);
	return undef;
}

sub press_at {
	my ($self, $ms, $digits) = @_;
	$self->_schedule_press($ms, $digits);
	return $self;
}

sub hangup_at {
	my ($self, $ms) = @_;
	$self->_add_event($ms, hangup => 'hangup_at');
	return $self;
}

sub hangup_after {
	my ($self, $re, $ms) = @_;
	push @{ $self->{rules} }, { re => $re, ms => $ms // 0 };
	return $self;
}

sub silent {
	my ($self) = @_;
	$self->{silent} = 1;
	$self->_note('silent: answering nothing from now on');
	return $self;
}

sub pump {
	my ($self, $ms) = @_;
	my $until = $self->_vnow + $ms;
	my $real = $self->_real($until);
	$self->_loop(sub { $self->_vnow >= $until }, $real + 0.001);
	return $self;
}

sub run {
	my ($self, %o) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	return $self->{status} if $self->{ended};
	my $timeout = $o{timeout} // $self->{run_timeout};
	$self->_loop(undef, Time::HiRes::time() + $timeout);
	unless ($self->{ended}) {
		Test::More::ok(0, "call ended within $timeout s");
		Test::More::diag($self->transcript);
		$self->_note("run: gave up after $timeout s");
		$self->close;
	}
	return $self->{status};
}

sub close {
	my ($self) = @_;
	if (my $sock = delete $self->{sock}) {
		CORE::close($sock);
	}
	unless ($self->{ended}) {
		$self->{ended} = 1;
		$self->{end_reason} //= 'closed by the test';
	}
	return $self;
}

sub route { $_[0]->_finish_call; $_[0]{route} }
sub agistatus { $_[0]->_finish_call; $_[0]{status} }
sub vars { $_[0]->_finish_call; +{ %{ $_[0]{set_vars} } } }
sub execs { $_[0]->_finish_call; [ map { [@$_] } @{ $_[0]{execs} } ] }
sub commands { @{ $_[0]{commands} } }
sub replies { @{ $_[0]{replies} } }
sub violations { @{ $_[0]{violations} } }
sub digits_lost { map { [@$_] } @{ $_[0]{digits_lost} } }
sub ended { $_[0]{ended} }
sub end_reason { $_[0]{end_reason} }
sub env { join '', map { "$_\n" } @{ $_[0]{env_lines} }, '' }
sub transcript { join "\n", @{ $_[0]{transcript} }, '' }

sub DESTROY {
	my ($self) = @_;
	CORE::close($self->{sock}) if $self->{sock};
}

sub _finish_call {
	my ($self) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 2;
	$self->run unless $self->{ended};
}

# --- res_agi's parser ------------------------------------------------------

# parse_args(), byte for byte: space and tab separate, '"' toggles quoting
# (and starts a token right after whitespace, so "" is an empty one), a
# backslash makes the next character literal; nothing else is special, so
# a CR stays in the last token. Past MAX_ARGS - 1 tokens, the characters
# of further unquoted words are dropped.
sub parse_args {
	my ($s) = @_;
	my @argv;
	my ($quoted, $escaped, $space) = (0, 0, 1);
	for my $ch (split //, $s) {
		if ($ch eq '"' && !$escaped) {
			$quoted = !$quoted;
			if ($quoted && $space) {
				push @argv, '';
				$space = 0;
			}
			next;
		}
		if (($ch eq ' ' || $ch eq "\t") && !$quoted && !$escaped) {
			$space = 1;
			next;
		}
		if ($ch eq '\\' && !$escaped) {
			$escaped = 1;
			next;
		}
		if ($space) {
			next if @argv >= MAX_ARGS - 1;   # "Too many arguments"
			push @argv, '';
			$space = 0;
		}
		$argv[-1] .= $ch;
		$escaped = 0;
	}
	return @argv;
}

# find_command(argv, 0): the leading words match case-insensitively,
# extra tokens are arguments, and a command needing more words than given
# does not match.
sub _find_command {
	my ($argv) = @_;
	for my $c (@COMMANDS) {
		my $w = $c->{words};
		my ($match, $y) = (1, 0);
		for ($y = 0; $match && $y < @$argv; $y++) {
			last if $y >= @$w;
			$match = 0 if lc $w->[$y] ne lc $argv->[$y];
		}
		$match = 0 if $match && $y < @$w;
		return $c if $match;
	}
	return;
}

# --- the event loop ---------------------------------------------------------

# Runs until $until->() is true, the call ends, or the real deadline.
# Timers (digits, hangups, the running command's) come first, then the
# socket: bytes during a command are barge-in, bytes while idle a command.
sub _loop {
	my ($self, $until, $deadline) = @_;
	while (1) {
		return 1 if $until && $until->();
		return 0 if $self->{ended};
		next if $self->_run_timers;
		my $now = Time::HiRes::time();
		return 0 if $now >= $deadline;
		my $wake = $deadline;
		my $next = $self->_next_timer;
		if (defined $next) {
			my $t = $self->_real($next);
			$wake = $t if $t < $wake;
		}
		my $wait = $wake - $now;
		$wait = 0 if $wait < 0;
		if (!$self->_watching_socket) {
			select(undef, undef, undef, $wait);
			next;
		}
		if ($self->{eof}) {
			$self->_readable;
			next;
		}
		my $rin = '';
		vec($rin, fileno($self->{sock}), 1) = 1;
		my $n = select(my $rout = $rin, undef, undef, $wait);
		$self->_readable if $n && $n > 0;
	}
}

sub _watching_socket {
	my ($self) = @_;
	return 0 unless $self->{sock};
	my $cur = $self->{cur} or return 1;
	return $cur->{watch_sock} || !$cur->{flagged};
}

sub _readable {
	my ($self) = @_;
	if (my $cur = $self->{cur}) {
		my $eof = $self->{eof} || !$self->_peek;
		unless ($eof) {
			$self->_violation("reply pending: bytes arrived while "
			    . "$cur->{name} ran (its reply was not sent yet)");
		}
		if ($cur->{watch_sock}) {
			$self->_note("$cur->{name} interrupted by the socket"
			    . ($eof ? ' (EOF)' : ''));
			$cur->{barge}->();
		} else {
			$cur->{flagged} = 1;
		}
		return;
	}
	my ($line, $cut) = $self->_fgets;
	if (defined $line) {
		$self->_handle_line($line, $cut);
	} elsif ($self->{eof}) {
		$self->_end_agi('the server closed the connection');
	}
}

# True when the socket holds data, false at EOF (MSG_PEEK reads nothing).
sub _peek {
	my ($self) = @_;
	my $r = recv($self->{sock}, my $buf, 1, MSG_PEEK | MSG_DONTWAIT);
	return 1 unless defined $r;   # EAGAIN: a spurious wake-up, not EOF
	return length $buf;
}

# run_agi's read: fgets() into AGI_BUF_LEN through stdio. fgets takes a
# line from stdio's buffer and calls read() only when that buffer holds
# no newline, so a second command that came in the same read() waits
# there, unseen by poll(), until more bytes arrive. Returns (line, cut)
# or () when no full line is in yet.
sub _fgets {
	my ($self) = @_;
	my $max = $self->{buf_len} - 1;
	while (1) {
		my $nl = index($self->{stdio}, "\n");
		if ($nl >= 0 && $nl < $max) {
			return (substr($self->{stdio}, 0, $nl + 1, ''), 0);
		}
		if (length $self->{stdio} >= $max) {
			return (substr($self->{stdio}, 0, $max, ''), 1);
		}
		if ($self->{eof}) {
			return unless length $self->{stdio};
			$self->_violation('partial line: the last line had no LF');
			return (substr($self->{stdio}, 0, length $self->{stdio}, ''), 0);
		}
		my $n = sysread($self->{sock}, my $chunk, STDIO_BUFSIZ);
		if (!defined $n) {
			return if $!{EAGAIN} || $!{EWOULDBLOCK} || $!{EINTR};
			$self->_note("read error: $!");
			$self->{eof} = 1;
			next;
		}
		if ($n == 0) {
			$self->{eof} = 1;
			next;
		}
		$self->{stdio} .= $chunk;
	}
}

sub _run_timers {
	my ($self) = @_;
	my $now = $self->_vnow;
	my $cur = $self->{cur};
	my $ev = $self->{events}[0];
	my $cur_at = $cur && defined $cur->{at} ? $cur->{at} : undef;
	# Events due at the same time as the command's timer go first: a
	# digit at the very moment a wait ends still counts.
	if ($ev && $ev->{at} <= $now
	    && (!defined $cur_at || $ev->{at} <= $cur_at)) {
		shift @{ $self->{events} };
		$self->_event($ev);
		return 1;
	}
	if (defined $cur_at && $cur_at <= $now) {
		my $timer = $cur->{timer};
		delete $cur->{at};
		$timer->($cur_at);
		return 1;
	}
	return 0;
}

sub _next_timer {
	my ($self) = @_;
	my @t;
	push @t, $self->{events}[0]{at} if @{ $self->{events} };
	push @t, $self->{cur}{at} if $self->{cur} && defined $self->{cur}{at};
	my ($min) = sort { $a <=> $b } @t;
	return $min;
}

sub _event {
	my ($self, $ev) = @_;
	if ($ev->{type} eq 'digit') {
		my $cur = $self->{cur};
		if ($cur && $cur->{digit} && $ev->{at} >= $cur->{start}) {
			$self->_note("caller presses $ev->{digit}");
			$cur->{digit}->($ev->{digit}, $ev->{at});
		} else {
			push @{ $self->{digits_lost} }, [$ev->{digit}, $ev->{at}];
			$self->_note("caller presses $ev->{digit}: lost, "
			    . ($cur ? "$cur->{name} does not read digits"
			    : 'no command reads digits'));
		}
	} elsif ($ev->{type} eq 'hangup') {
		$self->_caller_hangup($ev->{at}, $ev->{why});
	}
}

sub _add_event {
	my ($self, $at, $type, $arg) = @_;
	my $ev = { at => $at, type => $type, seq => $self->{seq}++ };
	$ev->{$type eq 'digit' ? 'digit' : 'why'} = $arg;
	my $e = $self->{events};
	@$e = sort { $a->{at} <=> $b->{at} || $a->{seq} <=> $b->{seq} }
	    @$e, $ev;
	return $ev;
}

sub _schedule_press {
	my ($self, $at, $digits) = @_;
	my $i = 0;
	for my $d (split //, $digits) {
		croak "not a DTMF digit: '$d'" unless index($DIGIT_ANY, $d) >= 0;
		$self->_add_event($at + $i++ * $self->{digit_gap}, digit => $d);
	}
}

# --- commands: dispatch, replies, hangup -------------------------------------

sub _handle_line {
	my ($self, $raw, $cut) = @_;
	(my $line = $raw) =~ s/\n\z//;
	my $now = $self->_vnow;
	push @{ $self->{commands} }, $line;
	$self->_log(S => $line);
	$self->_violation('CR: the line ends in or holds a CR: ' . _show($line))
	    if $line =~ /\r/;
	$self->_violation('NUL: the line holds a NUL byte') if $line =~ /\0/;
	if ($cut) {
		$self->_violation("long line: cut at $self->{buf_len} - 1 bytes");
	} elsif (length $raw > OLD_BUF_LEN - 1) {
		$self->_violation('long line: ' . length($raw) . ' bytes, more '
		    . 'than Asterisk before 20.16 reads (2047 with the LF)');
	}
	$self->_violation('pipelined: more bytes came with ' . _show($line)
	    . ' before its reply') if length $self->{stdio} && !$cut;

	my $act = delete $self->{expecting};
	$self->{got} = $line if $act;
	if ($raw =~ /^failure/i) {
		$self->{status} = 'FAILURE';
		$self->_end_agi("'failure' line");
		return;
	}
	$line =~ s/\0.*//s;   # a C string ends there
	my @argv = parse_args($line);
	my $c = _find_command(\@argv);
	$self->{cmd_start} = $now;
	$self->{cmd_name} = $c ? $c->{name} : 'unknown command';
	$self->{cmd_line} = $line;

	my $hangup_now;
	if ($act) {
		$self->silent if $act->{silent};
		$self->_schedule_press($now + ($act->{delay} // 0), $act->{press})
		    if defined $act->{press} && length $act->{press};
		if ($act->{hangup}) {
			my $d = $act->{hangup_delay} // 0;
			$d > 0 ? $self->_add_event($now + $d, hangup => 'expect')
			    : ($hangup_now = 'expect');
		}
	}
	if (!$self->{hungup}) {
		for my $rule (@{ $self->{rules} }) {
			next if $rule->{done} || $line !~ $rule->{re};
			$rule->{done} = 1;
			$rule->{ms} > 0
			    ? $self->_add_event($now + $rule->{ms}, hangup => 'hangup_after')
			    : ($hangup_now //= 'hangup_after');
			last;
		}
	}

	if ($act && defined $act->{reply}) {
		$self->_reply(split /\n/, $act->{reply});
		$self->_idle;
	} elsif (!$c) {
		$self->_violation('510: ' . _show($line));
		$self->_done($R510);
	} elsif ($self->{dead} && !$c->{dead}) {
		$self->_done($R511);
	} else {
		$c->{run}->($self, \@argv, $c);
	}
	$self->_caller_hangup($now, $hangup_now) if $hangup_now;
}

# A command's final reply (none when @lines is empty), then the idle loop.
# { failure => 1 } is RESULT_FAILURE: AGISTATUS=FAILURE unless the channel
# hung up under the command.
sub _done {
	my ($self, @lines) = @_;
	my %o = @lines && ref $lines[-1] eq 'HASH' ? %{ pop @lines } : ();
	delete $self->{cur};
	if ($o{failure} && ($self->{dead} || !$self->{hungup})) {
		$self->{status} = 'FAILURE';
		$self->_note('command failed: AGISTATUS=FAILURE');
	}
	$self->_reply(@lines);
	$self->_idle;
}

# The top of run_agi's loop: a hangup is noticed between commands.
sub _idle {
	my ($self) = @_;
	return if $self->{ended} || $self->{cur};
	$self->_hangup_notice if $self->{hungup} && !$self->{notified};
}

sub _hangup_notice {
	my ($self) = @_;
	$self->{notified} = 1;
	$self->{dead} = 1;
	$self->{status} = 'HANGUP' if $self->{status} eq 'SUCCESS';
	$self->_reply('HANGUP') if $self->{sighup};
	$self->_end_agi('exit on hangup') if $self->{exit_on_hangup};
}

sub _caller_hangup {
	my ($self, $at, $why) = @_;
	return if $self->{hungup} || $self->{ended};
	$self->{hungup} = 1;
	$self->_note('caller hangs up' . ($why ? " ($why)" : ''));
	my $cur = $self->{cur};
	if ($cur && $cur->{hangup}) {
		$cur->{hangup}->($at);
	} elsif (!$cur) {
		$self->_idle;
	}
}

# The end of run_agi: a last HANGUP line (AGISIGHUP) and close.
sub _end_agi {
	my ($self, $why) = @_;
	return if $self->{ended};
	delete $self->{cur};
	$self->_reply('HANGUP') if $self->{sighup};
	$self->_note("AGI ends: $why; AGISTATUS=$self->{status}");
	$self->{end_reason} = $why;
	$self->{ended} = 1;
	CORE::close(delete $self->{sock}) if $self->{sock};
}

sub _reply {
	my ($self, @lines) = @_;
	if ($self->{silent} || !$self->{sock}) {
		my $why = $self->{sock} ? 'silent' : 'connection closed';
		$self->_note("not sent ($why): " . _show($_)) for @lines;
		return;
	}
	for my $l (@lines) {
		push @{ $self->{replies} }, $l;
		$self->_log(A => $l);
	}
	$self->_send(join '', map { "$_\n" } @lines) if @lines;
}

sub _send {
	my ($self, $data) = @_;
	return if $self->{silent} || !$self->{sock};
	my $limit = Time::HiRes::time() + WRITE_TIMEOUT;
	while (length $data) {
		my $n = send($self->{sock}, $data, MSG_NOSIGNAL);
		if (defined $n) {
			substr($data, 0, $n, '');
			next;
		}
		if (($!{EAGAIN} || $!{EWOULDBLOCK} || $!{EINTR})
		    && Time::HiRes::time() < $limit) {
			my $win = '';
			vec($win, fileno($self->{sock}), 1) = 1;
			select(undef, $win, undef, 0.01);
			next;
		}
		$self->_note("write failed: $!");
		last;
	}
}

sub _usage {
	my ($self, $c) = @_;
	$self->_violation('520: ' . _show($self->{cmd_line}));
	$self->_done('520-Invalid command syntax.  Proper usage follows:',
	    split(/\n/, $c->{usage}, -1), '520 End of proper usage.');
}

# A command that takes time: it stays in $self->{cur} until one of its
# handlers calls _done. at/timer: its next deadline (virtual ms); digit:
# a DTMF frame; barge: bytes on the socket (watch_sock only); hangup.
sub _start {
	my ($self, %h) = @_;
	$self->{cur} = { name => $self->{cmd_name}, start => $self->{cmd_start},
	    watch_sock => 1, %h };
	return $self->{cur};
}

# --- the commands -----------------------------------------------------------

sub _cmd_answer {
	my ($self) = @_;
	$self->{state} = 6;
	$self->_done('200 result=0');
}

sub _cmd_zero { $_[0]->_done('200 result=0') }

sub _cmd_channel_status {
	my ($self, $argv, $c) = @_;
	return $self->_done("200 result=$self->{state}") if @$argv == 2;
	return $self->_done($argv->[2] eq $self->{channel}
	    ? "200 result=$self->{state}" : '200 result=-1') if @$argv == 3;
	$self->_usage($c);
}

sub _cmd_db_get {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv != 4;
	my $v = $self->{database}{"$argv->[2]/$argv->[3]"};
	$self->_done(defined $v ? "200 result=1 ($v)" : '200 result=0');
}

sub _cmd_db_put {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv != 5;
	$self->{database}{"$argv->[2]/$argv->[3]"} = $argv->[4];
	$self->_done('200 result=1');
}

sub _cmd_db_del {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv != 4;
	my $had = delete $self->{database}{"$argv->[2]/$argv->[3]"};
	$self->_done(defined $had ? '200 result=1' : '200 result=0');
}

sub _cmd_db_deltree {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv < 3 || @$argv > 4;
	my $prefix = join('/', @$argv[2 .. $#$argv]) . '/';
	my @gone = grep { index("$_/", $prefix) == 0 }
	    keys %{ $self->{database} };
	delete @{ $self->{database} }{@gone};
	# res_agi prints 0 when something was deleted: kept as it is.
	$self->_done('200 result=' . (@gone ? 0 : 1));
}

sub _cmd_exec {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv < 2;
	my ($app, $data) = ($argv->[1], @$argv >= 3 ? $argv->[2] : '');
	return $self->_done('200 result=-2') unless length $app;   # no such app
	push @{ $self->{execs} }, [$app, $data];
	$self->{route} = "$app($data)"
	    if $ROUTING_APPS{lc $app} && !$self->{dead};
	my $spec = $self->_exec_spec($app);
	my $finish = sub {
		my ($res) = @_;
		my @lines = ("200 result=$res");
		# handle_exec returns the app's result as its own: 1 is
		# RESULT_SHOWUSAGE, 2 RESULT_FAILURE.
		push @lines, '520-Invalid command syntax.  Proper usage follows:',
		    split(/\n/, $c->{usage}), '520 End of proper usage.'
		    if $res == 1;
		$self->_done(@lines, { failure => $res == 2 });
	};
	if ($self->{dead}) {
		return $finish->($spec->{set} ? $spec->{result}
		    : $CHANNEL_APPS{lc $app} ? -1 : 0);
	}
	my $end = sub {
		if ($spec->{hangup} && !$self->{hungup}) {
			$self->{hungup} = 1;
			$self->_note("the call ended inside $app");
		}
		$finish->($spec->{result});
	};
	return $end->() unless $spec->{ms};
	$self->_start(watch_sock => 0, at => $self->{cmd_start} + $spec->{ms},
	    timer => $end, hangup => sub { $finish->(-1) });
}

sub _exec_spec {
	my ($self, $app) = @_;
	my $all = $self->{exec_result} // {};
	my ($key) = grep { lc $_ eq lc $app } keys %$all;
	return { result => 0, ms => 0 } unless defined $key;
	my $v = $all->{$key};
	return { result => $v, ms => 0, set => 1 } unless ref $v;
	return { result => $v->{result} // 0, ms => $v->{ms} // 0,
	    hangup => $v->{hangup}, set => 1 };
}

sub _cmd_get_data {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv < 3;
	my $timeout = @$argv >= 4 ? _atoi($argv->[3]) : 0;
	my $max = @$argv >= 5 ? _atoi($argv->[4]) : 1024;
	my $sound;
	if (length $argv->[2]) {
		$sound = $self->_sound($argv->[2])
		    or return $self->_done('200 result=-1');
	}
	my ($to, $fto) = (2000, 6000);
	($to, $fto) = ($timeout, $timeout) if $timeout > 0;
	($to, $fto) = (1e9, 1e9) if $timeout < 0;
	return $self->_done('200 result=-1') if $max == 0;
	my $digits = '';
	my $cur;
	my $wait = sub {
		my ($ms, $from) = @_;
		$cur->{at} = $from + $ms;
		$cur->{timer} = sub {
			$self->_done("200 result=$digits (timeout)");
		};
	};
	my $digit = sub {
		my ($d, $at) = @_;
		return $self->_done('200 result=') if $d eq '#' && $digits eq '';
		$digits .= $d unless $d eq '#';
		return $self->_done("200 result=$digits")
		    if $d eq '#' || length $digits >= $max;
		$wait->($to, $at);
	};
	$cur = $self->_start(digit => $digit,
	    barge => sub { $self->_done },
	    hangup => sub { $self->_done('200 result=-1') });
	if ($sound) {
		$self->_stop_moh;
		my $end = $self->{cmd_start} + _ms($sound, $sound->{samples});
		$cur->{at} = $end;
		$cur->{timer} = sub { $wait->($fto, $end) };
	} else {
		$wait->($fto, $self->{cmd_start});
	}
}

sub _cmd_get_full_variable {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv != 4 && @$argv != 5;
	return $self->_done('200 result=0')
	    if @$argv == 5 && $argv->[4] ne $self->{channel};
	(my $v = $argv->[3]) =~ s/\$\{([^{}]+)\}/$self->_get_var($1) \/\/ ''/ge;
	$self->_done("200 result=1 ($v)");
}

sub _cmd_get_option {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv < 4 || @$argv > 5;
	my $esc = $argv->[3];
	my $timeout = @$argv == 5 ? _atoi($argv->[4]) : 5000;   # TIMEOUT(digit)
	my $sound = $self->_sound($argv->[2])
	    or return $self->_done('200 result=-1 endpos=0', { failure => 1 });
	$self->_stop_moh;
	my $len = $sound->{samples};
	my $cur;
	my $after = sub {   # the wait for a digit once the prompt ended
		my ($res) = @_;
		$self->_done("200 result=$res endpos=$len");
	};
	my $waiting = sub {
		my ($end) = @_;
		return $after->(0) if $timeout == 0;
		$cur->{at} = $timeout > 0 ? $end + $timeout : undef;
		$cur->{timer} = sub { $after->(0) };
		$cur->{digit} = sub {
			my ($d) = @_;
			$after->(index($esc, $d) >= 0 ? ord $d : 0);
		};
		# waitfordigit returns 1 (socket) or -1 (hangup): neither is
		# an escape digit, so both reply 0.
		$cur->{barge} = sub { $after->(0) };
		$cur->{hangup} = sub { $after->(0) };
	};
	my $end = $self->{cmd_start} + _ms($sound, $len);
	$cur = $self->_start(at => $end, timer => sub { $waiting->($end) },
	    digit => sub {
		my ($d, $at) = @_;
		return $self->_discard($d, $esc) if index($esc, $d) < 0;
		$self->_done('200 result=' . ord($d) . ' endpos='
		    . _pos($sound, 0, $self->{cmd_start}, $at));
	    },
	    barge => sub { $self->_done },
	    hangup => sub {
		my ($at) = @_;
		$self->_done('200 result=-1 endpos='
		    . _pos($sound, 0, $self->{cmd_start}, $at));
	    });
}

sub _cmd_get_variable {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv != 3;
	my $v = $self->_get_var($argv->[2]);
	return $self->_done('200 result=0') unless defined $v;
	$self->_done('200 result=1 (' . substr($v, 0, 1023) . ')');
}

sub _cmd_hangup {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv > 2;
	if (@$argv == 2 && $argv->[1] ne $self->{channel}) {
		return $self->_done('200 result=-1');
	}
	$self->{hungup} = 1;
	$self->_note('the server hangs up the channel');
	$self->_done('200 result=1');
}

sub _cmd_receive_char {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv != 3;
	$self->_done('200 result=0 (timeout)');
}

sub _cmd_receive_text {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv != 3;
	$self->_done('200 result=-1');
}

# The recording itself is not written: this answers as Asterisk does for a
# caller who stays silent, or presses an escape digit, or hangs up.
sub _cmd_record_file {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv < 6 || !_scan_int($argv->[5]);
	my $ms = _atoi($argv->[5]);
	my $esc = $argv->[4];
	my ($silence) = map { /^s=(\d+)/ ? $1 * 1000 : () } @$argv[6 .. $#$argv];
	my $limit = $ms;
	$limit = $silence if $silence && ($limit < 0 || $silence < $limit);
	my $pos = sub { my ($at) = @_; int(($at - $self->{cmd_start}) * 8) };
	$self->_start(watch_sock => 0,
	    at => $limit < 0 ? undef : $self->{cmd_start} + $limit,
	    timer => sub { $self->_done('200 result=0 (timeout) endpos='
		. $pos->($_[0])) },
	    digit => sub {
		my ($d, $at) = @_;
		return $self->_discard($d, $esc) if index($esc, $d) < 0;
		$self->_done('200 result=' . ord($d) . ' (dtmf) endpos='
		    . $pos->($at));
	    },
	    hangup => sub { $self->_done('200 result=-1 (hangup) endpos='
		. $pos->($_[0])) });
}

# SAY *: each item (digit, letter...) lasts say_ms. Like STREAM FILE,
# SAY DIGITS/NUMBER/ALPHA/PHONETIC watch the socket; SAY DATE, TIME and
# DATETIME go through ast_say_date*, which does not.
sub _cmd_say {
	my ($self, $argv, $c) = @_;
	my $what = lc $argv->[1];
	my $n = @$argv;
	my $bad = $what eq 'digits' || $what eq 'phonetic' || $what eq 'date'
	    || $what eq 'time' ? $n != 4
	    : $what eq 'number' || $what eq 'alpha' ? $n < 4 || $n > 5
	    : $n < 4;
	$bad ||= !_scan_int($argv->[2])
	    if $what =~ /^(?:digits|number|date|time|datetime)$/;
	$bad ||= $n > 4 && $argv->[4] !~ /^(?:[aAlLnNuU]|\z)/ if $what eq 'alpha';
	return $self->_usage($c) if $bad;
	my $items = $what =~ /^(?:date|time|datetime)$/ ? 3
	    : length($argv->[2]) || 1;
	my $esc = $argv->[3];
	$self->_start(watch_sock => $what !~ /^(?:date|time|datetime)$/,
	    at => $self->{cmd_start} + $items * $self->{say_ms},
	    timer => sub { $self->_done('200 result=0') },
	    digit => sub {
		my ($d) = @_;
		return $self->_discard($d, $esc) if index($esc, $d) < 0;
		$self->_done('200 result=' . ord $d);
	    },
	    barge => sub { $self->_done },
	    hangup => sub { $self->_done('200 result=-1') });
}

sub _cmd_send {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv != 3;
	$self->_done('200 result=0');
}

sub _cmd_set_autohangup {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv != 3
	    || $argv->[2] !~ /^\s*[+-]?(?:\d|\.\d)/;
	my ($sec) = $argv->[2] =~ /^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/;
	$sec = 0 if $sec < 0;
	my $old = delete $self->{autohangup};
	@{ $self->{events} } = grep { $_ != $old } @{ $self->{events} } if $old;
	$self->{autohangup} = $self->_add_event($self->{cmd_start} + $sec * 1000,
	    hangup => 'SET AUTOHANGUP') if $sec > 0 && $self->{autohangup_on};
	$self->_done('200 result=0');
}

sub _cmd_set_callerid {
	my ($self, $argv) = @_;
	if (defined $argv->[2]) {
		my $v = $argv->[2];
		my ($name, $num) = $v =~ /^\s*"?([^"<]*?)"?\s*<([^>]*)>/
		    ? ($1, $2) : ($v =~ /^[\d+*#\s()-]+$/ ? ('', $v) : ($v, ''));
		$num =~ s/[\s()-]//g;
		$self->{callerid} = $num;
		$self->{calleridname} = $name;
	}
	$self->_done('200 result=1');
}

sub _cmd_set_context {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv != 3;
	$self->{loc}{context} = $argv->[2];
	$self->_set_route;
	$self->_done('200 result=0');
}

sub _cmd_set_extension {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv != 3;
	$self->{loc}{extension} = $argv->[2];
	$self->_set_route;
	$self->_done('200 result=0');
}

sub _cmd_set_priority {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv != 3;
	my $p = $argv->[2];
	if (_scan_int($p)) {
		$p = _atoi($p);
	} else {
		$p = ($self->{labels} // {})->{$p};
		return $self->_usage($c) unless defined $p && $p >= 1;
	}
	$self->{loc}{next_priority} = $p;
	$self->_set_route;
	$self->_done('200 result=0');
}

sub _cmd_set_music {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv < 3;
	if ($argv->[2] =~ /^on/i) {
		$self->{moh} = $argv->[3] // 'default';
		$self->_note("music on hold: $self->{moh}");
	} elsif ($argv->[2] =~ /^off/i) {
		$self->_stop_moh;
	}
	$self->_done('200 result=0');
}

sub _cmd_set_variable {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv != 4;
	my ($name, $value) = @$argv[2, 3];
	$self->{set_vars}{$name} = $value;
	if ($name eq 'CHANNEL(language)') {
		$self->{language} = $value;
	} elsif ($name =~ /^CALLERID\((num|name)\)$/) {
		$self->{$1 eq 'num' ? 'callerid' : 'calleridname'} = $value;
	} else {
		$self->{chanvars}{$name} = $value;
	}
	$self->_done('200 result=1');
}

sub _cmd_stream_file {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv < 4 || @$argv > 5;
	my $esc = $argv->[3];
	my $offset = 0;
	if (@$argv > 4) {
		return $self->_usage($c) unless _scan_int($argv->[4]);
		$offset = _atoi($argv->[4]);
	}
	my $sound = $self->_sound($argv->[2])
	    or return $self->_done("200 result=-1 endpos=$offset",
		{ failure => 1 });
	$self->_stop_moh;
	my $len = $sound->{samples};
	$offset = 0 if $offset < 0;
	$offset = $len if $offset > $len;
	my $start = $self->{cmd_start};
	my $pos = sub { _pos($sound, $offset, $start, $_[0]) };
	my $status = sub { $self->{chanvars}{PLAYBACKSTATUS} = $_[0] };
	$self->_start(at => $start + _ms($sound, $len - $offset),
	    timer => sub {
		$status->('SUCCESS');
		$self->_done("200 result=0 endpos=$len");
	    },
	    digit => sub {
		my ($d, $at) = @_;
		return $self->_discard($d, $esc) if index($esc, $d) < 0;
		$status->('FAILED');
		$self->_done('200 result=' . ord($d) . ' endpos=' . $pos->($at));
	    },
	    barge => sub { $self->_done },
	    hangup => sub {
		$status->('FAILED');
		$self->_done('200 result=-1 endpos=' . $pos->($_[0]),
		    { failure => 1 });
	    });
}

# ast_control_streamfile: ff/rew keys move by skipms and are checked
# before the stop keys; endpos is in ms (samples / 8) and -1 at the end.
sub _cmd_control_stream_file {
	my ($self, $argv, $c) = @_;
	my $n = @$argv;
	return $self->_usage($c) if $n < 5 || $n > 10;
	my $stop = $argv->[4];
	my $skip = 3000;
	if ($n > 5) {
		return $self->_usage($c) unless _scan_int($argv->[5]);
		$skip = _atoi($argv->[5]);
	}
	my $fwd = $n > 6 && length $argv->[6] ? $argv->[6] : '#';
	my $rev = $n > 7 && length $argv->[7] ? $argv->[7] : '*';
	my $pause = $n > 8 && length $argv->[8] ? $argv->[8] : '';
	my $offms = 0;
	if ($n > 9) {
		return $self->_usage($c) unless _scan_int($argv->[9]);
		$offms = _atoi($argv->[9]);
	}
	my $set = sub { my %v = @_; @{ $self->{chanvars} }{keys %v} = values %v };
	my $sound = $self->_sound($argv->[3]);
	unless ($sound) {
		$set->(CPLAYBACKSTATUS => 'ERROR', CPLAYBACKOFFSET => -1);
		return $self->_done('200 result=-1 endpos=-1', { failure => 1 });
	}
	my $len_ms = _ms($sound, $sound->{samples});
	my $base = $offms < $len_ms ? ($offms < 0 ? 0 : $offms) : $len_ms;
	my ($base_t, $paused) = ($self->{cmd_start}, 0);
	my $cur;
	my $now_ms = sub {
		my ($at) = @_;
		my $p = $paused ? $base : $base + ($at - $base_t);
		return $p > $len_ms ? $len_ms : $p;
	};
	my $endpos = sub { int($_[0] * $sound->{rate} / 1000 / 8) };
	my $schedule = sub {
		my ($at, $p) = @_;
		($base, $base_t) = ($p, $at);
		$cur->{at} = $paused ? undef : $at + ($len_ms - $p);
	};
	$cur = $self->_start(watch_sock => 0,
	    timer => sub {
		$set->(CPLAYBACKSTATUS => 'SUCCESS', CPLAYBACKOFFSET => -1);
		$self->_done('200 result=0 endpos=-1');
	    },
	    digit => sub {
		my ($d, $at) = @_;
		my $p = $now_ms->($at);
		if (!$paused && index($fwd, $d) >= 0) {
			$p += $skip;
			return $cur->{timer}->() if $p >= $len_ms;
			return $schedule->($at, $p);
		}
		if (!$paused && index($rev, $d) >= 0) {
			return $schedule->($at, $p > $skip ? $p - $skip : 0);
		}
		if (length $pause && index($pause, $d) >= 0) {
			$paused = !$paused;
			return $schedule->($at, $p);
		}
		if (index($stop, $d) >= 0) {
			my $e = $endpos->($p);
			$set->(CPLAYBACKSTATUS => 'USERSTOPPED',
			    CPLAYBACKOFFSET => $e, CPLAYBACKSTOPKEY => $d);
			return $self->_done('200 result=' . ord($d) . " endpos=$e");
		}
		$self->_discard($d, $stop);
	    },
	    hangup => sub {
		my $e = $endpos->($now_ms->($_[0]));
		$set->(CPLAYBACKSTATUS => 'ERROR', CPLAYBACKOFFSET => $e);
		$self->_done("200 result=-1 endpos=$e");
	    });
	$schedule->($self->{cmd_start}, $base);
}

sub _cmd_tdd_mode {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv != 3;
	$self->_done('200 result=0');   # no channel here is TDD-capable
}

sub _cmd_verbose {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv < 2;
	$self->_note("verbose: $argv->[1]");
	$self->_done('200 result=1');
}

sub _cmd_wait_for_digit {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv != 4 || !_scan_int($argv->[3]);
	my $to = _atoi($argv->[3]);
	return $self->_done('200 result=0') if $to == 0;
	$self->_start(at => $to < 0 ? undef : $self->{cmd_start} + $to,
	    timer => sub { $self->_done('200 result=0') },
	    digit => sub { $self->_done('200 result=' . ord $_[0]) },
	    barge => sub { $self->_done('200 result=1') },
	    hangup => sub { $self->_done('200 result=-1') });
}

# No speech engine is loaded: SPEECH CREATE fails, the rest find no object.
sub _cmd_speech {
	my ($self, $argv, $c) = @_;
	my $sub = lc $argv->[1];
	my $need = { set => 4, 'load' => 5, unload => 4, activate => 4,
	    deactivate => 4 }->{$sub};
	return $self->_usage($c) if (defined $need && @$argv != $need)
	    || ($sub eq 'recognize' && @$argv < 4);
	$self->_done('200 result=0');
}

# app_stack's GOSUB: the subroutine is taken to run and return at once.
sub _cmd_gosub {
	my ($self, $argv, $c) = @_;
	return $self->_usage($c) if @$argv < 4 || @$argv > 5;
	$self->_reply('100 result=0 Trying...');
	$self->_done('200 result=0 Gosub complete');
}

# --- channel state --------------------------------------------------------

sub _setup_channel {
	my ($self) = @_;
	$self->{channel} //= sprintf('PJSIP/carrier-%08x', $chan_seq++);
	$self->{type} //= ($self->{channel} =~ m{^([^/]+)/})[0] // 'PJSIP';
	$self->{language} //= 'en';
	$self->{uniqueid} //= sprintf('%d.%d', time, $uniq_seq++);
	$self->{version} //= '20.9.3';
	$self->{dnid} = 'unknown'
	    unless defined $self->{dnid} && length $self->{dnid};
	$self->{extension} //= $self->{dnid} ne 'unknown' ? $self->{dnid} : 's';
	$self->{context} //= 'default';
	$self->{priority} //= 1;
	$self->{accountcode} //= '';
	$self->{threadid} //= 140023313659456 + int(rand(1 << 20)) * 4096;
	$self->{state} = $self->{answered} ? 6 : 4;   # Up, or Ring
	$self->{chanvars} = { %{ $self->{variables} // {} } };
	$self->{chanvars}{AGIEXITONHANGUP} //= 'yes' if $self->{exit_on_hangup};
	$self->{chanvars}{AGISIGHUP} //= 'no' unless $self->{sighup};
	$self->{database} = { %{ $self->{database} // {} } };
	$self->{loc} = {};
	my $script = $self->{flow} // '';
	my $host = $self->{host} =~ /:/ ? "[$self->{host}]" : $self->{host};
	$self->{request} //= "agi://$host:$self->{port}"
	    . (length $script ? "/$script" : '');
	my $unknown = sub { defined $_[0] && length $_[0] ? $_[0] : 'unknown' };
	my @env = ('agi_network: yes');
	push @env, "agi_network_script: $script" if length $script;
	push @env,
	    "agi_request: $self->{request}",
	    "agi_channel: $self->{channel}",
	    "agi_language: $self->{language}",
	    "agi_type: $self->{type}",
	    "agi_uniqueid: $self->{uniqueid}",
	    "agi_version: $self->{version}",
	    'agi_callerid: ' . $unknown->($self->{callerid}),
	    'agi_calleridname: ' . $unknown->($self->{calleridname}),
	    'agi_callingpres: ' . ($self->{callingpres} // 0),
	    'agi_callingani2: ' . ($self->{callingani2} // 0),
	    'agi_callington: ' . ($self->{callington} // 0),
	    'agi_callingtns: ' . ($self->{callingtns} // 0),
	    "agi_dnid: $self->{dnid}",
	    'agi_rdnis: ' . $unknown->($self->{rdnis}),
	    "agi_context: $self->{context}",
	    "agi_extension: $self->{extension}",
	    "agi_priority: $self->{priority}",
	    'agi_enhanced: 0.0',
	    "agi_accountcode: $self->{accountcode}",
	    "agi_threadid: $self->{threadid}";
	my $i = 0;
	push @env, 'agi_arg_' . ++$i . ": $_" for @{ $self->{args} // [] };
	$self->{env_lines} = \@env;
}

# pbx_retrieve_variable for channel variables and a few builtins, or a
# dialplan function when the name ends in ')'.
sub _get_var {
	my ($self, $name) = @_;
	return $self->{chanvars}{$name} if exists $self->{chanvars}{$name};
	my $cid = sub { defined $_[0] && length $_[0] ? $_[0] : undef };
	my %fn = (
	    'CALLERID(num)' => $cid->($self->{callerid}),
	    'CALLERID(name)' => $cid->($self->{calleridname}),
	    'CALLERID(dnid)' => $self->{dnid} eq 'unknown' ? undef : $self->{dnid},
	    'CALLERID(rdnis)' => $cid->($self->{rdnis}),
	    'CHANNEL(language)' => $self->{language},
	    'CHANNEL(name)' => $self->{channel},
	    'CHANNEL(uniqueid)' => $self->{uniqueid},
	    'CHANNEL(channeltype)' => $self->{type},
	    EXTEN => $self->{loc}{extension} // $self->{extension},
	    CONTEXT => $self->{loc}{context} // $self->{context},
	    PRIORITY => $self->{priority},
	    CHANNEL => $self->{channel},
	    UNIQUEID => $self->{uniqueid},
	    EPOCH => time,
	);
	if ($name =~ /\)\z/ && exists $fn{$name}) {
		return $fn{$name} // '';
	}
	return $fn{$name};
}

sub _set_route {
	my ($self) = @_;
	my $l = $self->{loc};
	my $p = $l->{next_priority} // $self->{priority} + 1;
	$self->{route} = 'context=' . ($l->{context} // $self->{context})
	    . ' extension=' . ($l->{extension} // $self->{extension})
	    . " priority=$p";
}

sub _stop_moh {
	my ($self) = @_;
	$self->_note('music on hold stops') if delete $self->{moh};
}

sub _discard {
	my ($self, $d, $esc) = @_;
	$self->_note("digit $d ignored: not in \"$esc\"");
}

# --- sound files --------------------------------------------------------------

# The formats looked for, in the order the fake prefers them when several
# exist (Asterisk takes the cheapest translation to the channel's codec;
# for a G.711 call that is this order too): [ext, rate, samples of a file].
my @FORMATS = (
	(map { [$_, 8000, sub { _size($_[0]) }] } qw(ulaw ul mu ulw pcm alaw al alw)),
	(map { [$_, 8000, sub { int(_size($_[0]) / 2) }] } qw(sln slin raw)),
	['wav', 8000, \&_wav_samples],
	['gsm', 8000, sub { int(_size($_[0]) / 33) * 160 }],
	['sln16', 16000, sub { int(_size($_[0]) / 2) }],
	['wav16', 16000, \&_wav_samples],
	['g722', 16000, sub { _size($_[0]) * 2 }],
);

# The named sound as Asterisk finds it: { path, rate, samples }, or undef
# (missing, or a file its format module would refuse).
sub _sound {
	my ($self, $name) = @_;
	if (my $ms = ($self->{sounds} // {})->{$name}) {
		return { path => $name, rate => 8000, samples => int($ms * 8) };
	}
	my @langs = ($self->{language});
	(my $short = $self->{language}) =~ s/_.*//;
	push @langs, $short if $short ne $self->{language};
	my @bases;
	if ($name =~ m{^/}) {
		my ($dir, $file) = $name =~ m{^(.*)/([^/]*)$};
		push @bases, "$dir/$_/$file" for @langs;
		push @bases, $name;
	} elsif ($name !~ m{://} && defined $self->{sounds_dir}) {
		my $d = $self->{sounds_dir};
		push @bases, "$d/$_/$name" for @langs;
		push @bases, "$d/$name", "$d/en/$name";
	}
	for my $base (@bases) {
		for my $f (@FORMATS) {
			my ($ext, $rate, $count) = @$f;
			my $path = "$base.$ext";
			next unless -f $path;
			my $samples = $count->($path, $rate);
			unless (defined $samples) {
				$self->_note("$path: Asterisk could not open it ($@)");
				return undef;
			}
			return { path => $path, rate => $rate, samples => $samples };
		}
	}
	$self->_note("$name: no such sound file");
	return undef;
}

# format_wav's check: PCM, mono, 16-bit, exactly the format's rate.
sub _wav_samples {
	my ($path, $rate) = @_;
	my $w = Wav::read($path) or return undef;
	unless ($w->{tag} == 1 && $w->{channels} == 1 && $w->{bits} == 16
	    && $w->{rate} == $rate) {
		$@ = "tag $w->{tag}, $w->{channels} channels, $w->{bits} bits, "
		    . "$w->{rate} Hz: not mono 16-bit $rate Hz PCM";
		return undef;
	}
	return $w->{samples};
}

sub _size { (-s $_[0]) || 0 }

sub _ms { $_[1] * 1000 / $_[0]{rate} }

# ast_tellstream after playing from $offset since $start: whole 20 ms
# frames, never past the end.
sub _pos {
	my ($sound, $offset, $start, $at) = @_;
	my $frame = $sound->{rate} / 50;
	my $played = int(($at - $start) * $sound->{rate} / 1000 / $frame + 1e-6)
	    * $frame;
	$played = 0 if $played < 0;
	my $p = $offset + $played;
	return $p > $sound->{samples} ? $sound->{samples} : $p;
}

# --- small helpers --------------------------------------------------------------

sub _atoi { ($_[0] // '') =~ /^\s*([+-]?\d+)/ ? $1 + 0 : 0 }

sub _scan_int { ($_[0] // '') =~ /^\s*[+-]?\d/ ? 1 : 0 }   # sscanf %30d

sub _vnow {
	my ($self) = @_;
	return (Time::HiRes::time() - $self->{t0}) * 1000 / $self->{time_scale};
}

sub _real {
	my ($self, $ms) = @_;
	return $self->{t0} + $ms * $self->{time_scale} / 1000;
}

sub _show {
	my ($s) = @_;
	$s =~ s/\\/\\\\/g;
	$s =~ s/\r/\\r/g;
	$s =~ s/\t/\\t/g;
	$s =~ s/\n/\\n/g;
	$s =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
	return $s;
}

sub _log {
	my ($self, $who, $line) = @_;
	push @{ $self->{transcript} },
	    sprintf('%9.1f %s: %s', $self->_vnow, $who, _show($line));
}

sub _note {
	my ($self, $text) = @_;
	push @{ $self->{transcript} },
	    sprintf('%9.1f    # %s', $self->{t0} ? $self->_vnow : 0, $text);
}

sub _violation {
	my ($self, $text) = @_;
	push @{ $self->{violations} }, $text;
	$self->_note("violation: $text");
}

1;
