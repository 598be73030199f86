/*
 * Outbound HTTP: libcurl's multi interface driven by the libevent loop
 * (CURLMOPT_SOCKETFUNCTION + CURLMOPT_TIMERFUNCTION), shared by tts/
 * (Polly) and wazo/. Never curl_easy_perform on the loop. Arrives with
 * its first user; this header marks the module's place.
 */
#ifndef IVRD_HTTP_CLIENT_H
#define IVRD_HTTP_CLIENT_H

struct http_client;

#endif
