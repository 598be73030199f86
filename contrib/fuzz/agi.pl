#!/usr/bin/perl
# Robustness: hostile FastAGI peers: garbage and oversize env
# blocks, random, truncated and bogus replies, for SECONDS (default 60), against a real
# ivrd; then checks it still serves and stops cleanly. Best with an ASan build:
#   ./configure --enable-asan --enable-ubsan && make
#   perl contrib/fuzz/agi.pl [SECONDS]       (IVRD_BIN=path/to/ivrd to choose)
use strict; use warnings; use FindBin; use lib "$FindBin::Bin/../../t/lib";
use IvrdTest; use IO::Socket::IP; use IO::Select; use Test::More; use Time::HiRes qw(time);
my $ivrd = IvrdTest->start(conf => { agi_env_timeout_ms => 200, agi_command_timeout_sec => 1, dial_template => 'PJSIP/%s@t' });
$ivrd->req(POST => '/flows', body => { id => 'f', languages => [ { code => 'en-US', voice => 'Joanna' } ],
  prompts => { hi => { text => { 'en-US' => 'Hi.' } }, invalid => { text => { 'en-US' => 'No.' } } },
  menus => { root => { id => 'root', prompt => 'hi', max_retries => 2, timeout_sec => 1,
    options => { 1 => { action => 'queue', queue_ref => 'q' }, 22 => { action => 'transfer', destination => '+1555' } } } } });
sleep 1;
srand(7);
my @replies = ("200 result=0", "200 result=49 endpos=100", "200 result=50", "200 result=", "200 result= (timeout)",
  "200 result=-1", "200 result=-2", "510 Invalid or unknown command", "511 Command Not Permitted on a dead channel or intercept routine",
  "520-Invalid command syntax.  Proper usage follows:", "junk", "520 End of proper usage.", "HANGUP", "100 result=0 Trying...",
  "200 result=1 (" . ("x" x 3000) . ")", "200 result=1 (a)b)", "\x00\xff", "200 result=99999999999999999999", "");
my $env = join('', map { "$_\n" } 'agi_network: yes', 'agi_network_script: f', 'agi_uniqueid: 1.1', 'agi_callerid: 1', 'agi_dnid: 2', '');
my ($calls, $end) = (0, time + ($ARGV[0] // 60));
while (time < $end) {
  my $s = IO::Socket::IP->new(PeerAddr => $ivrd->agi_addr) or next;
  $calls++;
  my $r = rand;
  if ($r < 0.1) { print $s join('', map { chr(rand 256) } 1 .. rand 300); }
  elsif ($r < 0.15) { print $s "agi_x: " . ("y" x 20000) . "\n"; }
  else { print $s (rand() < 0.1 ? "agi_network_script: ?lang=xx\n\n" : $env); }
  my $sel = IO::Select->new($s);
  for (1 .. 2 + int rand 12) {
    last unless $sel->can_read(0.5);
    my $buf; last unless sysread($s, $buf, 65536);
    my $n = 1 + int rand 2;
    print $s join('', map { $replies[rand @replies] . "\n" } 1 .. $n);
  }
  close $s if rand() < 0.9;
}
sleep 2;
my $st = $ivrd->req(GET => '/status')->{json};
diag("$calls calls; active now: $st->{calls}{active}; total $st->{calls}{total}");
is($st->{calls}{active}, 0, 'no session left behind');
$ivrd->stop; done_testing;
