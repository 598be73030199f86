package Wav;
# Reads a WAV file the way Asterisk's format_wav checks it, and measures
# it: what a test of rendered prompts asserts. Core Perl only.
use strict;
use warnings;

# Returns { tag, channels, rate, bits, samples, seconds, rms, size }, or
# undef with $@ set when the file is not a plain RIFF/WAVE PCM file.
sub read {
	my ($path) = @_;
	open my $fh, '<:raw', $path or do { $@ = "$path: $!"; return };
	local $/;
	my $data = <$fh>;
	close $fh;
	if (length($data) < 44 || substr($data, 0, 4) ne 'RIFF' ||
	    substr($data, 8, 8) ne 'WAVEfmt ') {
		$@ = "$path: not a RIFF/WAVE file";
		return;
	}
	my ($riff_len) = unpack('V', substr($data, 4, 4));
	my ($fmt_len, $tag, $channels, $rate, $byte_rate, $align, $bits) =
	    unpack('V v v V V v v', substr($data, 16, 20));
	my ($chunk, $data_len) = unpack('a4 V', substr($data, 36, 8));
	if ($chunk ne 'data') {
		$@ = "$path: no data chunk at byte 36";
		return;
	}
	my @s = unpack('s<*', substr($data, 44, $data_len));
	my $sum = 0;
	$sum += $_ * $_ for @s;
	return {
		size => length($data), riff_len => $riff_len,
		fmt_len => $fmt_len, tag => $tag, channels => $channels,
		rate => $rate, byte_rate => $byte_rate, align => $align,
		bits => $bits, data_len => $data_len, samples => scalar(@s),
		seconds => $rate ? @s / $rate : 0,
		rms => @s ? sqrt($sum / @s) : 0,
	};
}

1;
