#!/usr/bin/perl
# Robustness: random and mutated JSON bodies, paths and bytes
# to every endpoint, for SECONDS (default 60), against a real
# ivrd; then checks it still serves and stops cleanly. Best with an ASan build:
#   ./configure --enable-asan --enable-ubsan && make
#   perl contrib/fuzz/api.pl [SECONDS]       (IVRD_BIN=path/to/ivrd to choose)
use strict; use warnings; use FindBin; use lib "$FindBin::Bin/../../t/lib";
use IvrdTest; use JSON::PP; use Test::More; use Time::HiRes qw(time);
my $ivrd = IvrdTest->start(conf => { dial_template => 'PJSIP/%s@trunk' });
my $admin = IvrdTest->make_token($ivrd->dir, admin => 1, name => 'root');
$ivrd->req(PATCH => '/api/v1/voice/tenants/acme', token => $admin, body => { voice_enabled => JSON::PP::true });
my $base = { id => 'f', languages => [ { code => 'en-US', voice => 'Joanna' } ],
  prompts => { hi => { text => { 'en-US' => 'Hi.' } } },
  menus => { root => { id => 'root', prompt => 'hi', options => { 1 => { action => 'queue', queue_ref => 'q' } } } } };
my @vals = (undef, 0, -1, 1e300, "", "x" x 5000, [], {}, JSON::PP::true, "\x{0}", "../../etc", "+1555", "1a", "\xff\xfe", [1,2], {a=>{b=>[]}});
srand(42);
sub mutate { my ($d, $depth) = @_; return $vals[rand @vals] if $depth > 4 || rand() < 0.1;
  if (ref $d eq 'HASH') { my %c = %$d; my @k = keys %c;
    for (1 .. 1 + int rand 2) { my $k = @k && rand() < 0.8 ? $k[rand @k] : "k" . int rand 5; $c{$k} = mutate($c{$k}, $depth + 1) } return \%c }
  if (ref $d eq 'ARRAY') { return [ map { mutate($_, $depth + 1) } @$d, undef ] }
  return $vals[rand @vals] }
my @eps = ([POST => '/flows'], [PUT => '/flows/f'], [POST => '/flows/f/simulate'], [POST => '/tts/synthesize'],
  [POST => '/maintenance/cleanup'], [POST => '/flows/f/deploy'], [POST => '/api/v1/voice/numbers'],
  [PATCH => '/api/v1/voice/numbers/NUM'], [PUT => '/api/v1/voice/numbers/NUM/ivr'], [GET => '/api/v1/voice/calls?status=x&from=y&per_page=-5&page=zz'],
  [POST => '/api/v1/voice/calls/abc/transfer'], [GET => '/tts/voices?language=%00']);
$ivrd->req(POST => '/flows', body => $base);
my $num = $ivrd->req(POST => '/api/v1/voice/numbers', body => { phone_number => '+15550001' })->{json}{data}{uuid} // 'x';
my ($n, %codes) = (0);
my $end = time + ($ARGV[0] // 60);
while (time < $end) {
  my ($m, $p) = @{ $eps[rand @eps] }; $p =~ s/NUM/$num/;
  my $body = rand() < 0.15 ? join('', map { chr(rand 256) } 1 .. rand 200) : JSON::PP->new->allow_nonref->encode(mutate($base, 0));
  my $r = $ivrd->req($m => $p, body => $body); $codes{$r->{status}}++; $n++;
  die "daemon died at request $n ($m $p): $body" if $r->{status} == 599;
  die "non-JSON answer $r->{status} to $m $p" unless $r->{headers}{'content-type'} && $r->{headers}{'content-type'} =~ /json/;
}
diag("$n requests; statuses: " . join(' ', map { "$_=$codes{$_}" } sort keys %codes));
is($ivrd->req(GET => '/status')->{status}, 200, 'still serving');
$ivrd->stop; done_testing;
