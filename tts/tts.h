/*
 * Text to speech: every prompt of a flow pre-rendered into audio Asterisk
 * plays as is (8 kHz 16-bit mono), in a content-addressed cache; local
 * synthesis with libespeak-ng on one worker thread, Amazon Polly through
 * net/. Arrives with the TTS issue; this header marks the module's place.
 */
#ifndef IVRD_TTS_H
#define IVRD_TTS_H

struct tts;

#endif
