#!/usr/bin/perl
# The /api/ivr flow endpoints as the seed shows them: list, create, get,
# update, delete, status; the seed's example flows round-trip field by
# field with their defaults filled.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IvrdTest;
use JSON::PP;
use Test::More;

my $ISO = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
my $ivrd = IvrdTest->start(tenant => 'default');

# The seed's "Create Flow" request body.
my $support = {
	id => 'support', tenant => 'default', entry_context => 'dp-ivr-support',
	tts_backend => 'polly',
	languages => [ { code => 'en-US', voice => 'Joanna' } ],
	prompts => { welcome => { text => {
	    'en-US' => 'Welcome to support. Press 1 for technical support.' } } },
	menus => { root => { id => 'root', prompt => 'welcome', timeout_sec => 10,
	    max_retries => 3,
	    options => { 1 => { action => 'queue', queue_ref => 'support_q' } },
	    fallback_action => 'voicemail' } },
	business_hours => { name => 'business-hours',
	    timeframes => { map { $_ => ['09:00-17:00'] }
	        qw(monday tuesday wednesday thursday friday) },
	    timezone => 'America/New_York' },
	voicemail_fallback => '1000',
	call_recording => { enabled => JSON::PP::true, format => 'wav' },
};

# The seed's "Get Flow" example (as a PUT body it carries its timestamps).
my $sales = {
	id => 'sales', tenant => 'default', entry_context => 'dp-ivr-sales',
	tts_backend => 'polly',
	languages => [ { code => 'en-US', voice => 'Joanna' } ],
	prompts => { welcome => { text => { 'en-US' =>
	    'Welcome to ACME. For Sales press 1, for Support press 2.' } } },
	menus => { root => { id => 'root', prompt => 'welcome', timeout_sec => 10,
	    max_retries => 3, options => {
	        1 => { action => 'queue', queue_ref => 'sales_q' },
	        2 => { action => 'queue', queue_ref => 'support_q' } },
	    fallback_action => 'voicemail' } },
	business_hours => $support->{business_hours},
	voicemail_fallback => '1000',
	call_recording => { enabled => JSON::PP::true, format => 'wav' },
	max_call_duration => 300,
	created_at => '2024-01-01T00:00:00', updated_at => '2024-01-01T00:00:00',
};

# The seed's "Complete Flow Example": no entry_context, two languages.
my $cs = {
	id => 'customer-service', tenant => 'default', tts_backend => 'polly',
	languages => [ { code => 'en-US', voice => 'Joanna' },
	    { code => 'es-US', voice => 'Lupe' } ],
	prompts => { welcome => { text => {
	    'en-US' => 'Welcome to customer service. Press 1 for sales, 2 for support, 3 for billing.',
	    'es-US' => "Bienvenido al servicio al cliente. Presione 1 para ventas, 2 para soporte, 3 para facturaci\x{f3}n." } } },
	menus => { root => { id => 'root', prompt => 'welcome', timeout_sec => 10,
	    max_retries => 3, options => {
	        1 => { action => 'queue', queue_ref => 'sales_q' },
	        2 => { action => 'queue', queue_ref => 'support_q' },
	        3 => { action => 'queue', queue_ref => 'billing_q' } },
	    fallback_action => 'voicemail' } },
	business_hours => $support->{business_hours},
	voicemail_fallback => '1000',
	call_recording => { enabled => JSON::PP::true, format => 'wav' },
};

# Every field the user sent comes back as sent (deep, field by field).
sub same_fields {
	my ($got, $sent, $path) = @_;
	for my $k (sort keys %$sent) {
		next if $k eq 'created_at' || $k eq 'updated_at';
		my $p = $path ? "$path.$k" : $k;
		if (ref $sent->{$k} eq 'HASH') {
			same_fields($got->{$k}, $sent->{$k}, $p);
		} else {
			is_deeply($got->{$k}, $sent->{$k}, "$p round-trips");
		}
	}
}

# --- empty store ----------------------------------------------------------
my $res = $ivrd->req(GET => '/flows');
is($res->{status}, 200, 'GET /flows on an empty store: 200');
is_deeply($res->{json}, { flows => [], count => 0 }, 'no flows, count 0');
like($res->{headers}{'content-type'}, qr{^application/json}, 'Content-Type is JSON');

# --- create ---------------------------------------------------------------
$res = $ivrd->req(POST => '/flows', body => $support);
is($res->{status}, 201, 'POST /flows: 201');
is($res->{json}{message}, 'Flow created successfully', 'the seed\'s message');
is_deeply([ sort keys %{ $res->{json}{flow} } ],
    [ qw(created_at entry_context id prompts_ready prompts_total tenant) ],
    'flow summary: the seed\'s keys and the pre-render counts');
is($res->{json}{flow}{id}, 'support', 'id');
is($res->{json}{flow}{tenant}, 'default', 'tenant');
is($res->{json}{flow}{entry_context}, 'dp-ivr-support', 'entry_context kept');
like($res->{json}{flow}{created_at}, $ISO, 'created_at is ISO 8601 UTC');
is($res->{headers}{location}, '/api/ivr/flows/support', 'Location names the new flow');

$res = $ivrd->req(POST => '/flows', body => $cs);
is($res->{status}, 201, 'the Complete Flow Example is accepted');
is($res->{json}{flow}{entry_context}, 'dp-ivr-customer-service',
    'entry_context generated as dp-ivr-<id> when absent');

my %sales_in = %$sales;
$res = $ivrd->req(POST => '/flows', body => \%sales_in);
is($res->{status}, 201, 'the Get Flow example, timestamps included, is accepted');
isnt($res->{json}{flow}{created_at}, '2024-01-01T00:00:00',
    'created_at is the server\'s, not the client\'s');

# --- get: field by field, defaults filled --------------------------------
for my $case ([ support => $support ], [ 'customer-service' => $cs ], [ sales => $sales ]) {
	my ($id, $sent) = @$case;
	$res = $ivrd->req(GET => "/flows/$id");
	is($res->{status}, 200, "GET /flows/$id: 200");
	same_fields($res->{json}, $sent, '');
	my $f = $res->{json};
	is($f->{max_call_duration}, 300, "$id: max_call_duration defaults to 300");
	is($f->{status}, 'inactive', "$id: a new flow is inactive");
	like($f->{created_at}, $ISO, "$id: created_at ISO 8601");
	like($f->{updated_at}, $ISO, "$id: updated_at ISO 8601");
}
$res = $ivrd->req(GET => '/flows/customer-service');
is($res->{json}{entry_context}, 'dp-ivr-customer-service', 'GET shows the generated entry_context');

# Defaults the seed's schema names, on a minimal flow.
my $minimal = {
	id => 'mini', languages => [ { code => 'fr-FR', voice => 'Lea' } ],
	prompts => { hello => { text => { 'fr-FR' => 'Bonjour' } } },
	menus => { main => { id => 'main', prompt => 'hello',
	    options => { '0' => { action => 'transfer', destination => '+15551234' } } } },
};
is($ivrd->req(POST => '/flows', body => $minimal)->{status}, 201, 'a minimal flow is accepted');
my $m = $ivrd->req(GET => '/flows/mini')->{json};
is($m->{tenant}, 'default', 'tenant defaults to default');
is($m->{entry_context}, 'dp-ivr-mini', 'entry_context generated');
is($m->{menus}{main}{timeout_sec}, 5, 'timeout_sec defaults to 5');
is($m->{menus}{main}{max_retries}, 3, 'max_retries defaults to 3');
is($m->{menus}{main}{options}{0}{timeout}, 30, 'transfer timeout defaults to 30');
is_deeply($m->{call_recording}, { enabled => JSON::PP::false, format => 'wav' },
    'call_recording defaults to disabled, wav');
is($m->{max_call_duration}, 300, 'max_call_duration defaults to 300');
ok(!exists $m->{business_hours}, 'no business_hours invented');

# --- list -----------------------------------------------------------------
$res = $ivrd->req(GET => '/flows');
is($res->{json}{count}, 4, 'count is 4');
is(scalar @{ $res->{json}{flows} }, 4, 'four flows listed');
is_deeply([ sort keys %{ $res->{json}{flows}[0] } ],
    [ sort qw(id tenant entry_context tts_backend languages created_at updated_at status) ],
    'each list item has the seed\'s keys');
is_deeply([ map { $_->{id} } @{ $res->{json}{flows} } ],
    [ qw(customer-service mini sales support) ], 'ordered by id');

# --- update ---------------------------------------------------------------
my $before = $ivrd->req(GET => '/flows/support')->{json};
sleep 1;
my %upd = %$support;
delete $upd{id};
$upd{max_call_duration} = 600;
$upd{menus} = JSON::PP->new->decode(JSON::PP->new->encode($support->{menus}));
$upd{menus}{root}{options}{2} = { action => 'hangup' };
$res = $ivrd->req(PUT => '/flows/support', body => \%upd);
is($res->{status}, 200, 'PUT /flows/support: 200 (id taken from the URL)');
is($res->{json}{message}, 'Flow updated successfully', 'the seed\'s message');
is($res->{json}{flow}{id}, 'support', 'flow.id');
like($res->{json}{flow}{updated_at}, $ISO, 'flow.updated_at');
my $after = $ivrd->req(GET => '/flows/support')->{json};
is($after->{max_call_duration}, 600, 'the change is stored');
is($after->{menus}{root}{options}{2}{action}, 'hangup', 'the new option is stored');
is($after->{created_at}, $before->{created_at}, 'created_at unchanged by PUT');
isnt($after->{updated_at}, $before->{updated_at}, 'updated_at moved');
is($after->{status}, 'inactive', 'status kept');

# A GET body PUT back as is (timestamps, status and all) is accepted.
$res = $ivrd->req(PUT => '/flows/support', body => $after);
is($res->{status}, 200, 'PUT of a GET body round-trips');
my $again = $ivrd->req(GET => '/flows/support')->{json};
delete @$again{qw(updated_at)};
delete @$after{qw(updated_at)};
is_deeply(IvrdTest::stored($again), IvrdTest::stored($after),
    'and changes nothing but updated_at');

# --- status ---------------------------------------------------------------
$res = $ivrd->req(GET => '/status');
is($res->{status}, 200, 'GET /status: 200');
is_deeply($res->{json}{flows}, { total => 4, active => 0, inactive => 4 },
    'flows section counts total/active/inactive');
is($res->{json}{tts}{polly}{available}, JSON::PP::false, 'tts.polly is reported');
ok(exists $res->{json}{tts}{local}{available}, 'tts.local is reported');
is($res->{json}{wazo}{available}, JSON::PP::false, 'wazo is reported');
like($res->{json}{wazo}{error}, qr/not configured/, 'wazo says why');
like($res->{json}{timestamp}, $ISO, 'timestamp ISO 8601 UTC');

# --- delete ---------------------------------------------------------------
$res = $ivrd->req(DELETE => '/flows/mini');
is($res->{status}, 200, 'DELETE /flows/mini: 200');
is_deeply($res->{json}, { message => 'Flow deleted successfully' }, 'the seed\'s message');
is($ivrd->req(GET => '/flows/mini')->{status}, 404, 'gone afterwards');
is($ivrd->req(DELETE => '/flows/mini')->{status}, 404, 'a second DELETE: 404');
is($ivrd->req(GET => '/flows')->{json}{count}, 3, 'count is 3');
is($ivrd->req(GET => '/status')->{json}{flows}{total}, 3, 'status agrees');

$ivrd->stop;
done_testing;
