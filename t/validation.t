#!/usr/bin/perl
# Flow validation through POST /api/ivr/flows: a table of invalid flows,
# each one small change to a valid base flow, with the exact first error
# ("path: message") the API must answer; then the store is checked
# untouched, several problems are reported together, and a flow using
# every feature is accepted and read back with its defaults filled in.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IvrdTest;
use JSON::PP;
use Test::More;

my $JSON = JSON::PP->new->canonical;
sub clone { $JSON->decode($JSON->encode($_[0])) }

# The seed's "Create Flow" example, verbatim but for its tenant: the test
# token belongs to tenant 'acme' and may not write tenant 'default', so the
# field is left out and the flow goes to the token's tenant.
my $BASE = {
	id => 'support',
	entry_context => 'dp-ivr-support',
	tts_backend => 'polly',
	languages => [ { code => 'en-US', voice => 'Joanna' } ],
	prompts => {
		welcome => { text => {
			'en-US' => 'Welcome to support. Press 1 for technical support.',
		} },
	},
	menus => {
		root => {
			id => 'root',
			prompt => 'welcome',
			timeout_sec => 10,
			max_retries => 3,
			options => {
				1 => { action => 'queue', queue_ref => 'support_q' },
			},
			fallback_action => 'voicemail',
		},
	},
	business_hours => {
		name => 'business-hours',
		timeframes => {
			map { $_ => ['09:00-17:00'] }
			    qw(monday tuesday wednesday thursday friday)
		},
		timezone => 'America/New_York',
	},
	voicemail_fallback => '1000',
	call_recording => { enabled => JSON::PP::true, format => 'wav' },
};

my $TARGET_MSG = 'must be 1-80 characters of A-Z a-z 0-9 + * # @ . _ - / :';
my $ID_MSG = 'must be 1-64 characters of A-Z a-z 0-9 _ -';
my $KEY_MSG = 'key must be 1-8 DTMF characters (0-9 * #)';
my $ACTIONS = 'menu, queue, extension, voicemail, hangup, transfer, language';

sub root_menu { $_[0]{menus}{root} }
sub opt1 { $_[0]{menus}{root}{options}{1} = $_[1] }

# [ name, sub modifying the flow, expected first error, any further errors ]
my @rows = (
	# Identity
	[ 'missing id', sub { delete $_[0]{id} },
	    'flow: id is required' ],
	[ 'id with a slash', sub { $_[0]{id} = 'sup/port' },
	    "id: $ID_MSG" ],
	[ '65-character id', sub { $_[0]{id} = 'a' x 65 },
	    "id: $ID_MSG" ],
	[ 'id that is a number', sub { $_[0]{id} = 42 },
	    'id: must be a string' ],
	[ 'entry_context with a space', sub { $_[0]{entry_context} = 'dp ivr' },
	    'entry_context: must be 1-79 characters of A-Z a-z 0-9 _ -' ],

	# Unknown fields
	[ 'unknown top-level field', sub { $_[0]{colour} = 'blue' },
	    'colour: unknown field' ],
	[ 'typo timout_sec inside a menu',
	    sub { root_menu($_[0])->{timout_sec} = delete root_menu($_[0])->{timeout_sec} },
	    'menus.root.timout_sec: unknown field' ],
	[ 'unknown field inside a language', sub { $_[0]{languages}[0]{gender} = 'f' },
	    'languages.0.gender: unknown field' ],

	# Types and ranges
	[ 'timeout_sec as a string', sub { root_menu($_[0])->{timeout_sec} = '10' },
	    'menus.root.timeout_sec: must be an integer' ],
	[ 'timeout_sec 0', sub { root_menu($_[0])->{timeout_sec} = 0 },
	    'menus.root.timeout_sec: must be between 1 and 300' ],
	[ 'max_retries 2.5', sub { root_menu($_[0])->{max_retries} = 2.5 },
	    'menus.root.max_retries: must be an integer' ],
	[ 'max_retries 11', sub { root_menu($_[0])->{max_retries} = 11 },
	    'menus.root.max_retries: must be between 0 and 10' ],
	[ 'call_recording.enabled "yes"', sub { $_[0]{call_recording}{enabled} = 'yes' },
	    'call_recording.enabled: must be a boolean' ],
	[ 'call_recording.format mp3', sub { $_[0]{call_recording}{format} = 'mp3' },
	    'call_recording.format: must be one of wav, wav49, gsm, sln, ulaw, alaw, g722' ],
	[ 'languages as an object',
	    sub { $_[0]{languages} = { 'en-US' => 'Joanna' } },
	    'languages: must be an array' ],
	# The prompt's en-US text then names a language the flow lacks: true,
	# so a second message is expected here.
	[ 'languages empty', sub { $_[0]{languages} = [] },
	    'languages: must have at least one language',
	    "prompts.welcome.text.en-US: language 'en-US' is not one of the flow's languages" ],
	[ 'language without a voice', sub { delete $_[0]{languages}[0]{voice} },
	    'languages.0: voice is required' ],
	[ 'max_call_duration 0', sub { $_[0]{max_call_duration} = 0 },
	    'max_call_duration: must be between 10 and 86400' ],

	# Enums and languages
	[ 'tts_backend not in the enum', sub { $_[0]{tts_backend} = 'google' },
	    'tts_backend: must be one of polly, local' ],
	[ 'unsupported language code',
	    sub { push @{ $_[0]{languages} }, { code => 'xx-XX', voice => 'Bob' } },
	    'languages.1.code: must be one of en-US, en-GB, es-ES, es-US, '
	    . 'fr-FR, de-DE, it-IT, pt-BR, ja-JP, ko-KR, zh-CN, ru-RU' ],
	[ 'duplicate language',
	    sub { push @{ $_[0]{languages} }, { code => 'en-US', voice => 'Matthew' } },
	    "languages.1.code: duplicate language 'en-US'" ],
	[ 'prompt text in a language the flow does not have',
	    sub { $_[0]{prompts}{welcome}{text}{'fr-FR'} = 'Bienvenue.' },
	    "prompts.welcome.text.fr-FR: language 'fr-FR' is not one of the flow's languages" ],
	[ 'prompt with an empty text',
	    sub { $_[0]{prompts}{welcome}{text}{'en-US'} = '' },
	    'prompts.welcome.text.en-US: must not be empty' ],

	# References
	[ 'menu prompt that does not exist', sub { root_menu($_[0])->{prompt} = 'hello' },
	    "menus.root.prompt: prompt 'hello' does not exist" ],
	[ 'menu_ref to a missing menu',
	    sub { opt1($_[0], { action => 'menu', menu_ref => 'billing' }) },
	    "menus.root.options.1.menu_ref: menu 'billing' does not exist" ],
	[ 'parent_menu missing', sub { root_menu($_[0])->{parent_menu} = 'main' },
	    "menus.root.parent_menu: menu 'main' does not exist" ],
	[ 'parent_menu is the menu itself', sub { root_menu($_[0])->{parent_menu} = 'root' },
	    'menus.root.parent_menu: must not be the menu itself' ],
	[ 'menu id differs from its key', sub { root_menu($_[0])->{id} = 'main' },
	    "menus.root.id: must match the menu's key 'root'" ],
	[ 'several menus and none named root',
	    sub { my $m = delete $_[0]{menus}{root}; $m->{id} = 'main';
		  $_[0]{menus}{main} = $m;
		  $_[0]{menus}{other} = { %{ clone($m) }, id => 'other' } },
	    "menus: a flow with several menus needs one named 'root'" ],
	[ 'language action to a language the flow does not have',
	    sub { opt1($_[0], { action => 'language', language => 'es-US' }) },
	    "menus.root.options.1.language: language 'es-US' is not one of the flow's languages" ],

	# Every action without its required field
	[ 'queue without queue_ref', sub { opt1($_[0], { action => 'queue' }) },
	    "menus.root.options.1: queue_ref is required for action 'queue'" ],
	[ 'extension without context',
	    sub { opt1($_[0], { action => 'extension', extension => '1001' }) },
	    "menus.root.options.1: context is required for action 'extension'" ],
	[ 'extension without extension',
	    sub { opt1($_[0], { action => 'extension', context => 'default' }) },
	    "menus.root.options.1: extension is required for action 'extension'" ],
	[ 'voicemail without voicemail_box',
	    sub { opt1($_[0], { action => 'voicemail', context => 'default' }) },
	    "menus.root.options.1: voicemail_box is required for action 'voicemail'" ],
	[ 'voicemail without context',
	    sub { opt1($_[0], { action => 'voicemail', voicemail_box => '1000' }) },
	    "menus.root.options.1: context is required for action 'voicemail'" ],
	[ 'transfer without destination',
	    sub { opt1($_[0], { action => 'transfer', timeout => 20 }) },
	    "menus.root.options.1: destination is required for action 'transfer'" ],
	[ 'menu without menu_ref', sub { opt1($_[0], { action => 'menu' }) },
	    "menus.root.options.1: menu_ref is required for action 'menu'" ],
	[ 'language without language', sub { opt1($_[0], { action => 'language' }) },
	    "menus.root.options.1: language is required for action 'language'" ],
	[ 'option without action', sub { opt1($_[0], { queue_ref => 'support_q' }) },
	    'menus.root.options.1: action is required' ],

	# Option fields and actions
	[ 'field not allowed for the action',
	    sub { opt1($_[0], { action => 'queue', queue_ref => 'support_q',
		  extension => '1001' }) },
	    "menus.root.options.1.extension: not allowed for action 'queue'" ],
	[ 'timeout on a queue option',
	    sub { opt1($_[0], { action => 'queue', queue_ref => 'support_q',
		  timeout => 30 }) },
	    "menus.root.options.1.timeout: not allowed for action 'queue'" ],
	[ 'action not in the enum',
	    sub { opt1($_[0], { action => 'dial', destination => '1001' }) },
	    "menus.root.options.1.action: must be one of $ACTIONS" ],
	[ 'transfer timeout 0',
	    sub { opt1($_[0], { action => 'transfer', destination => '1001',
		  timeout => 0 }) },
	    'menus.root.options.1.timeout: must be between 1 and 600' ],
	[ 'option key 1a',
	    sub { root_menu($_[0])->{options}{'1a'} = delete root_menu($_[0])->{options}{1} },
	    "menus.root.options.1a: $KEY_MSG" ],
	[ '9-character option key',
	    sub { root_menu($_[0])->{options}{123456789} = delete root_menu($_[0])->{options}{1} },
	    "menus.root.options.123456789: $KEY_MSG" ],
	[ 'menu without options', sub { root_menu($_[0])->{options} = {} },
	    'menus.root.options: must have at least one option' ],

	# Fallbacks
	[ 'fallback_action voicemail without voicemail_fallback',
	    sub { delete $_[0]{voicemail_fallback} },
	    "menus.root.fallback_action: 'voicemail' needs the flow's voicemail_fallback" ],
	[ 'fallback_action queue without fallback_queue_ref',
	    sub { root_menu($_[0])->{fallback_action} = 'queue' },
	    "menus.root.fallback_action: 'queue' needs the menu's fallback_queue_ref" ],
	[ 'fallback_action not in the enum',
	    sub { root_menu($_[0])->{fallback_action} = 'repeat' },
	    'menus.root.fallback_action: must be one of voicemail, queue, hangup, or an option object' ],

	# Business hours
	[ 'business_hours bad day',
	    sub { $_[0]{business_hours}{timeframes}{funday} = ['10:00-12:00'] },
	    'business_hours.timeframes.funday: unknown day (monday .. sunday)' ],
	[ 'business_hours range 9-17',
	    sub { $_[0]{business_hours}{timeframes}{monday} = ['9-17'] },
	    "business_hours.timeframes.monday.0: '9-17' is not a HH:MM-HH:MM range" ],
	[ 'business_hours range 24:30',
	    sub { $_[0]{business_hours}{timeframes}{friday} = ['20:00-24:30'] },
	    "business_hours.timeframes.friday.0: '20:00-24:30' is not a HH:MM-HH:MM range" ],
	[ 'business_hours empty range',
	    sub { $_[0]{business_hours}{timeframes}{friday} = ['09:00-09:00'] },
	    "business_hours.timeframes.friday.0: '09:00-09:00' is an empty range" ],
	[ 'timezone Mars/Base', sub { $_[0]{business_hours}{timezone} = 'Mars/Base' },
	    "business_hours.timezone: unknown time zone 'Mars/Base'" ],
	[ 'timezone ../../etc/passwd',
	    sub { $_[0]{business_hours}{timezone} = '../../etc/passwd' },
	    "business_hours.timezone: unknown time zone '../../etc/passwd'" ],
	[ 'timezone /etc/localtime',
	    sub { $_[0]{business_hours}{timezone} = '/etc/localtime' },
	    "business_hours.timezone: unknown time zone '/etc/localtime'" ],
	[ 'timezone naming a non-zone file',
	    sub { $_[0]{business_hours}{timezone} = 'zone1970.tab' },
	    "business_hours.timezone: unknown time zone 'zone1970.tab'" ],
	[ 'holiday 2026-02-30',
	    sub { $_[0]{business_hours}{holidays} = ['2026-12-25', '2026-02-30'] },
	    "business_hours.holidays.1: '2026-02-30' is not a date (YYYY-MM-DD or MM-DD)" ],
	[ 'holiday 2025-02-29 (not a leap year)',
	    sub { $_[0]{business_hours}{holidays} = ['2025-02-29'] },
	    "business_hours.holidays.0: '2025-02-29' is not a date (YYYY-MM-DD or MM-DD)" ],
	[ 'business_hours without name', sub { delete $_[0]{business_hours}{name} },
	    'business_hours: name is required' ],

	# Strings that reach the dialplan
	[ 'queue_ref with a quote-comma injection',
	    sub { opt1($_[0], { action => 'queue', queue_ref => 'sales",Dial(SIP/evil' }) },
	    "menus.root.options.1.queue_ref: $TARGET_MSG" ],
	[ 'queue_ref with a newline',
	    sub { opt1($_[0], { action => 'queue', queue_ref => "sales_q\nEXEC Dial SIP/evil" }) },
	    "menus.root.options.1.queue_ref: $TARGET_MSG" ],
	[ 'extension with a variable expansion',
	    sub { opt1($_[0], { action => 'extension', context => 'default',
		  extension => '${SHELL(id)}' }) },
	    "menus.root.options.1.extension: $TARGET_MSG" ],
	[ 'transfer destination with a pipe',
	    sub { opt1($_[0], { action => 'transfer', destination => 'SIP/a|SIP/b' }) },
	    "menus.root.options.1.destination: $TARGET_MSG" ],
	[ 'voicemail_fallback with a comma', sub { $_[0]{voicemail_fallback} = '1000,u' },
	    "voicemail_fallback: $TARGET_MSG" ],
	[ '81-character queue_ref',
	    sub { opt1($_[0], { action => 'queue', queue_ref => 'q' x 81 }) },
	    "menus.root.options.1.queue_ref: $TARGET_MSG" ],
);

my $ivrd = IvrdTest->start;

# The base itself must be valid, or every row below proves nothing.
my $res = $ivrd->req(POST => '/flows', body => $BASE);
is($res->{status}, 201, 'the base flow (the seed example) is valid')
    or diag($res->{content});

my $before = $ivrd->req(GET => '/flows');
is($before->{status}, 200, 'GET /flows before the table');
my $count = $before->{json}{count};
is($count, 1, 'one flow stored before the table');

cmp_ok(scalar @rows, '>=', 30, 'the table has at least 30 rows');
for my $row (@rows) {
	my ($name, $change, $want, @more) = @$row;
	my $flow = clone($BASE);
	$flow->{id} = 'candidate';
	$change->($flow);
	my $r = $ivrd->req(POST => '/flows', body => $flow);
	subtest $name => sub {
		is($r->{status}, 400, 'status 400');
		is($r->{headers}{'content-type'}, 'application/json',
		    'JSON answer');
		is($r->{json}{error}, $want, 'error names the problem');
		is(ref $r->{json}{errors}, 'ARRAY', 'errors is an array')
		    or return;
		is($r->{json}{errors}[0], $want, 'errors starts with it');
		# One mistake, one message: no cascade of follow-up errors.
		is_deeply($r->{json}{errors}, [ $want, @more ],
		    @more ? 'and the expected follow-up' : 'exactly one problem')
		    or diag(explain $r->{json}{errors});
	};
}

# The dialplan-string rule is an allow-list (letters, digits, + * # @ . _
# - / :), and its message says so: a '$' or a '&' is named by what is
# allowed, not by a partial list of what is not.
for my $bad ('sales$q', 'sales&q') {
	my $flow = clone($BASE);
	$flow->{id} = 'candidate';
	$flow->{menus}{root}{options}{1}{queue_ref} = $bad;
	my $r = $ivrd->req(POST => '/flows', body => $flow);
	is($r->{status}, 400, "queue_ref '$bad': 400");
	like($r->{json}{error} // '',
	    qr/^menus\.root\.options\.1\.queue_ref: .*(?:A-Z a-z 0-9|\Q$bad\E|'\W')/,
	    "queue_ref '$bad': the message names the allowed characters or the bad one");
}

my $after = $ivrd->req(GET => '/flows');
is($after->{json}{count}, $count, 'the store holds as many flows as before');
is_deeply([ map { $_->{id} } @{ $after->{json}{flows} } ], ['support'],
    'and only the base flow');
is($ivrd->req(GET => '/flows/candidate')->{status}, 404,
    'no partial flow was stored');

# Several problems at once: all of them, in document order (the harness
# sends keys sorted, so max_call_duration < menus < tts_backend).
{
	my $flow = clone($BASE);
	$flow->{id} = 'three';
	$flow->{max_call_duration} = 5;
	$flow->{menus}{root}{timeout_sec} = 'ten';
	$flow->{tts_backend} = 'espeak';
	my $r = $ivrd->req(POST => '/flows', body => $flow);
	is($r->{status}, 400, 'a flow with three problems: 400');
	is_deeply($r->{json}{errors}, [
		'max_call_duration: must be between 10 and 86400',
		'menus.root.timeout_sec: must be an integer',
		'tts_backend: must be one of polly, local',
	], 'all three problems are listed, in document order');
	is($r->{json}{error}, 'max_call_duration: must be between 10 and 86400',
	    'error is the first of them');
	is($ivrd->req(GET => '/flows/three')->{status}, 404,
	    'and nothing was stored');
}

# A flow that uses every feature is accepted, and reads back normalised.
{
	my $full = {
		id => 'everything',
		languages => [
			{ code => 'en-US', voice => 'Joanna' },
			{ code => 'es-US', voice => 'Lupe' },
		],
		prompts => {
			welcome => { text => {
				'en-US' => 'Welcome. Press 1 for sales.',
				'es-US' => 'Bienvenido. Presione 1 para ventas.',
			} },
			sales_menu => { text => { 'en-US' => 'Sales menu.' } },
			goodbye => { text => { 'en-US' => 'Goodbye.' } },
			espanol => { text => { 'es-US' => "Espa\x{f1}ol." } },
		},
		menus => {
			root => {
				id => 'root',
				prompt => 'welcome',
				options => {
					1 => { action => 'menu', menu_ref => 'sales' },
					2 => { action => 'queue', queue_ref => 'support_q' },
					3 => { action => 'extension', context => 'default',
					    extension => '1001' },
					4 => { action => 'voicemail', voicemail_box => '1000',
					    context => 'default' },
					5 => { action => 'hangup', prompt => 'goodbye' },
					6 => { action => 'transfer',
					    destination => 'PJSIP/+15551234' },
					9 => { action => 'language', language => 'es-US',
					    prompt => 'espanol' },
					'*0#' => { action => 'hangup' },
				},
				fallback_action => { action => 'transfer',
				    destination => '1002', timeout => 45 },
			},
			sales => {
				id => 'sales',
				prompt => 'sales_menu',
				timeout_sec => 8,
				max_retries => 0,
				parent_menu => 'root',
				options => {
					1 => { action => 'queue', queue_ref => 'sales_q' },
				},
				fallback_action => 'queue',
				fallback_queue_ref => 'sales_overflow',
			},
		},
		business_hours => {
			name => 'night-shift',
			timeframes => {
				friday => ['22:00-06:00'],
				monday => ['08:00-12:00', '13:00-24:00'],
				sunday => [],
			},
			timezone => 'Europe/Paris',
			holidays => ['2026-12-25', '01-01'],
		},
		voicemail_fallback => '1000@default',
		call_recording => { enabled => JSON::PP::true },
	};
	# Sent as UTF-8 bytes (the prompt has an n with tilde): the harness
	# encodes a body reference as characters.
	my $r = $ivrd->req(POST => '/flows',
	    body => JSON::PP->new->utf8->canonical->encode($full));
	is($r->{status}, 201, 'a flow with every feature is accepted')
	    or diag($r->{content});
	is_deeply($r->{json}, {
		message => 'Flow created successfully',
		flow => { id => 'everything', tenant => 'acme',
		    entry_context => 'dp-ivr-everything',
		    created_at => $r->{json}{flow}{created_at},
		    prompts_total => $r->{json}{flow}{prompts_total},
		    prompts_ready => $r->{json}{flow}{prompts_ready} },
	}, 'the creation answer');
	cmp_ok($r->{json}{flow}{prompts_total}, '>', 0,
	    'it says how many prompts are to render');
	like($r->{json}{flow}{created_at} // '',
	    qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'created_at is ISO 8601 UTC');

	my $g = $ivrd->req(GET => '/flows/everything');
	is($g->{status}, 200, 'GET the full flow');
	my $got = $g->{json};
	like($got->{created_at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
	    'GET has created_at');
	is($got->{updated_at}, $got->{created_at}, 'updated_at = created_at');
	is($got->{status}, 'inactive', 'a new flow is inactive');
	my $want = clone($full);
	$want->{tenant} = 'acme';
	$want->{entry_context} = 'dp-ivr-everything';
	$want->{tts_backend} = 'local';
	$want->{max_call_duration} = 300;
	$want->{call_recording}{format} = 'wav';
	$want->{menus}{root}{timeout_sec} = 5;
	$want->{menus}{root}{max_retries} = 3;
	$want->{menus}{root}{options}{6}{timeout} = 30;
	$want->{status} = 'inactive';
	$want->{created_at} = $got->{created_at};
	$want->{updated_at} = $got->{updated_at};
	is_deeply(IvrdTest::stored($got), $want,
	    'GET returns the flow with every default filled')
	    or diag(explain $got);
	is($got->{menus}{sales}{timeout_sec}, 8,
	    'an explicit timeout_sec is kept');
	is($got->{menus}{sales}{max_retries}, 0,
	    'an explicit max_retries of 0 is kept, not defaulted');
	is_deeply($got->{business_hours}{timeframes}{friday}, ['22:00-06:00'],
	    'the overnight range is kept as written');
	is_deeply([ sort keys %{ $got->{menus}{root}{options} } ],
	    [ '*0#', 1 .. 6, 9 ], 'every option key is kept');

	my $l = $ivrd->req(GET => '/flows');
	is($l->{json}{count}, 2, 'two flows stored now');
}

$ivrd->stop;
done_testing;
