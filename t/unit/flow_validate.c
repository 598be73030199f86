#include "config.h"

/*
 * Flow parsing, validation and normalisation, as a user of the API sees
 * them: the seed's example flows are accepted and come back with their
 * defaults, a normalised flow survives a round trip unchanged, and each
 * kind of mistake is reported with the exact message and path.
 */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "flow/flow.h"
#include "flow/flow_int.h"
#include "t/unit/tap.h"

/* The seed's "Create Flow" request body. */
static const char seed_create[] =
"{\n"
"  \"id\": \"support\",\n"
"  \"tenant\": \"default\",\n"
"  \"entry_context\": \"dp-ivr-support\",\n"
"  \"tts_backend\": \"polly\",\n"
"  \"languages\": [\n"
"    {\n"
"      \"code\": \"en-US\",\n"
"      \"voice\": \"Joanna\"\n"
"    }\n"
"  ],\n"
"  \"prompts\": {\n"
"    \"welcome\": {\n"
"      \"text\": {\n"
"        \"en-US\": \"Welcome to support. Press 1 for technical support.\"\n"
"      }\n"
"    }\n"
"  },\n"
"  \"menus\": {\n"
"    \"root\": {\n"
"      \"id\": \"root\",\n"
"      \"prompt\": \"welcome\",\n"
"      \"timeout_sec\": 10,\n"
"      \"max_retries\": 3,\n"
"      \"options\": {\n"
"        \"1\": {\n"
"          \"action\": \"queue\",\n"
"          \"queue_ref\": \"support_q\"\n"
"        }\n"
"      },\n"
"      \"fallback_action\": \"voicemail\"\n"
"    }\n"
"  },\n"
"  \"business_hours\": {\n"
"    \"name\": \"business-hours\",\n"
"    \"timeframes\": {\n"
"      \"monday\": [\"09:00-17:00\"],\n"
"      \"tuesday\": [\"09:00-17:00\"],\n"
"      \"wednesday\": [\"09:00-17:00\"],\n"
"      \"thursday\": [\"09:00-17:00\"],\n"
"      \"friday\": [\"09:00-17:00\"]\n"
"    },\n"
"    \"timezone\": \"America/New_York\"\n"
"  },\n"
"  \"voicemail_fallback\": \"1000\",\n"
"  \"call_recording\": {\n"
"    \"enabled\": true,\n"
"    \"format\": \"wav\"\n"
"  }\n"
"}\n";

/* The seed's "Get Flow" response, read-only fields included. */
static const char seed_get[] =
"{\n"
"  \"id\": \"sales\",\n"
"  \"tenant\": \"default\",\n"
"  \"entry_context\": \"dp-ivr-sales\",\n"
"  \"tts_backend\": \"polly\",\n"
"  \"languages\": [\n"
"    {\n"
"      \"code\": \"en-US\",\n"
"      \"voice\": \"Joanna\"\n"
"    }\n"
"  ],\n"
"  \"prompts\": {\n"
"    \"welcome\": {\n"
"      \"text\": {\n"
"        \"en-US\": \"Welcome to ACME. For Sales press 1, for Support press 2.\"\n"
"      }\n"
"    }\n"
"  },\n"
"  \"menus\": {\n"
"    \"root\": {\n"
"      \"id\": \"root\",\n"
"      \"prompt\": \"welcome\",\n"
"      \"timeout_sec\": 10,\n"
"      \"max_retries\": 3,\n"
"      \"options\": {\n"
"        \"1\": {\n"
"          \"action\": \"queue\",\n"
"          \"queue_ref\": \"sales_q\"\n"
"        },\n"
"        \"2\": {\n"
"          \"action\": \"queue\",\n"
"          \"queue_ref\": \"support_q\"\n"
"        }\n"
"      },\n"
"      \"fallback_action\": \"voicemail\"\n"
"    }\n"
"  },\n"
"  \"business_hours\": {\n"
"    \"name\": \"business-hours\",\n"
"    \"timeframes\": {\n"
"      \"monday\": [\"09:00-17:00\"],\n"
"      \"tuesday\": [\"09:00-17:00\"],\n"
"      \"wednesday\": [\"09:00-17:00\"],\n"
"      \"thursday\": [\"09:00-17:00\"],\n"
"      \"friday\": [\"09:00-17:00\"]\n"
"    },\n"
"    \"timezone\": \"America/New_York\"\n"
"  },\n"
"  \"voicemail_fallback\": \"1000\",\n"
"  \"call_recording\": {\n"
"    \"enabled\": true,\n"
"    \"format\": \"wav\"\n"
"  },\n"
"  \"max_call_duration\": 300,\n"
"  \"created_at\": \"2024-01-01T00:00:00\",\n"
"  \"updated_at\": \"2024-01-01T00:00:00\"\n"
"}\n";

/* The seed's "Complete Flow Example" (the curl -d body). */
static const char seed_complete[] =
"{\n"
"    \"id\": \"customer-service\",\n"
"    \"tenant\": \"default\",\n"
"    \"tts_backend\": \"polly\",\n"
"    \"languages\": [\n"
"      {\"code\": \"en-US\", \"voice\": \"Joanna\"},\n"
"      {\"code\": \"es-US\", \"voice\": \"Lupe\"}\n"
"    ],\n"
"    \"prompts\": {\n"
"      \"welcome\": {\n"
"        \"text\": {\n"
"          \"en-US\": \"Welcome to customer service. Press 1 for sales, 2 for support, 3 for billing.\",\n"
"          \"es-US\": \"Bienvenido al servicio al cliente. Presione 1 para ventas, 2 para soporte, 3 para facturación.\"\n"
"        }\n"
"      }\n"
"    },\n"
"    \"menus\": {\n"
"      \"root\": {\n"
"        \"id\": \"root\",\n"
"        \"prompt\": \"welcome\",\n"
"        \"timeout_sec\": 10,\n"
"        \"max_retries\": 3,\n"
"        \"options\": {\n"
"          \"1\": {\"action\": \"queue\", \"queue_ref\": \"sales_q\"},\n"
"          \"2\": {\"action\": \"queue\", \"queue_ref\": \"support_q\"},\n"
"          \"3\": {\"action\": \"queue\", \"queue_ref\": \"billing_q\"}\n"
"        },\n"
"        \"fallback_action\": \"voicemail\"\n"
"      }\n"
"    },\n"
"    \"business_hours\": {\n"
"      \"name\": \"business-hours\",\n"
"      \"timeframes\": {\n"
"        \"monday\": [\"09:00-17:00\"],\n"
"        \"tuesday\": [\"09:00-17:00\"],\n"
"        \"wednesday\": [\"09:00-17:00\"],\n"
"        \"thursday\": [\"09:00-17:00\"],\n"
"        \"friday\": [\"09:00-17:00\"]\n"
"      },\n"
"      \"timezone\": \"America/New_York\"\n"
"    },\n"
"    \"voicemail_fallback\": \"1000\",\n"
"    \"call_recording\": {\n"
"      \"enabled\": true,\n"
"      \"format\": \"wav\"\n"
"    }\n"
"  }\n";

/* Only what is required: every default shows in the normalised form. */
static const char minimal_flow[] =
"{\"id\":\"mini\","
" \"languages\":[{\"code\":\"en-GB\",\"voice\":\"Amy\"}],"
" \"prompts\":{\"hello\":{\"text\":{\"en-GB\":\"Hello\"}}},"
" \"menus\":{\"main\":{\"id\":\"main\",\"prompt\":\"hello\","
"   \"options\":{\"1\":{\"action\":\"transfer\",\"destination\":\"100\"}}}}}";

static const char minimal_normalised[] =
"{\"id\":\"mini\",\"tenant\":\"default\",\"entry_context\":\"dp-ivr-mini\","
"\"tts_backend\":\"local\","
"\"languages\":[{\"code\":\"en-GB\",\"voice\":\"Amy\"}],"
"\"prompts\":{\"hello\":{\"text\":{\"en-GB\":\"Hello\"}}},"
"\"menus\":{\"main\":{\"id\":\"main\",\"prompt\":\"hello\",\"timeout_sec\":5,"
"\"max_retries\":3,\"options\":{\"1\":{\"action\":\"transfer\","
"\"destination\":\"100\",\"timeout\":30}},\"fallback_action\":\"hangup\"}},"
"\"call_recording\":{\"enabled\":false,\"format\":\"wav\"},"
"\"max_call_duration\":300}";

/*
 * Every action, both fallback forms, business hours with an overnight
 * range, a whole day and holidays, fields in a shuffled order.
 */
static const char rich_flow[] =
"{\"id\":\"rich\",\"tenant\":\"acme\",\"tts_backend\":\"local\","
" \"languages\":[{\"code\":\"en-US\",\"voice\":\"Joanna\"},"
"   {\"voice\":\"Lea\",\"code\":\"fr-FR\"}],"
" \"prompts\":{"
"   \"welcome\":{\"text\":{\"fr-FR\":\"Bienvenue\",\"en-US\":\"Welcome\"}},"
"   \"closed\":{\"text\":{\"fr-FR\":\"Ferm\xc3\xa9\"}},"
"   \"bye\":{\"text\":{\"en-US\":\"Bye\"}}},"
" \"menus\":{"
"   \"root\":{\"id\":\"root\",\"prompt\":\"welcome\",\"max_retries\":0,"
"     \"options\":{"
"       \"#\":{\"prompt\":\"bye\",\"action\":\"hangup\"},"
"       \"1\":{\"action\":\"transfer\","
"         \"destination\":\"PJSIP/+15551234@trunk\"},"
"       \"2\":{\"timeout\":45,\"destination\":\"+15550000\","
"         \"action\":\"transfer\"},"
"       \"3\":{\"action\":\"language\",\"language\":\"fr-FR\","
"         \"prompt\":\"welcome\"},"
"       \"4\":{\"action\":\"menu\",\"menu_ref\":\"support\"},"
"       \"*9\":{\"action\":\"voicemail\",\"voicemail_box\":\"1000\","
"         \"context\":\"default\"},"
"       \"12345678\":{\"action\":\"extension\",\"extension\":\"1001\","
"         \"context\":\"from-internal\"}},"
"     \"fallback_action\":\"voicemail\"},"
"   \"support\":{\"id\":\"support\",\"prompt\":\"closed\","
"     \"timeout_sec\":300,\"parent_menu\":\"root\","
"     \"fallback_queue_ref\":\"support_q\","
"     \"options\":{\"1\":{\"action\":\"queue\",\"queue_ref\":\"support_q\"}},"
"     \"fallback_action\":\"queue\"},"
"   \"after\":{\"id\":\"after\",\"prompt\":\"bye\","
"     \"options\":{\"0\":{\"action\":\"hangup\"}},"
"     \"fallback_action\":{\"timeout\":10,\"action\":\"transfer\","
"       \"destination\":\"1234\"}}},"
" \"business_hours\":{\"timezone\":\"Europe/Paris\",\"name\":\"office\","
"   \"timeframes\":{\"sunday\":[],\"friday\":[\"22:00-06:00\"],"
"     \"monday\":[\"00:00-24:00\",\"09:00-12:30\"]},"
"   \"holidays\":[\"12-25\",\"2024-02-29\"]},"
" \"voicemail_fallback\":\"1000@default\","
" \"call_recording\":{\"format\":\"gsm\"},"
" \"max_call_duration\":3600,"
" \"status\":\"deployed\"}";

static const char rich_normalised[] =
"{\"id\":\"rich\",\"tenant\":\"acme\",\"entry_context\":\"dp-ivr-rich\","
"\"tts_backend\":\"local\","
"\"languages\":[{\"code\":\"en-US\",\"voice\":\"Joanna\"},"
"{\"code\":\"fr-FR\",\"voice\":\"Lea\"}],"
"\"prompts\":{\"welcome\":{\"text\":{\"fr-FR\":\"Bienvenue\","
"\"en-US\":\"Welcome\"}},\"closed\":{\"text\":{\"fr-FR\":\"Ferm\xc3\xa9\"}},"
"\"bye\":{\"text\":{\"en-US\":\"Bye\"}}},"
"\"menus\":{"
"\"root\":{\"id\":\"root\",\"prompt\":\"welcome\",\"timeout_sec\":5,"
"\"max_retries\":0,\"options\":{"
"\"#\":{\"action\":\"hangup\",\"prompt\":\"bye\"},"
"\"1\":{\"action\":\"transfer\",\"destination\":\"PJSIP/+15551234@trunk\","
"\"timeout\":30},"
"\"2\":{\"action\":\"transfer\",\"destination\":\"+15550000\","
"\"timeout\":45},"
"\"3\":{\"action\":\"language\",\"language\":\"fr-FR\","
"\"prompt\":\"welcome\"},"
"\"4\":{\"action\":\"menu\",\"menu_ref\":\"support\"},"
"\"*9\":{\"action\":\"voicemail\",\"context\":\"default\","
"\"voicemail_box\":\"1000\"},"
"\"12345678\":{\"action\":\"extension\",\"context\":\"from-internal\","
"\"extension\":\"1001\"}},"
"\"fallback_action\":\"voicemail\"},"
"\"support\":{\"id\":\"support\",\"prompt\":\"closed\",\"timeout_sec\":300,"
"\"max_retries\":3,\"options\":{\"1\":{\"action\":\"queue\","
"\"queue_ref\":\"support_q\"}},\"fallback_action\":\"queue\","
"\"parent_menu\":\"root\",\"fallback_queue_ref\":\"support_q\"},"
"\"after\":{\"id\":\"after\",\"prompt\":\"bye\",\"timeout_sec\":5,"
"\"max_retries\":3,\"options\":{\"0\":{\"action\":\"hangup\"}},"
"\"fallback_action\":{\"action\":\"transfer\",\"destination\":\"1234\","
"\"timeout\":10}}},"
"\"business_hours\":{\"name\":\"office\",\"timeframes\":{"
"\"monday\":[\"00:00-24:00\",\"09:00-12:30\"],"
"\"friday\":[\"22:00-06:00\"],\"sunday\":[]},"
"\"timezone\":\"Europe/Paris\",\"holidays\":[\"12-25\",\"2024-02-29\"]},"
"\"voicemail_fallback\":\"1000@default\","
"\"call_recording\":{\"enabled\":false,\"format\":\"gsm\"},"
"\"max_call_duration\":3600}";

/*
 * The valid flow each bad case changes in one place. It has no
 * voicemail_fallback on purpose, so a "voicemail" fallback is a mistake.
 */
static const char base_flow[] =
"{\"id\":\"sales\","
" \"languages\":[{\"code\":\"en-US\",\"voice\":\"Joanna\"},"
"   {\"code\":\"es-US\",\"voice\":\"Lupe\"}],"
" \"prompts\":{"
"   \"welcome\":{\"text\":{\"en-US\":\"Welcome\",\"es-US\":\"Bienvenido\"}},"
"   \"bye\":{\"text\":{\"en-US\":\"Goodbye\"}}},"
" \"menus\":{"
"   \"root\":{\"id\":\"root\",\"prompt\":\"welcome\","
"     \"options\":{"
"       \"1\":{\"action\":\"queue\",\"queue_ref\":\"sales_q\"},"
"       \"2\":{\"action\":\"menu\",\"menu_ref\":\"support\"},"
"       \"9\":{\"action\":\"hangup\",\"prompt\":\"bye\"}}},"
"   \"support\":{\"id\":\"support\",\"prompt\":\"welcome\","
"     \"parent_menu\":\"root\","
"     \"options\":{"
"       \"1\":{\"action\":\"extension\",\"context\":\"default\","
"         \"extension\":\"1001\"},"
"       \"2\":{\"action\":\"voicemail\",\"voicemail_box\":\"1000\","
"         \"context\":\"default\"},"
"       \"3\":{\"action\":\"transfer\",\"destination\":\"+15551234\"},"
"       \"4\":{\"action\":\"language\",\"language\":\"es-US\"}}}},"
" \"business_hours\":{\"name\":\"office\","
"   \"timeframes\":{\"monday\":[\"09:00-17:00\"]},"
"   \"timezone\":\"Europe/Paris\"}}";

#define S8	"aaaaaaaa"
#define S64	S8 S8 S8 S8 S8 S8 S8 S8

#define MSG_ID	"must be 1-64 characters of A-Z a-z 0-9 _ -"
#define MSG_TARGET "must be 1-80 characters of A-Z a-z 0-9 + * # @ . _ - / :"
#define MSG_ACTIONS "must be one of menu, queue, extension, voicemail, " \
		"hangup, transfer, language"

struct change {
	const char	*path;	/* dotted; "" replaces the whole document */
	const char	*value;	/* JSON text; NULL removes the field */
	const char	*error;	/* first error expected; NULL: still valid */
};

static const struct change bad_cases[] = {
	/* The document and its top-level fields. */
	{ "", "[]", "flow: must be a JSON object" },
	{ "", "\"sales\"", "flow: must be a JSON object" },
	{ "id", NULL, "flow: id is required" },
	{ "languages", NULL, "flow: languages is required" },
	{ "menus", NULL, "flow: menus is required" },
	{ "colour", "\"blue\"", "colour: unknown field" },
	{ "id", "42", "id: must be a string" },
	{ "id", "\"sales/../x\"", "id: " MSG_ID },
	{ "id", "\"" S64 "a\"", "id: " MSG_ID },
	{ "id", "\"\"", "id: " MSG_ID },
	{ "tenant", "\"acme corp\"", "tenant: " MSG_ID },
	{ "entry_context", "\"dp,ivr\"",
	    "entry_context: must be 1-79 characters of A-Z a-z 0-9 _ -" },
	{ "tts_backend", "\"google\"",
	    "tts_backend: must be one of polly, local" },
	{ "max_call_duration", "5",
	    "max_call_duration: must be between 10 and 86400" },
	{ "max_call_duration", "86401",
	    "max_call_duration: must be between 10 and 86400" },
	{ "max_call_duration", "300.0", "max_call_duration: must be an integer" },
	{ "max_call_duration", "true", "max_call_duration: must be an integer" },
	{ "voicemail_fallback", "\"10 00\"", "voicemail_fallback: " MSG_TARGET },
	{ "voicemail_fallback", "1000", "voicemail_fallback: must be a string" },

	/* Languages. */
	{ "languages", "{}", "languages: must be an array" },
	{ "languages", "[]", "languages: must have at least one language" },
	{ "languages.0", "\"en-US\"", "languages.0: must be an object" },
	{ "languages.0.code", "\"en-AU\"",
	    "languages.0.code: must be one of en-US, en-GB, es-ES, es-US, "
	    "fr-FR, de-DE, it-IT, pt-BR, ja-JP, ko-KR, zh-CN, ru-RU" },
	{ "languages.1.code", "\"en-US\"",
	    "languages.1.code: duplicate language 'en-US'" },
	{ "languages.0.voice", NULL, "languages.0: voice is required" },
	{ "languages.0.voice", "\"Jo anna\"", "languages.0.voice: " MSG_ID },
	{ "languages.0.accent", "\"posh\"", "languages.0.accent: unknown field" },

	/* Prompts. */
	{ "prompts", "[]", "prompts: must be an object" },
	/* Optional as a field, but then the menus' prompts name nothing. */
	{ "prompts", NULL, "menus.root.prompt: prompt 'welcome' does not exist" },
	{ "prompts.a/b", "{\"text\":{\"en-US\":\"x\"}}",
	    "prompts.a/b: prompt id " MSG_ID },
	{ "prompts.welcome.text", NULL, "prompts.welcome: text is required" },
	{ "prompts.welcome.text", "{}",
	    "prompts.welcome.text: must have at least one language" },
	{ "prompts.welcome.text", "\"Welcome\"",
	    "prompts.welcome.text: must be an object" },
	{ "prompts.welcome.text.fr-FR", "\"Bonjour\"",
	    "prompts.welcome.text.fr-FR: language 'fr-FR' is not one of the "
	    "flow's languages" },
	{ "prompts.welcome.text.en-US", "\"\"",
	    "prompts.welcome.text.en-US: must not be empty" },
	{ "prompts.welcome.voice", "\"Joanna\"",
	    "prompts.welcome.voice: unknown field" },

	/* Menus. */
	{ "menus", "[]", "menus: must be an object" },
	{ "menus", "{}", "menus: must have at least one menu" },
	{ "menus", "{\"a\":{\"id\":\"a\",\"prompt\":\"welcome\","
	    "\"options\":{\"1\":{\"action\":\"hangup\"}}},"
	    "\"b\":{\"id\":\"b\",\"prompt\":\"welcome\","
	    "\"options\":{\"1\":{\"action\":\"hangup\"}}}}",
	    "menus: a flow with several menus needs one named 'root'" },
	{ "menus.bad id", "{\"id\":\"bad id\",\"prompt\":\"welcome\","
	    "\"options\":{\"1\":{\"action\":\"hangup\"}}}",
	    "menus.bad id: menu id " MSG_ID },
	{ "menus.root.timout_sec", "10", "menus.root.timout_sec: unknown field" },
	{ "menus.root.id", "\"main\"",
	    "menus.root.id: must match the menu's key 'root'" },
	{ "menus.root.id", NULL, "menus.root: id is required" },
	{ "menus.root.prompt", NULL, "menus.root: prompt is required" },
	{ "menus.root.prompt", "\"welcom\"",
	    "menus.root.prompt: prompt 'welcom' does not exist" },
	{ "menus.root.timeout_sec", "0",
	    "menus.root.timeout_sec: must be between 1 and 300" },
	{ "menus.root.timeout_sec", "\"10\"",
	    "menus.root.timeout_sec: must be an integer" },
	{ "menus.root.timeout_sec", "2.5",
	    "menus.root.timeout_sec: must be an integer" },
	{ "menus.root.max_retries", "11",
	    "menus.root.max_retries: must be between 0 and 10" },
	{ "menus.root.max_retries", "-1",
	    "menus.root.max_retries: must be between 0 and 10" },
	{ "menus.root.options", NULL, "menus.root: options is required" },
	{ "menus.root.options", "{}",
	    "menus.root.options: must have at least one option" },
	{ "menus.root.options", "[]", "menus.root.options: must be an object" },
	{ "menus.support.parent_menu", "\"support\"",
	    "menus.support.parent_menu: must not be the menu itself" },
	{ "menus.support.parent_menu", "\"main\"",
	    "menus.support.parent_menu: menu 'main' does not exist" },
	{ "menus.root.fallback_queue_ref", "\"q;x\"",
	    "menus.root.fallback_queue_ref: " MSG_TARGET },

	/* Option keys. */
	{ "menus.root.options.1a", "{\"action\":\"hangup\"}",
	    "menus.root.options.1a: key must be 1-8 DTMF characters "
	    "(0-9 * #)" },
	{ "menus.root.options.123456789", "{\"action\":\"hangup\"}",
	    "menus.root.options.123456789: key must be 1-8 DTMF characters "
	    "(0-9 * #)" },

	/* Options: the action and the fields each action needs. */
	{ "menus.root.options.1", "\"queue\"",
	    "menus.root.options.1: must be an object" },
	{ "menus.root.options.1.action", NULL,
	    "menus.root.options.1: action is required" },
	{ "menus.root.options.1.action", "\"dial\"",
	    "menus.root.options.1.action: " MSG_ACTIONS },
	{ "menus.root.options.1.action", "1",
	    "menus.root.options.1.action: must be a string" },
	{ "menus.root.options.1.queue_ref", NULL,
	    "menus.root.options.1: queue_ref is required for action 'queue'" },
	{ "menus.root.options.2.menu_ref", NULL,
	    "menus.root.options.2: menu_ref is required for action 'menu'" },
	{ "menus.support.options.1.context", NULL,
	    "menus.support.options.1: context is required for action "
	    "'extension'" },
	{ "menus.support.options.1.extension", NULL,
	    "menus.support.options.1: extension is required for action "
	    "'extension'" },
	{ "menus.support.options.2.voicemail_box", NULL,
	    "menus.support.options.2: voicemail_box is required for action "
	    "'voicemail'" },
	{ "menus.support.options.2.context", NULL,
	    "menus.support.options.2: context is required for action "
	    "'voicemail'" },
	{ "menus.support.options.3.destination", NULL,
	    "menus.support.options.3: destination is required for action "
	    "'transfer'" },
	{ "menus.support.options.4.language", NULL,
	    "menus.support.options.4: language is required for action "
	    "'language'" },
	{ "menus.root.options.1.prompt", "\"bye\"",
	    "menus.root.options.1.prompt: not allowed for action 'queue'" },
	{ "menus.root.options.9.menu_ref", "\"support\"",
	    "menus.root.options.9.menu_ref: not allowed for action 'hangup'" },
	{ "menus.root.options.1.queue", "\"sales_q\"",
	    "menus.root.options.1.queue: unknown field" },

	/* Options: what the fields refer to. */
	{ "menus.root.options.2.menu_ref", "\"billing\"",
	    "menus.root.options.2.menu_ref: menu 'billing' does not exist" },
	{ "menus.root.options.9.prompt", "\"ciao\"",
	    "menus.root.options.9.prompt: prompt 'ciao' does not exist" },
	{ "menus.support.options.4.language", "\"fr-FR\"",
	    "menus.support.options.4.language: language 'fr-FR' is not one "
	    "of the flow's languages" },
	{ "menus.support.options.3.timeout", "601",
	    "menus.support.options.3.timeout: must be between 1 and 600" },
	{ "menus.support.options.3.timeout", "\"30\"",
	    "menus.support.options.3.timeout: must be an integer" },

	/* Options: what would end up in a dialplan command. */
	{ "menus.root.options.1.queue_ref", "\"sales\\\",Dial(SIP/evil)\"",
	    "menus.root.options.1.queue_ref: " MSG_TARGET },
	{ "menus.root.options.1.queue_ref", "\"sales\\nDial\"",
	    "menus.root.options.1.queue_ref: " MSG_TARGET },
	{ "menus.root.options.1.queue_ref", "\"sales q\"",
	    "menus.root.options.1.queue_ref: " MSG_TARGET },
	{ "menus.root.options.1.queue_ref", "\"${SHELL(id)}\"",
	    "menus.root.options.1.queue_ref: " MSG_TARGET },
	{ "menus.root.options.1.queue_ref", "\"sales|x\"",
	    "menus.root.options.1.queue_ref: " MSG_TARGET },
	{ "menus.root.options.1.queue_ref", "\"\"",
	    "menus.root.options.1.queue_ref: " MSG_TARGET },
	{ "menus.root.options.1.queue_ref", "\"" S64 S8 S8 "a\"",
	    "menus.root.options.1.queue_ref: " MSG_TARGET },
	{ "menus.root.options.1.queue_ref", "\"sales\\u0000q\"",
	    "menus.root.options.1.queue_ref: must not contain NUL characters" },
	{ "menus.support.options.1.context", "\"default;x\"",
	    "menus.support.options.1.context: " MSG_TARGET },
	{ "menus.support.options.1.extension", "\"1001,1\"",
	    "menus.support.options.1.extension: " MSG_TARGET },
	{ "menus.support.options.2.voicemail_box", "\"1000'\"",
	    "menus.support.options.2.voicemail_box: " MSG_TARGET },
	{ "menus.support.options.3.destination", "\"SIP/x)\"",
	    "menus.support.options.3.destination: " MSG_TARGET },

	/* Fallbacks. */
	{ "menus.root.fallback_action", "\"voicemail\"",
	    "menus.root.fallback_action: 'voicemail' needs the flow's "
	    "voicemail_fallback" },
	{ "menus.root.fallback_action", "\"queue\"",
	    "menus.root.fallback_action: 'queue' needs the menu's "
	    "fallback_queue_ref" },
	{ "menus.root.fallback_action", "\"transfer\"",
	    "menus.root.fallback_action: must be one of voicemail, queue, "
	    "hangup, or an option object" },
	{ "menus.root.fallback_action", "42",
	    "menus.root.fallback_action: must be a string or an object" },
	{ "menus.root.fallback_action", "{\"action\":\"queue\"}",
	    "menus.root.fallback_action: queue_ref is required for action "
	    "'queue'" },
	{ "menus.root.fallback_action",
	    "{\"action\":\"menu\",\"menu_ref\":\"nowhere\"}",
	    "menus.root.fallback_action.menu_ref: menu 'nowhere' does not "
	    "exist" },

	/* Business hours. */
	{ "business_hours", "[]", "business_hours: must be an object" },
	{ "business_hours.name", NULL, "business_hours: name is required" },
	{ "business_hours.name", "\"\"",
	    "business_hours.name: must be 1-64 characters" },
	{ "business_hours.timeframes", NULL,
	    "business_hours: timeframes is required" },
	{ "business_hours.timeframes.funday", "[\"09:00-17:00\"]",
	    "business_hours.timeframes.funday: unknown day (monday .. sunday)" },
	{ "business_hours.timeframes.Monday", "[\"09:00-17:00\"]",
	    "business_hours.timeframes.Monday: unknown day (monday .. sunday)" },
	{ "business_hours.timeframes.monday", "\"09:00-17:00\"",
	    "business_hours.timeframes.monday: must be an array" },
	{ "business_hours.timeframes.monday.0", "\"9-17\"",
	    "business_hours.timeframes.monday.0: '9-17' is not a HH:MM-HH:MM "
	    "range" },
	{ "business_hours.timeframes.monday.0", "\"9:00-17:00\"",
	    "business_hours.timeframes.monday.0: '9:00-17:00' is not a "
	    "HH:MM-HH:MM range" },
	{ "business_hours.timeframes.monday.0", "\"09:00-24:30\"",
	    "business_hours.timeframes.monday.0: '09:00-24:30' is not a "
	    "HH:MM-HH:MM range" },
	{ "business_hours.timeframes.monday.0", "\"24:00-06:00\"",
	    "business_hours.timeframes.monday.0: '24:00-06:00' is not a "
	    "HH:MM-HH:MM range" },
	{ "business_hours.timeframes.monday.0", "\"09:60-17:00\"",
	    "business_hours.timeframes.monday.0: '09:60-17:00' is not a "
	    "HH:MM-HH:MM range" },
	{ "business_hours.timeframes.monday.0", "\"09:00-09:00\"",
	    "business_hours.timeframes.monday.0: '09:00-09:00' is an empty "
	    "range" },
	{ "business_hours.timeframes.monday.0", "900",
	    "business_hours.timeframes.monday.0: must be a string" },
	{ "business_hours.timezone", "\"Mars/Base\"",
	    "business_hours.timezone: unknown time zone 'Mars/Base'" },
	{ "business_hours.timezone", "\"../../etc/passwd\"",
	    "business_hours.timezone: unknown time zone '../../etc/passwd'" },
	{ "business_hours.timezone", "\"/etc/localtime\"",
	    "business_hours.timezone: unknown time zone '/etc/localtime'" },
	{ "business_hours.timezone", "\"America\"",
	    "business_hours.timezone: unknown time zone 'America'" },
	{ "business_hours.timezone", "\"europe/paris\"",
	    "business_hours.timezone: unknown time zone 'europe/paris'" },
	{ "business_hours.holidays", "\"12-25\"",
	    "business_hours.holidays: must be an array" },
	{ "business_hours.holidays", "[\"2026-02-30\"]",
	    "business_hours.holidays.0: '2026-02-30' is not a date "
	    "(YYYY-MM-DD or MM-DD)" },
	{ "business_hours.holidays", "[\"12-25\",\"2025-02-29\"]",
	    "business_hours.holidays.1: '2025-02-29' is not a date "
	    "(YYYY-MM-DD or MM-DD)" },
	{ "business_hours.holidays", "[\"13-01\"]",
	    "business_hours.holidays.0: '13-01' is not a date "
	    "(YYYY-MM-DD or MM-DD)" },
	{ "business_hours.holidays", "[\"12/25\"]",
	    "business_hours.holidays.0: '12/25' is not a date "
	    "(YYYY-MM-DD or MM-DD)" },
	{ "business_hours.holidays", "[\"0000-01-01\"]",
	    "business_hours.holidays.0: '0000-01-01' is not a date "
	    "(YYYY-MM-DD or MM-DD)" },
	{ "business_hours.closed", "true",
	    "business_hours.closed: unknown field" },

	/* Call recording. */
	{ "call_recording", "true", "call_recording: must be an object" },
	{ "call_recording", "{\"enabled\":\"yes\"}",
	    "call_recording.enabled: must be a boolean" },
	{ "call_recording", "{\"enabled\":1}",
	    "call_recording.enabled: must be a boolean" },
	{ "call_recording", "{\"format\":\"mp3\"}",
	    "call_recording.format: must be one of wav, wav49, gsm, sln, ulaw, "
	    "alaw, g722" },
	{ "call_recording", "{\"path\":\"/tmp\"}",
	    "call_recording.path: unknown field" },
};

/* Edges that must stay accepted: the limits are inclusive. */
static const struct change good_cases[] = {
	{ "id", "\"" S64 "\"", NULL },
	{ "created_at", "\"2024-01-01T00:00:00\"", NULL },
	{ "updated_at", "\"2024-01-01T00:00:00\"", NULL },
	{ "status", "\"deployed\"", NULL },
	{ "tts_backend", "\"polly\"", NULL },
	{ "prompts.welcome.text.es-US", NULL, NULL },
	{ "menus.root.timeout_sec", "300", NULL },
	{ "menus.root.max_retries", "0", NULL },
	{ "menus.root.options.*", "{\"action\":\"menu\",\"menu_ref\":\"root\"}",
	    NULL },
	{ "menus.root.options.#", "{\"action\":\"hangup\"}", NULL },
	{ "menus.root.options.12345678", "{\"action\":\"hangup\"}", NULL },
	{ "menus.root.options.1.queue_ref", "\"" S64 S8 S8 "\"", NULL },
	{ "menus.support.options.3.destination",
	    "\"PJSIP/+1555*12#@trunk.example:5060\"", NULL },
	{ "menus.support.options.3.timeout", "600", NULL },
	{ "menus.root.fallback_action", "\"hangup\"", NULL },
	{ "menus.root.fallback_action",
	    "{\"action\":\"language\",\"language\":\"es-US\"}", NULL },
	{ "menus.root.fallback_queue_ref", "\"sales_q\"", NULL },
	{ "business_hours.timeframes.saturday", "[]", NULL },
	{ "business_hours.timeframes.monday.0", "\"00:00-24:00\"", NULL },
	{ "business_hours.timeframes.monday.0", "\"22:00-06:00\"", NULL },
	{ "business_hours.timezone", "\"UTC\"", NULL },
	{ "business_hours.timezone", "\"Etc/GMT+5\"", NULL },
	{ "business_hours.timezone", NULL, NULL },
	{ "business_hours.holidays", "[\"02-29\",\"2024-02-29\",\"2000-02-29\"]",
	    NULL },
	{ "business_hours.holidays", "[]", NULL },
	{ "call_recording", "{}", NULL },
	{ "max_call_duration", "86400", NULL },
	{ "max_call_duration", "10", NULL },
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

static json_t		*load(const char *);
static json_t		*changed(const char *, const struct change *);
static json_t		*at(json_t *, const char *);
static const char	*str_at(json_t *, const char *);
static json_int_t	 int_at(json_t *, const char *);
static char		*dump(json_t *);
static void		 show_errors(json_t *);
static struct flow	*parse_clean(const char *, const char *);
static void		 test_seeds(void);
static void		 test_defaults(void);
static void		 test_rich(void);
static void		 test_round_trip(const char *, const char *);
static void		 test_bad_cases(void);
static void		 test_good_cases(void);
static void		 test_long_prompt(void);
static void		 test_all_problems(void);
static void		 test_time_ranges(void);
static void		 test_holidays(void);

int
main(void)
{
	test_seeds();
	test_defaults();
	test_rich();
	test_round_trip("seed create flow", seed_create);
	test_round_trip("seed get flow", seed_get);
	test_round_trip("seed complete flow", seed_complete);
	test_round_trip("minimal flow", minimal_flow);
	test_round_trip("rich flow", rich_flow);
	test_round_trip("base flow", base_flow);
	test_bad_cases();
	test_good_cases();
	test_long_prompt();
	test_all_problems();
	test_time_ranges();
	test_holidays();
	return done_testing();
}

static void
test_seeds(void)
{
	struct flow *flow;
	json_t *out;

	flow = parse_clean("seed create flow", seed_create);
	out = flow ? flow_to_json(flow) : json_object();
	is_str(str_at(out, "entry_context"), "dp-ivr-support",
	    "create: entry_context kept");
	is_str(str_at(out, "tts_backend"), "polly", "create: tts_backend kept");
	is_int(int_at(out, "menus.root.timeout_sec"), 10,
	    "create: timeout_sec kept");
	is_str(str_at(out, "menus.root.fallback_action"), "voicemail",
	    "create: string fallback stays a string");
	is_str(str_at(out, "menus.root.options.1.queue_ref"), "support_q",
	    "create: option kept");
	is_str(str_at(out, "business_hours.timezone"), "America/New_York",
	    "create: timezone kept");
	ok(json_is_true(at(out, "call_recording.enabled")),
	    "create: recording enabled kept");
	is_int(int_at(out, "max_call_duration"), 300,
	    "create: max_call_duration defaults to 300");
	ok(at(out, "business_hours.holidays") == NULL,
	    "create: no holidays invented");
	ok(flow != NULL &&
	    flow->menus[0].fallback.action == FLOW_ACT_VOICEMAIL &&
	    strcmp(flow->menus[0].fallback.voicemail_box, "1000") == 0,
	    "create: voicemail fallback runs on the flow's box 1000");
	json_decref(out);
	flow_free(flow);

	flow = parse_clean("seed get flow (with created_at, updated_at)",
	    seed_get);
	out = flow ? flow_to_json(flow) : json_object();
	ok(at(out, "created_at") == NULL && at(out, "updated_at") == NULL,
	    "get: read-only timestamps are not part of the flow");
	is_str(str_at(out, "menus.root.options.2.queue_ref"), "support_q",
	    "get: second option kept");
	json_decref(out);
	flow_free(flow);

	flow = parse_clean("seed complete flow example", seed_complete);
	out = flow ? flow_to_json(flow) : json_object();
	is_str(str_at(out, "entry_context"), "dp-ivr-customer-service",
	    "complete: entry_context generated from the id");
	is_str(str_at(out, "prompts.welcome.text.es-US"),
	    "Bienvenido al servicio al cliente. Presione 1 para ventas, "
	    "2 para soporte, 3 para facturación.",
	    "complete: UTF-8 prompt text kept");
	is_int(int_at(out, "max_call_duration"), 300,
	    "complete: max_call_duration defaults to 300");
	is_int((json_int_t)json_object_size(at(out, "menus.root.options")), 3,
	    "complete: three options");
	is_str(flow ? flow_entry_context(flow) : NULL,
	    "dp-ivr-customer-service",
	    "complete: flow_entry_context() agrees");
	json_decref(out);
	flow_free(flow);
}

static void
test_defaults(void)
{
	struct flow *flow;
	json_t *out;
	char *text;

	flow = parse_clean("minimal flow", minimal_flow);
	if (flow == NULL)
		return;
	out = flow_to_json(flow);
	text = dump(out);
	is_str(text, minimal_normalised,
	    "minimal flow: every default filled, keys in schema order");
	is_str(flow_tenant(flow), "default", "tenant defaults to 'default'");
	is_str(flow->entry_menu->id, "main",
	    "a flow with one menu enters it even if not named root");
	ok(flow->tts_backend == FLOW_TTS_LOCAL,
	    "tts_backend defaults to local");
	ok(flow->menus[0].fallback_is_string &&
	    flow->menus[0].fallback.action == FLOW_ACT_HANGUP,
	    "fallback_action defaults to hangup");
	ok(flow->business_hours == NULL, "no business hours: always open");
	free(text);
	json_decref(out);
	flow_free(flow);
}

static void
test_rich(void)
{
	const struct flow_menu *root, *support, *after;
	const struct flow_option *o;
	const struct flow_business_hours *bh;
	struct flow *flow;
	json_t *out;
	char *text;

	flow = parse_clean("rich flow (every action, shuffled keys)",
	    rich_flow);
	if (flow == NULL)
		return;
	out = flow_to_json(flow);
	text = dump(out);
	is_str(text, rich_normalised,
	    "rich flow normalised: action first, transfer timeout 30, "
	    "days monday first, status dropped");
	free(text);
	json_decref(out);

	is_str(flow_id(flow), "rich", "flow_id()");
	is_str(flow_tenant(flow), "acme", "flow_tenant()");
	root = flow_menu_find(flow, "root");
	support = flow_menu_find(flow, "support");
	after = flow_menu_find(flow, "after");
	ok(root != NULL && support != NULL && after != NULL &&
	    flow_menu_find(flow, "nope") == NULL, "menus found by id");
	if (root == NULL || support == NULL || after == NULL)
		return;
	ok(flow->entry_menu == root, "the entry menu is root");
	ok(root->ref_prompt == flow_prompt_find(flow, "welcome"),
	    "a menu's prompt is resolved");
	is_int((long long)root->noptions, 7, "root has 7 options");
	is_str(root->options[0].key, "#", "options keep document order");
	o = flow_option_find(root, "4");
	ok(o != NULL && o->action == FLOW_ACT_MENU && o->ref_menu == support,
	    "option 4 leads to the support menu, resolved");
	o = flow_option_find(root, "#");
	ok(o != NULL && o->ref_prompt == flow_prompt_find(flow, "bye"),
	    "hangup prompt resolved");
	o = flow_option_find(root, "1");
	ok(o != NULL && o->action == FLOW_ACT_TRANSFER && o->timeout == 30,
	    "transfer timeout defaults to 30");
	o = flow_option_find(root, "12345678");
	ok(o != NULL && o->action == FLOW_ACT_EXTENSION &&
	    strcmp(o->context, "from-internal") == 0 &&
	    strcmp(o->extension, "1001") == 0, "8-digit key found");
	ok(flow_option_find(root, "5") == NULL, "no option for key 5");
	ok(root->fallback_is_string &&
	    root->fallback.action == FLOW_ACT_VOICEMAIL &&
	    strcmp(root->fallback.voicemail_box, "1000@default") == 0 &&
	    root->fallback.context == NULL,
	    "'voicemail' fallback expanded to the flow's box");
	ok(support->fallback_is_string &&
	    support->fallback.action == FLOW_ACT_QUEUE &&
	    strcmp(support->fallback.queue_ref, "support_q") == 0,
	    "'queue' fallback expanded to fallback_queue_ref");
	ok(support->ref_parent == root, "parent_menu resolved");
	is_int(support->max_retries, 3, "max_retries defaults to 3");
	ok(!after->fallback_is_string &&
	    after->fallback.action == FLOW_ACT_TRANSFER &&
	    after->fallback.timeout == 10, "object fallback kept as an option");

	is_str(flow_prompt_text(flow, flow_prompt_find(flow, "welcome"),
	    "fr-FR"), "Bienvenue", "prompt text in the caller's language");
	is_str(flow_prompt_text(flow, flow_prompt_find(flow, "welcome"),
	    "de-DE"), "Welcome", "else in the flow's first language");
	is_str(flow_prompt_text(flow, flow_prompt_find(flow, "closed"),
	    "en-US"), "Ferm\xc3\xa9", "else in the only language it has");
	ok(flow_language_find(flow, "fr-FR") == &flow->languages[1] &&
	    flow_language_find(flow, "es-ES") == NULL, "languages by code");

	bh = flow->business_hours;
	ok(bh != NULL, "business hours present");
	if (bh == NULL)
		return;
	is_str(bh->timezone, "Europe/Paris", "timezone kept");
	is_int((long long)bh->days[1].nranges, 2, "monday has two ranges");
	ok(bh->days[1].ranges[0].start == 0 && bh->days[1].ranges[0].end == 1440,
	    "00:00-24:00 is 0..1440");
	ok(bh->days[1].ranges[1].start == 540 &&
	    bh->days[1].ranges[1].end == 750, "09:00-12:30 is 540..750");
	ok(bh->days[5].given && bh->days[5].nranges == 1 &&
	    bh->days[5].ranges[0].start == 1320 &&
	    bh->days[5].ranges[0].end == 360,
	    "friday 22:00-06:00 is 1320..360 (overnight)");
	ok(bh->days[0].given && bh->days[0].nranges == 0,
	    "sunday given with no ranges: closed");
	ok(!bh->days[2].given && bh->days[2].nranges == 0,
	    "tuesday not given: closed");
	ok(bh->holidays_given && bh->nholidays == 2 &&
	    bh->holidays[0].year == 0 && bh->holidays[0].month == 12 &&
	    bh->holidays[0].day == 25, "12-25 is every year's December 25");
	ok(bh->holidays[1].year == 2024 && bh->holidays[1].month == 2 &&
	    bh->holidays[1].day == 29, "2024-02-29 is a leap day");
	ok(!flow->recording_enabled && strcmp(flow->recording_format, "gsm") == 0,
	    "call_recording.enabled defaults to false, format kept");
	is_int(flow->max_call_duration, 3600, "max_call_duration kept");
	flow_free(flow);
}

/* flow_to_json(flow_parse(x)) is a fixed point of parse + to_json. */
static void
test_round_trip(const char *name, const char *text)
{
	struct flow *first, *second;
	json_t *doc, *once, *twice, *errors;

	doc = load(text);
	first = flow_parse(doc, &errors);
	json_decref(doc);
	if (first == NULL) {
		ok(0, "%s: round trip", name);
		show_errors(errors);
		json_decref(errors);
		return;
	}
	once = flow_to_json(first);
	second = flow_parse(once, &errors);
	if (second == NULL) {
		ok(0, "%s: normalised form is valid", name);
		show_errors(errors);
		json_decref(errors);
	} else {
		char *a = dump(once), *b;

		twice = flow_to_json(second);
		b = dump(twice);
		ok(json_equal(once, twice) && strcmp(a, b) == 0,
		    "%s: round trip is stable", name);
		if (strcmp(a, b) != 0)
			diag("once:  %s\ntwice: %s", a, b);
		free(a);
		free(b);
		json_decref(twice);
	}
	json_decref(once);
	flow_free(first);
	flow_free(second);
}

static void
test_bad_cases(void)
{
	ok(NITEMS(bad_cases) >= 40, "at least 40 bad documents (%zu)",
	    NITEMS(bad_cases));
	for (size_t i = 0; i < NITEMS(bad_cases); i++) {
		const struct change *c = &bad_cases[i];
		json_t *doc = changed(base_flow, c), *errors = NULL;
		struct flow *flow = flow_parse(doc, &errors);
		const char *first;

		first = json_string_value(json_array_get(errors, 0));
		if (!ok(flow == NULL && first != NULL &&
		    strcmp(first, c->error) == 0, "%s = %.40s: %s",
		    c->path[0] != '\0' ? c->path : "(document)",
		    c->value != NULL ? c->value : "(removed)", c->error)) {
			if (flow != NULL)
				diag("but the flow was accepted");
			show_errors(errors);
		}
		flow_free(flow);
		json_decref(errors);
		json_decref(doc);
	}
}

static void
test_good_cases(void)
{
	struct flow *flow;

	flow = parse_clean("the base flow used by the bad cases", base_flow);
	flow_free(flow);
	for (size_t i = 0; i < NITEMS(good_cases); i++) {
		const struct change *c = &good_cases[i];
		json_t *doc = changed(base_flow, c), *errors = NULL;

		flow = flow_parse(doc, &errors);
		if (!ok(flow != NULL, "accepted: %s = %s", c->path,
		    c->value ? c->value : "(removed)"))
			show_errors(errors);
		flow_free(flow);
		json_decref(errors);
		json_decref(doc);
	}
}

/* Polly refuses more than 3000 characters; characters, not bytes. */
static void
test_long_prompt(void)
{
	struct change c = { "prompts.welcome.text.en-US", NULL, NULL };
	struct flow *flow;
	json_t *doc, *errors;
	char *value;

	/* 3000 two-byte characters: 6000 bytes, twice the limit in bytes. */
	value = malloc(1 + 3000 * 2 + 2 + 1);	/* quote, text, x, quote */
	value[0] = '"';
	for (int i = 0; i < 3000; i++)
		memcpy(value + 1 + i * 2, "\xc3\xa9", 2);
	strcpy(value + 1 + 3000 * 2, "\"");
	c.value = value;
	doc = changed(base_flow, &c);
	flow = flow_parse(doc, &errors);
	ok(flow != NULL, "3000 characters (6000 bytes) of prompt text accepted");
	flow_free(flow);
	json_decref(errors);
	json_decref(doc);

	strcpy(value + 1 + 3000 * 2, "x\"");
	doc = changed(base_flow, &c);
	flow = flow_parse(doc, &errors);
	is_str(json_string_value(json_array_get(errors, 0)),
	    "prompts.welcome.text.en-US: must be at most 3000 characters",
	    "3001 characters rejected");
	flow_free(flow);
	json_decref(errors);
	json_decref(doc);
	free(value);
}

/* Every problem at once, in the order the document has them. */
static void
test_all_problems(void)
{
	static const char doc_text[] =
	    "{\"max_call_duration\":1,"
	    " \"id\":\"x\","
	    " \"languages\":[{\"code\":\"en-US\",\"voice\":\"Joanna\"}],"
	    " \"prompts\":{\"p\":{\"text\":{\"en-US\":\"Hi\"}}},"
	    " \"menus\":{\"root\":{\"id\":\"root\",\"prompt\":\"p\","
	    "   \"timeout_sec\":0,"
	    "   \"options\":{\"1\":{\"action\":\"hangup\"}}}},"
	    " \"tenant\":\"bad tenant\"}";
	json_t *doc = load(doc_text), *errors;
	struct flow *flow;

	flow = flow_parse(doc, &errors);
	ok(flow == NULL, "a flow with 3 problems is rejected");
	is_int((long long)json_array_size(errors), 3, "all 3 are reported");
	is_str(json_string_value(json_array_get(errors, 0)),
	    "max_call_duration: must be between 10 and 86400",
	    "first problem first");
	is_str(json_string_value(json_array_get(errors, 1)),
	    "menus.root.timeout_sec: must be between 1 and 300",
	    "second problem second");
	is_str(json_string_value(json_array_get(errors, 2)),
	    "tenant: " MSG_ID, "third problem last (document, not schema order)");
	flow_free(flow);
	json_decref(errors);
	json_decref(doc);

	doc = load("{\"id\":\"x\",\"languages\":[{\"code\":\"en-US\","
	    "\"voice\":\"Joanna\"}],\"prompts\":{\"p\":{\"text\":{"
	    "\"en-US\":\"Hi\"}}},\"menus\":{\"root\":{\"id\":\"root\","
	    "\"prompt\":\"p\",\"options\":{\"1\":{\"action\":\"queue\"},"
	    "\"2\":{\"action\":\"extension\",\"extension\":\"x y\"}}}}}");
	flow = flow_parse(doc, &errors);
	is_int((long long)json_array_size(errors), 3,
	    "missing fields and bad values of several options all reported");
	is_str(json_string_value(json_array_get(errors, 1)),
	    "menus.root.options.2: context is required for action 'extension'",
	    "an object's own problem comes before its fields'");
	is_str(json_string_value(json_array_get(errors, 2)),
	    "menus.root.options.2.extension: " MSG_TARGET,
	    "then its fields' problems");
	flow_free(flow);
	json_decref(errors);
	json_decref(doc);
}

static void
test_time_ranges(void)
{
	static const struct {
		const char	*text;
		int		 ret, start, end;
	} ranges[] = {
		{ "22:00-06:00", 0, 1320, 360 },
		{ "09:00-17:00", 0, 540, 1020 },
		{ "00:00-24:00", 0, 0, 1440 },
		{ "23:59-00:00", 0, 1439, 0 },
		{ "12:00-12:00", 0, 720, 720 },	/* parses; validator refuses */
		{ "9:00-17:00", -1, 0, 0 },
		{ "09:00-17:00 ", -1, 0, 0 },
		{ "09h00-17h00", -1, 0, 0 },
		{ "24:00-01:00", -1, 0, 0 },
		{ "09:00-24:01", -1, 0, 0 },
		{ "-9:00-17:00", -1, 0, 0 },
		{ "", -1, 0, 0 },
	};

	for (size_t i = 0; i < NITEMS(ranges); i++) {
		struct flow_time_range r = { -1, -1 };
		int ret = flow_time_range_parse(ranges[i].text, &r);

		if (ranges[i].ret == 0)
			ok(ret == 0 && r.start == ranges[i].start &&
			    r.end == ranges[i].end, "'%s' is %d..%d",
			    ranges[i].text, ranges[i].start, ranges[i].end);
		else
			ok(ret == -1, "'%s' is not a range", ranges[i].text);
	}
}

static void
test_holidays(void)
{
	static const struct {
		const char	*text;
		int		 ret, year, month, day;
	} days[] = {
		{ "2026-12-25", 0, 2026, 12, 25 },
		{ "01-01", 0, 0, 1, 1 },
		{ "02-29", 0, 0, 2, 29 },
		{ "2000-02-29", 0, 2000, 2, 29 },
		{ "1900-02-29", -1, 0, 0, 0 },
		{ "2026-04-31", -1, 0, 0, 0 },
		{ "2026-00-10", -1, 0, 0, 0 },
		{ "02-30", -1, 0, 0, 0 },
		{ "2026-1-01", -1, 0, 0, 0 },
		{ "26-12-25", -1, 0, 0, 0 },
	};

	for (size_t i = 0; i < NITEMS(days); i++) {
		struct flow_holiday h = { -1, -1, -1 };
		int ret = flow_holiday_parse(days[i].text, &h);

		if (days[i].ret == 0)
			ok(ret == 0 && h.year == days[i].year &&
			    h.month == days[i].month && h.day == days[i].day,
			    "holiday '%s'", days[i].text);
		else
			ok(ret == -1, "'%s' is not a date", days[i].text);
	}
	ok(flow_weekday_parse("sunday") == 0 &&
	    flow_weekday_parse("monday") == 1 &&
	    flow_weekday_parse("saturday") == 6 &&
	    flow_weekday_parse("Monday") == -1,
	    "weekdays are numbered like tm_wday");
}

static json_t *
load(const char *text)
{
	json_error_t err;
	json_t *doc;

	doc = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (doc == NULL) {
		diag("bad JSON in the test: %s: %.60s", err.text, text);
		exit(2);
	}
	return doc;
}

/* A copy of base with one field set (or removed) at a dotted path. */
static json_t *
changed(const char *base, const struct change *c)
{
	json_t *doc, *parent;
	char *path, *seg, *next;

	if (c->path[0] == '\0')
		return load(c->value);
	doc = load(base);
	path = strdup(c->path);
	parent = doc;
	for (seg = path; (next = strchr(seg, '.')) != NULL; seg = next + 1) {
		*next = '\0';
		parent = json_is_array(parent) ?
		    json_array_get(parent, strtoul(seg, NULL, 10)) :
		    json_object_get(parent, seg);
	}
	if (json_is_array(parent)) {
		size_t i = strtoul(seg, NULL, 10);

		if (c->value == NULL)
			json_array_remove(parent, i);
		else
			json_array_set_new(parent, i, load(c->value));
	} else if (c->value == NULL)
		json_object_del(parent, seg);
	else
		json_object_set_new(parent, seg, load(c->value));
	free(path);
	return doc;
}

/* The value at a dotted path, borrowed; NULL if there is none. */
static json_t *
at(json_t *doc, const char *dotted)
{
	char *path = strdup(dotted), *seg, *next;
	json_t *v = doc;

	for (seg = path; v != NULL && seg != NULL; seg = next) {
		if ((next = strchr(seg, '.')) != NULL)
			*next++ = '\0';
		v = json_is_array(v) ? json_array_get(v, strtoul(seg, NULL, 10)) :
		    json_object_get(v, seg);
	}
	free(path);
	return v;
}

static const char *
str_at(json_t *doc, const char *path)
{
	return json_string_value(at(doc, path));
}

static json_int_t
int_at(json_t *doc, const char *path)
{
	json_t *v = at(doc, path);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static char *
dump(json_t *doc)
{
	return json_dumps(doc, JSON_COMPACT);
}

static void
show_errors(json_t *errors)
{
	size_t i;
	json_t *e;

	json_array_foreach(errors, i, e)
		diag("  %s", json_string_value(e));
}

/* Parses text and checks that it is accepted with no errors at all. */
static struct flow *
parse_clean(const char *name, const char *text)
{
	/* Not NULL, so the test sees flow_parse() clear it. */
	json_t *doc = load(text), *errors = json_null();
	struct flow *flow;

	flow = flow_parse(doc, &errors);
	ok(flow != NULL && errors == NULL, "%s is valid", name);
	if (flow == NULL) {
		show_errors(errors);
		json_decref(errors);
	}
	json_decref(doc);
	return flow;
}
