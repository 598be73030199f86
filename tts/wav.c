#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tts/tts_int.h"
#include "util.h"

static void
put16(unsigned char *p, unsigned v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
}

static void
put32(unsigned char *p, unsigned long v)
{
	put16(p, v & 0xffff);
	put16(p + 2, (v >> 16) & 0xffff);
}

/*
 * The 44-byte RIFF header Asterisk's format_wav accepts: PCM (tag 1),
 * mono, 16-bit, exactly 8000 Hz; then the samples, little-endian. The
 * file appears whole or not at all (temp file + rename), so Asterisk
 * never plays half a prompt.
 */
int
tts_write_wav(const char *path, const int16_t *pcm, size_t nsamples)
{
	size_t datalen = nsamples * 2, i;
	unsigned char *buf = xmalloc(44 + datalen);
	char *dir;
	int rc;

	memcpy(buf, "RIFF", 4);
	put32(buf + 4, 36 + datalen);
	memcpy(buf + 8, "WAVEfmt ", 8);
	put32(buf + 16, 16);
	put16(buf + 20, 1);			/* PCM */
	put16(buf + 22, 1);			/* mono */
	put32(buf + 24, TTS_RATE);
	put32(buf + 28, TTS_RATE * 2);		/* bytes per second */
	put16(buf + 32, 2);			/* block align */
	put16(buf + 34, 16);			/* bits per sample */
	memcpy(buf + 36, "data", 4);
	put32(buf + 40, datalen);
	for (i = 0; i < nsamples; i++)
		put16(buf + 44 + 2 * i, (unsigned)(uint16_t)pcm[i]);

	dir = xstrdup(path);
	if (mkdir(dirname(dir), 0755) == -1 && errno != EEXIST) {
		free(dir);
		free(buf);
		return -1;
	}
	free(dir);
	rc = write_file_atomic(path, (const char *)buf, 44 + datalen);
	free(buf);
	return rc;
}
