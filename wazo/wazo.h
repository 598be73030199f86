/*
 * The Wazo client: wazo-auth tokens, confd queues, agents and incalls,
 * amid commands, and the deploy of a flow. Arrives with the Wazo issue;
 * this header marks the module's place.
 */
#ifndef IVRD_WAZO_H
#define IVRD_WAZO_H

struct wazo;

#endif
