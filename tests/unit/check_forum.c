/*
 * NAME
 *	check_forum - the forum drivers: NodeBB answers, and both drivers
 *	against the forum simulator, which checks every request against
 *	the published API contracts
 * DESCRIPTION
 *	The simulator (tests/forumsim/forumsim.py) runs as a child on a
 *	port it picks; a request that breaks the contract is answered 400
 *	and listed in GET /__sim/state "violations", which must stay
 *	empty. Tests that need it skip when python3 or the contracts
 *	(../shared/contracts) are missing.
 */
#include "fg-common.h"
#include "fg-forum.h"

#include <check.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <curl/curl.h>
#include <jansson.h>

#define SIM_KEY "check-forum-key"

struct sim {
	pid_t pid;
	int port;
	char url[64];
};

/* sim_start - forumsim in the given mode; false when it cannot run */
static bool sim_start(struct sim *sim, const char *type)
{
	char contracts[1024];
	int fds[2];
	FILE *fp;
	char line[256];

	snprintf(contracts, sizeof(contracts),
		 "%s/../shared/contracts/nodebb-write-openapi/write.yaml",
		 FG_SRCDIR);
	if (access(contracts, R_OK) != 0 || pipe(fds) < 0) {
		fprintf(stderr, "skipped: %s is not there\n", contracts);
		return false;
	}
	sim->pid = fork();
	if (sim->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(127);
		execlp("python3", "python3", FG_SRCDIR "/tests/forumsim/forumsim.py",
		       "--listen", "127.0.0.1:0", "--api-key", SIM_KEY,
		       "--forum-type", type, "--log", "/dev/null",
		       (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	fp = fdopen(fds[0], "r");
	sim->port = 0;
	if (fp != NULL && fgets(line, sizeof(line), fp) != NULL)
		sscanf(line, "forumsim listening on 127.0.0.1:%d", &sim->port);
	if (fp != NULL)
		fclose(fp);
	if (sim->port <= 0) {
		fprintf(stderr, "skipped: forumsim (python3) did not start\n");
		kill(sim->pid, SIGTERM);
		waitpid(sim->pid, NULL, 0);
		return false;
	}
	snprintf(sim->url, sizeof(sim->url), "http://127.0.0.1:%d", sim->port);
	return true;
}

static void sim_stop(struct sim *sim)
{
	kill(sim->pid, SIGTERM);
	waitpid(sim->pid, NULL, 0);
}

static size_t collect(char *data, size_t size, size_t n, void *context)
{
	fg_buf_append(context, data, size * n);
	return size * n;
}

/* sim_call - a control endpoint of the simulator, decoded */
static json_t *sim_call(struct sim *sim, const char *path, const char *body)
{
	CURL *curl = curl_easy_init();
	struct fg_buf b = { 0 };
	struct curl_slist *h = curl_slist_append(NULL,
		"Content-Type: application/json");
	char *url = fg_xasprintf("%s%s", sim->url, path);
	json_t *root;

	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	if (body != NULL)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	ck_assert_int_eq(curl_easy_perform(curl), CURLE_OK);
	curl_easy_cleanup(curl);
	curl_slist_free_all(h);
	free(url);
	root = json_loadb(b.s, b.len, 0, NULL);
	fg_buf_free(&b);
	ck_assert_ptr_nonnull(root);
	return root;
}

/* sim_no_violations - the simulator saw only requests the contract allows */
static void sim_assert_clean(struct sim *sim)
{
	json_t *st = sim_call(sim, "/__sim/state", NULL);

	ck_assert_msg(json_array_size(json_object_get(st, "violations")) == 0,
		      "contract violations: %s",
		      json_dumps(json_object_get(st, "violations"), 0));
	ck_assert_int_eq(json_array_size(json_object_get(st,
		"response_errors")), 0);
	json_decref(st);
}

/* sim_assert_first_topic - the first topic has n posts, the first by
   first, the second by second in answer to the first; and the
   simulator saw no violation */
static void sim_assert_first_topic(struct sim *sim, size_t n,
				   const char *first, const char *second)
{
	json_t *st = sim_call(sim, "/__sim/state", NULL);
	json_t *posts = json_object_get(json_array_get(json_object_get(
		st, "topics"), 0), "posts");

	ck_assert_uint_eq(json_array_size(posts), n);
	ck_assert_str_eq(json_string_value(json_object_get(
		json_array_get(posts, 0), "username")), first);
	ck_assert_str_eq(json_string_value(json_object_get(
		json_array_get(posts, 1), "username")), second);
	ck_assert_int_eq(json_integer_value(json_object_get(
		json_array_get(posts, 1), "reply_to_post_number")), 1);
	json_decref(st);
	sim_assert_clean(sim);
}

/* ---- NodeBB answers ---- */

START_TEST(test_nodebb_classify)
{
	static const char topic[] =
		"{\"status\":{\"code\":\"ok\",\"message\":\"OK\"},"
		"\"response\":{\"tid\":12,\"cid\":3,\"mainPid\":40,"
		"\"title\":\"x\",\"mainPost\":{\"pid\":40,\"tid\":12}}}";
	static const char reply[] =
		"{\"status\":{\"code\":\"ok\",\"message\":\"OK\"},"
		"\"response\":{\"pid\":41,\"tid\":12,\"toPid\":40,"
		"\"index\":3}}";
	static const char queued[] =
		"{\"status\":{\"code\":\"accepted\",\"message\":\"\"},"
		"\"response\":{\"queued\":true,\"id\":\"topic-1\"}}";
	static const char bad[] =
		"{\"status\":{\"code\":\"bad-request\",\"message\":"
		"\"Please enter a longer post.\\nNow.\"},\"response\":{}}";
	struct fg_forum_answer a;
	const char *error;

	ck_assert_int_eq(fg_nodebb_classify(200, topic, strlen(topic), NULL,
					    0, &a, &error), FG_FORUM_OK);
	ck_assert_int_eq(a.topic_id, 12);
	ck_assert_int_eq(a.post_id, 40);
	ck_assert_int_eq(a.post_number, 1);
	ck_assert_int_eq(fg_nodebb_classify(200, reply, strlen(reply), NULL,
					    0, &a, &error), FG_FORUM_OK);
	ck_assert_int_eq(a.post_id, 41);
	ck_assert_int_eq(a.post_number, 4);
	ck_assert_int_eq(fg_nodebb_classify(202, queued, strlen(queued), NULL,
					    0, &a, &error), FG_FORUM_HELD);
	ck_assert_int_eq(fg_nodebb_classify(200, queued, strlen(queued), NULL,
					    0, &a, &error), FG_FORUM_HELD);
	ck_assert_str_eq(a.held_id, "topic-1");
	ck_assert_int_eq(fg_nodebb_classify(400, bad, strlen(bad), NULL, 0,
					    &a, &error), FG_FORUM_PERMANENT);
	ck_assert_str_eq(error,
		"forum answered HTTP 400: Please enter a longer post. Now.");
	/* a wrong token: NodeBB goes on as a guest, who may not post */
	ck_assert_int_eq(fg_nodebb_classify(403, bad, strlen(bad), NULL, 0,
					    &a, &error), FG_FORUM_TRANSIENT);
	ck_assert_int_eq(a.cause, FG_FORUM_CAUSE_CREDENTIALS);
	ck_assert_int_eq(fg_nodebb_classify(429, bad, strlen(bad), "9", 0,
					    &a, &error), FG_FORUM_TRANSIENT);
	ck_assert_int_eq(a.retry_after_ms, 9000);
	ck_assert_int_eq(fg_nodebb_classify(401, NULL, 0, NULL, 0, &a,
					    &error), FG_FORUM_TRANSIENT);
	ck_assert_int_eq(fg_nodebb_classify(503, "<html>", 6, NULL, 0, &a,
					    &error), FG_FORUM_TRANSIENT);
	/* 2xx without ids: the post may exist, never retried blindly */
	ck_assert_int_eq(fg_nodebb_classify(200, "{}", 2, NULL, 0, &a,
					    &error), FG_FORUM_PERMANENT);
	ck_assert_int_eq(fg_nodebb_classify(200, "[1", 2, NULL, 0, &a,
					    &error), FG_FORUM_PERMANENT);
}
END_TEST

START_TEST(test_nodebb_init)
{
	struct fg_forum_settings set = {
		.type = "nodebb", .url = "https://nodebb.example.org/",
		.api_key = "token", .api_username = "1", .timeout_ms = 1000,
	};
	struct fg_forum *forum = NULL;
	const char *error;
	char *url;

	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), 0);
	url = fg_forum_post_url(forum, 7, 1);
	ck_assert_str_eq(url, "https://nodebb.example.org/topic/7");
	free(url);
	url = fg_forum_post_url(forum, 7, 3);
	ck_assert_str_eq(url, "https://nodebb.example.org/topic/7/-/3");
	free(url);
	ck_assert_int_eq(fg_forum_can_upload(forum), 0);
	fg_forum_deinit(&forum);
	set.api_username = "system";	/* not a uid */
	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "uid"));
	set.api_username = "1";
	set.api_key = "a\nb";
	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), -1);
}
END_TEST

START_TEST(test_external_id)
{
	char *a = fg_forum_external_id("abc@example.org");
	char *b = fg_forum_external_id("abc@example.org");
	char *c = fg_forum_external_id("abd@example.org");

	ck_assert_str_eq(a, b);
	ck_assert_str_ne(a, c);
	ck_assert_uint_eq(strlen(a), 35);
	ck_assert_int_eq(strncmp(a, "fg-", 3), 0);
	ck_assert_uint_eq(strspn(a + 3, "0123456789abcdef"), 32);
	free(a);
	free(b);
	free(c);
	ck_assert(fg_forum_raw_same("Hello  World\n", " hello world"));
	ck_assert(!fg_forum_raw_same("Hello World", "Hello Worlds"));
}
END_TEST

/* ---- the NodeBB driver against the simulator ---- */

START_TEST(test_nodebb_against_contract)
{
	struct sim sim;
	struct fg_forum_settings set = {
		.type = "nodebb", .api_key = SIM_KEY, .api_username = "2",
		.timeout_ms = 5000,
	};
	struct fg_forum *forum;
	struct fg_forum_answer topic, reply, a;
	const char *error;

	if (!sim_start(&sim, "nodebb"))
		return;		/* no python3 or no contracts: nothing to do */
	set.url = sim.url;
	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), 0);
	struct fg_forum_request req = {
		.title = "A topic from the list", .category = 3,
		.raw = "The first message of the thread.",
		.external_id = "fg-0123",	/* NodeBB has none: not sent */
	};
	ck_assert_int_eq(fg_forum_create(forum, &req, &topic, &error),
			 FG_FORUM_OK);
	ck_assert_int_eq(topic.post_number, 1);
	struct fg_forum_request r2 = {
		.topic_id = topic.topic_id, .reply_to_post_number = 1,
		.reply_to_post_id = topic.post_id, .author = "7",
		.raw = "A reply by a mapped author.",
	};
	ck_assert_int_eq(fg_forum_create(forum, &r2, &reply, &error),
			 FG_FORUM_OK);
	ck_assert_int_eq(reply.topic_id, topic.topic_id);
	ck_assert_int_eq(reply.post_number, 2);
	/* a permanent refusal keeps NodeBB's reason */
	struct fg_forum_request r3 = { .topic_id = topic.topic_id,
				       .reply_to_post_number = 9,
				       .reply_to_post_id = 99999,
				       .raw = "A reply to a post not there." };
	ck_assert_int_eq(fg_forum_create(forum, &r3, &a, &error),
			 FG_FORUM_PERMANENT);
	ck_assert_ptr_nonnull(strstr(error, "HTTP 400"));
	r3.author = "bob";
	ck_assert_int_eq(fg_forum_create(forum, &r3, &a, &error),
			 FG_FORUM_PERMANENT);
	ck_assert_ptr_nonnull(strstr(error, "uid"));
	/* 429 and 503 stop the queue */
	json_decref(sim_call(&sim, "/__sim/fail",
			     "{\"mode\":\"429\",\"retry_after\":3}"));
	ck_assert_int_eq(fg_forum_create(forum, &r2, &a, &error),
			 FG_FORUM_TRANSIENT);
	ck_assert_int_eq(a.retry_after_ms, 3000);
	json_decref(sim_call(&sim, "/__sim/fail", "{\"mode\":\"503\"}"));
	ck_assert_int_eq(fg_forum_create(forum, &r2, &a, &error),
			 FG_FORUM_TRANSIENT);
	fg_forum_deinit(&forum);

	sim_assert_first_topic(&sim, 2, "2", "7");
	sim_stop(&sim);
}
END_TEST

/* ---- the generic driver ---- */

START_TEST(test_generic_sign)
{
	/* python3: hmac.new(b"k3y", b"1700000000." + body, sha256) */
	char *sig = fg_generic_sign("k3y", 1700000000, "{\"a\":1}", 7);
	struct fg_forum_request req = { .message_id = "abc@example.org",
					.external_id = "fg-other",
					.raw = "text" };
	char *key, *key2;

	ck_assert_str_eq(sig, "sha256=fd5a70e965043f7df6309c2c3b5ff5a8ffa99b1f"
			 "5175e9a311459e73c4634d4a");
	free(sig);
	/* another timestamp, another signature: the timestamp is signed */
	sig = fg_generic_sign("k3y", 1700000001, "{\"a\":1}", 7);
	ck_assert_str_ne(sig, "sha256=fd5a70e965043f7df6309c2c3b5ff5a8ffa99b1f"
			 "5175e9a311459e73c4634d4a");
	free(sig);
	/* the key of a list message is its external id (SHA-256 of the
	   Message-ID), for topics and replies alike */
	key = fg_generic_idempotency_key(&req);
	ck_assert_str_eq(key, "fg-1f9d985c0d8d9ef960eded8464879c86");
	free(key);
	req.message_id = NULL;
	key = fg_generic_idempotency_key(&req);
	ck_assert_str_eq(key, "fg-other");
	free(key);
	req.external_id = NULL;
	key = fg_generic_idempotency_key(&req);
	req.topic_id = 5;
	key2 = fg_generic_idempotency_key(&req);
	ck_assert_int_eq(strncmp(key, "fp-", 3), 0);
	ck_assert_uint_eq(strlen(key), 35);
	ck_assert_str_ne(key, key2);
	free(key);
	free(key2);
}
END_TEST

START_TEST(test_generic_classify)
{
	static const char created[] =
		"{\"topic_id\":12,\"post_id\":340,\"post_number\":3}";
	static const char rate[] =
		"{\"error\":{\"code\":\"rate_limited\",\"message\":"
		"\"slow down\",\"retry_after\":40}}";
	static const char refused[] =
		"{\"error\":{\"code\":\"content_refused\",\"message\":"
		"\"Body is too short\\n(minimum is 20 characters)\"}}";
	static const char bad[] =
		"{\"error\":{\"code\":\"not_found\",\"message\":"
		"\"Topic does not exist\"}}";
	struct fg_forum_answer a;
	const char *error;

	ck_assert_int_eq(fg_generic_classify(200, created, strlen(created),
					     NULL, 0, &a, &error),
			 FG_FORUM_OK);
	ck_assert_int_eq(a.topic_id, 12);
	ck_assert_int_eq(a.post_id, 340);
	ck_assert_int_eq(a.post_number, 3);
	ck_assert_int_eq(fg_generic_classify(201, created, strlen(created),
					     NULL, 0, &a, &error),
			 FG_FORUM_OK);
	/* held for a moderator */
	ck_assert_int_eq(fg_generic_classify(202, "{}", 2, NULL, 0, &a,
					     &error), FG_FORUM_HELD);
	ck_assert_int_eq(fg_generic_classify(200, "{\"queued\":true}", 15,
					     NULL, 0, &a, &error),
			 FG_FORUM_HELD);
	/* 2xx without all three ids: the post may exist */
	ck_assert_int_eq(fg_generic_classify(200, "{\"topic_id\":1,"
					     "\"post_id\":2}", 26, NULL, 0,
					     &a, &error), FG_FORUM_PERMANENT);
	ck_assert_int_eq(a.topic_id, 0);
	ck_assert_int_eq(fg_generic_classify(200, "[", 1, NULL, 0, &a,
					     &error), FG_FORUM_PERMANENT);
	/* rate limited: the header wins, else the body's retry_after */
	ck_assert_int_eq(fg_generic_classify(429, rate, strlen(rate), "7", 0,
					     &a, &error), FG_FORUM_TRANSIENT);
	ck_assert_int_eq(a.retry_after_ms, 7000);
	ck_assert_int_eq(fg_generic_classify(429, rate, strlen(rate), NULL,
					     0, &a, &error),
			 FG_FORUM_TRANSIENT);
	ck_assert_int_eq(a.retry_after_ms, 40000);
	ck_assert_str_eq(error, "forum answered HTTP 429: slow down");
	/* credentials refused: the queue waits, never a dead letter */
	ck_assert_int_eq(fg_generic_classify(401, NULL, 0, NULL, 0, &a,
					     &error), FG_FORUM_TRANSIENT);
	ck_assert_ptr_nonnull(strstr(error, "credentials refused"));
	ck_assert_int_eq(fg_generic_classify(403, bad, strlen(bad), NULL, 0,
					     &a, &error), FG_FORUM_TRANSIENT);
	ck_assert_int_eq(fg_generic_classify(503, "<html>", 6, "3", 0, &a,
					     &error), FG_FORUM_TRANSIENT);
	ck_assert_int_eq(a.retry_after_ms, 3000);
	/* content refused: a dead letter at once, the forum's reason kept
	   on one line */
	ck_assert_int_eq(fg_generic_classify(422, refused, strlen(refused),
					     NULL, 0, &a, &error),
			 FG_FORUM_PERMANENT);
	ck_assert(a.content_refused);
	ck_assert_str_eq(error, "forum answered HTTP 422: Body is too short "
			 "(minimum is 20 characters)");
	ck_assert_int_eq(fg_generic_classify(400, refused, strlen(refused),
					     NULL, 0, &a, &error),
			 FG_FORUM_PERMANENT);
	ck_assert(a.content_refused);
	ck_assert_int_eq(fg_generic_classify(404, bad, strlen(bad), NULL, 0,
					     &a, &error), FG_FORUM_PERMANENT);
	ck_assert(!a.content_refused);
	ck_assert_str_eq(error,
			 "forum answered HTTP 404: Topic does not exist");
}
END_TEST

START_TEST(test_generic_init)
{
	struct fg_forum_settings set = {
		.type = "generic", .url = "https://forum.example.org/",
		.generic_secret = "s", .timeout_ms = 1000,
	};
	struct fg_forum *forum = NULL;
	const char *error;
	char *url;

	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), 0);
	url = fg_forum_post_url(forum, 7, 3);
	ck_assert_str_eq(url, "https://forum.example.org/t/7/3");
	free(url);
	fg_forum_deinit(&forum);
	set.generic_link = "%u/viewtopic.php?t=%t#p%n%%";
	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), 0);
	url = fg_forum_post_url(forum, 7, 3);
	ck_assert_str_eq(url,
			 "https://forum.example.org/viewtopic.php?t=7#p3%");
	free(url);
	fg_forum_deinit(&forum);
	set.generic_link = "%u/%x";
	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "forum_generic_link"));
	set.generic_link = NULL;
	set.generic_url = "ftp://forum.example.org/in";
	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "forum_generic_url"));
	set.generic_url = NULL;
	set.generic_secret = "";
	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "forum_generic_secret"));
}
END_TEST

/* generic_open - a generic handle on the simulator's endpoint */
static struct fg_forum *generic_open(struct sim *sim, const char *secret)
{
	char *endpoint = fg_xasprintf("%s/forumgate/posts", sim->url);
	struct fg_forum_settings set = {
		.type = "generic", .url = sim->url, .generic_url = endpoint,
		.generic_secret = secret, .api_username = "system",
		.timeout_ms = 5000,
	};
	struct fg_forum *forum;
	const char *error;

	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), 0);
	free(endpoint);
	return forum;
}

/* generic_posts - how many posts the simulated forum has */
static size_t generic_posts(struct sim *sim)
{
	json_t *st = sim_call(sim, "/__sim/state", NULL), *topics;
	size_t n = 0, i;

	topics = json_object_get(st, "topics");
	for (i = 0; i < json_array_size(topics); i++)
		n += json_array_size(json_object_get(json_array_get(topics, i),
						     "posts"));
	json_decref(st);
	return n;
}

START_TEST(test_generic_against_sim)
{
	struct sim sim;
	struct fg_forum *forum, *wrong;
	struct fg_forum_answer topic, reply, a;
	const char *error;

	if (!sim_start(&sim, "generic"))
		return;		/* no python3 or no contracts: nothing to do */
	forum = generic_open(&sim, SIM_KEY);
	struct fg_forum_request req = {
		.title = "A topic from the list", .category = 3,
		.raw = "The first message of the thread.",
		.message_id = "first@list.example.org",
	};
	/* find before the post exists: not found */
	ck_assert_int_eq(fg_forum_find(forum, &req, &a, &error), 0);
	ck_assert_int_eq(fg_forum_create(forum, &req, &topic, &error),
			 FG_FORUM_OK);
	ck_assert_int_eq(topic.post_number, 1);
	/* the same request again (a lost answer): the first post's ids */
	ck_assert_int_eq(fg_forum_create(forum, &req, &a, &error),
			 FG_FORUM_OK);
	ck_assert_int_eq(a.post_id, topic.post_id);
	ck_assert_int_eq(fg_forum_find(forum, &req, &a, &error), 1);
	ck_assert_int_eq(a.topic_id, topic.topic_id);
	ck_assert_int_eq(a.post_id, topic.post_id);
	struct fg_forum_request r2 = {
		.topic_id = topic.topic_id, .reply_to_post_number = 1,
		.reply_to_post_id = topic.post_id, .author = "alice",
		.raw = "A reply by a mapped author.",
		.message_id = "second@list.example.org",
	};
	/* the answer is lost after the forum made the post: find has it.
	   A new handle, as curl sends a request again by itself when a
	   kept-alive connection closes without an answer (harmless here:
	   the key makes no second post) */
	json_decref(sim_call(&sim, "/__sim/fail", "{\"mode\":\"lost\"}"));
	wrong = generic_open(&sim, SIM_KEY);
	ck_assert_int_eq(fg_forum_create(wrong, &r2, &a, &error),
			 FG_FORUM_TRANSIENT);
	ck_assert_int_eq(a.http_status, 0);
	fg_forum_deinit(&wrong);
	ck_assert_int_eq(fg_forum_find(forum, &r2, &reply, &error), 1);
	ck_assert_int_eq(reply.topic_id, topic.topic_id);
	ck_assert_int_eq(reply.post_number, 2);
	ck_assert_int_eq(fg_forum_create(forum, &r2, &a, &error),
			 FG_FORUM_OK);
	ck_assert_int_eq(a.post_id, reply.post_id);
	ck_assert_uint_eq(generic_posts(&sim), 2);
	/* the forum's refusals in the contract's classes */
	struct fg_forum_request r3 = {
		.topic_id = topic.topic_id, .raw = "Thanks!",
		.message_id = "third@list.example.org",
	};
	ck_assert_int_eq(fg_forum_create(forum, &r3, &a, &error),
			 FG_FORUM_PERMANENT);
	ck_assert(a.content_refused);
	ck_assert_ptr_nonnull(strstr(error, "HTTP 422"));
	r3.raw = "A reply to a topic that is not there.";
	r3.topic_id = 99999;
	ck_assert_int_eq(fg_forum_create(forum, &r3, &a, &error),
			 FG_FORUM_PERMANENT);
	ck_assert(!a.content_refused);
	ck_assert_int_eq(a.http_status, 404);
	r3.topic_id = topic.topic_id;
	json_decref(sim_call(&sim, "/__sim/fail",
			     "{\"mode\":\"429\",\"retry_after\":3}"));
	ck_assert_int_eq(fg_forum_create(forum, &r3, &a, &error),
			 FG_FORUM_TRANSIENT);
	ck_assert_int_eq(a.retry_after_ms, 3000);
	json_decref(sim_call(&sim, "/__sim/fail", "{\"mode\":\"503\"}"));
	ck_assert_int_eq(fg_forum_create(forum, &r3, &a, &error),
			 FG_FORUM_TRANSIENT);
	/* a wrong secret: refused, transient, nothing posted */
	wrong = generic_open(&sim, "not-the-secret");
	ck_assert_int_eq(fg_forum_create(wrong, &r3, &a, &error),
			 FG_FORUM_TRANSIENT);
	ck_assert_int_eq(a.http_status, 401);
	ck_assert_ptr_nonnull(strstr(error, "credentials refused"));
	fg_forum_deinit(&wrong);
	ck_assert_int_eq(fg_forum_create(forum, &r3, &a, &error),
			 FG_FORUM_OK);
	ck_assert_int_eq(a.post_number, 3);
	fg_forum_deinit(&forum);

	sim_assert_first_topic(&sim, 3, "system", "alice");
	sim_stop(&sim);
}
END_TEST

/* ---- a post's author and a private message, both drivers ---- */

/* message_case - post as author, look the author up, message them; a
   message to an unknown user is refused, a forum outage is transient */
static void message_case(const char *type, const char *bridge,
			 const char *author, const char *unknown)
{
	struct sim sim;
	struct fg_forum_settings set = {
		.type = type, .api_key = SIM_KEY, .api_username = bridge,
		.timeout_ms = 5000,
	};
	struct fg_forum *forum;
	struct fg_forum_answer post, a;
	const char *error;
	char *who;
	json_t *st, *list, *item;

	if (!sim_start(&sim, type))
		return;
	set.url = sim.url;
	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), 0);
	ck_assert(fg_forum_can_message(forum));
	struct fg_forum_request req = {
		.title = "A topic whose author is looked up", .category = 3,
		.raw = "The text of a post by a forum user.", .author = author,
	};
	ck_assert_int_eq(fg_forum_create(forum, &req, &post, &error),
			 FG_FORUM_OK);
	ck_assert_int_eq(fg_forum_post_author(forum, post.post_id, &who, &a,
					      &error), FG_FORUM_OK);
	ck_assert_str_eq(who, author);
	free(who);
	ck_assert_int_eq(fg_forum_post_author(forum, 987654, &who, &a,
					      &error), FG_FORUM_PERMANENT);
	ck_assert_ptr_null(who);
	ck_assert_int_eq(fg_forum_private_message(forum, author,
		"Your post did not reach the list",
		"The list rejected it:\n\n    because <b>x</b>\n", &a,
		&error), FG_FORUM_OK);
	ck_assert_int_eq(fg_forum_private_message(forum, unknown,
		"Your post did not reach the list", "Nobody gets this one.",
		&a, &error), FG_FORUM_PERMANENT);
	json_decref(sim_call(&sim, "/__sim/fail", "{\"mode\":\"503\"}"));
	ck_assert_int_eq(fg_forum_private_message(forum, author,
		"Your post did not reach the list", "Not now: 503.", &a,
		&error), FG_FORUM_TRANSIENT);
	json_decref(sim_call(&sim, "/__sim/fail", "{\"mode\":\"503\"}"));
	ck_assert_int_eq(fg_forum_post_author(forum, post.post_id, &who, &a,
					      &error), FG_FORUM_TRANSIENT);
	fg_forum_deinit(&forum);

	st = sim_call(&sim, "/__sim/state", NULL);
	list = json_object_get(st, strcmp(type, "nodebb") == 0 ? "chats" :
			       "private_messages");
	ck_assert_int_eq(json_array_size(list), 1);
	item = json_array_get(list, 0);
	if (strcmp(type, "nodebb") == 0) {
		ck_assert_int_eq(json_integer_value(json_object_get(item,
			"fromuid")), atoi(bridge));
		ck_assert_ptr_nonnull(strstr(json_string_value(
			json_object_get(item, "content")),
			"**Your post did not reach the list**\n\n"));
	} else {
		ck_assert_str_eq(json_string_value(json_object_get(item,
			"username")), bridge);
		ck_assert_str_eq(json_string_value(json_array_get(
			json_object_get(item, "target_recipients"), 0)), author);
		ck_assert_str_eq(json_string_value(json_object_get(item,
			"title")), "Your post did not reach the list");
	}
	/* a private message is no topic */
	ck_assert_int_eq(json_array_size(json_object_get(st, "topics")), 1);
	json_decref(st);
	sim_assert_clean(&sim);
	sim_stop(&sim);
}

START_TEST(test_discourse_private_message)
{
	message_case("discourse", "forumgate", "erin", "nobody_here");
}
END_TEST

START_TEST(test_nodebb_chat_message)
{
	message_case("nodebb", "2", "7", "4242");
}
END_TEST

/* ---- the Discourse driver's newer calls against the simulator ---- */

START_TEST(test_discourse_author_and_find)
{
	struct sim sim;
	struct fg_forum_settings set = {
		.type = "discourse", .api_key = SIM_KEY,
		.api_username = "forumgate", .timeout_ms = 5000,
	};
	struct fg_forum *forum;
	struct fg_forum_answer topic, reply, a;
	const char *error;
	char *ext = fg_forum_external_id("find-me@example.org");
	json_t *st, *posts;

	if (!sim_start(&sim, "discourse")) {
		free(ext);
		return;
	}
	set.url = sim.url;
	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), 0);
	struct fg_forum_request req = {
		.title = "A topic with an external id", .category = 5,
		.raw = "Body of the topic that will be looked for.",
		.external_id = ext,
	};
	/* nothing there yet */
	ck_assert_int_eq(fg_forum_find(forum, &req, &a, &error), 0);
	ck_assert_int_eq(fg_forum_create(forum, &req, &topic, &error),
			 FG_FORUM_OK);
	ck_assert_int_eq(fg_forum_find(forum, &req, &a, &error), 1);
	ck_assert_int_eq(a.topic_id, topic.topic_id);
	ck_assert_int_eq(a.post_id, topic.post_id);
	ck_assert_int_eq(a.post_number, 1);
	/* the same external id again: refused as taken */
	ck_assert_int_eq(fg_forum_create(forum, &req, &a, &error),
			 FG_FORUM_PERMANENT);
	ck_assert_ptr_nonnull(strstr(error, "already been taken"));

	struct fg_forum_request r2 = {
		.topic_id = topic.topic_id, .reply_to_post_number = 1,
		.raw = "A reply posted as a mapped author, alice.",
		.author = "alice",
	};
	ck_assert_int_eq(fg_forum_find(forum, &r2, &a, &error), 0);
	ck_assert_int_eq(fg_forum_create(forum, &r2, &reply, &error),
			 FG_FORUM_OK);
	ck_assert_int_eq(fg_forum_find(forum, &r2, &a, &error), 1);
	ck_assert_int_eq(a.post_id, reply.post_id);
	ck_assert_int_eq(a.post_number, 2);
	/* the same text by another user is not the post */
	r2.author = NULL;
	ck_assert_int_eq(fg_forum_find(forum, &r2, &a, &error), 0);

	/* an upload (multipart/form-data, checked against the contract) */
	static const unsigned char png[] = "\x89PNG\r\n\x1a\nbytes";
	struct fg_forum_file file = {
		.name = "screen [1].png", .type = "image/png", .data = png,
		.size = sizeof(png) - 1, .author = "alice",
	};
	struct fg_forum_upload up;
	ck_assert(fg_forum_can_upload(forum));
	ck_assert_int_eq(fg_forum_upload(forum, &file, &up, &error),
			 FG_FORUM_OK);
	ck_assert_int_eq(strncmp(up.url, "upload://", 9), 0);
	ck_assert_int_eq(strncmp(up.markdown, "![screen \\[1\\].png](upload://",
				 29), 0);
	fg_forum_upload_free(&up);
	file.name = "notes.txt";
	file.type = "text/plain";
	ck_assert_int_eq(fg_forum_upload(forum, &file, &up, &error),
			 FG_FORUM_OK);
	ck_assert_ptr_nonnull(strstr(up.markdown, "[notes.txt|attachment]("));
	fg_forum_upload_free(&up);
	json_decref(sim_call(&sim, "/__sim/fail", "{\"mode\":\"503\"}"));
	ck_assert_int_eq(fg_forum_upload(forum, &file, &up, &error),
			 FG_FORUM_TRANSIENT);
	fg_forum_deinit(&forum);

	st = sim_call(&sim, "/__sim/state", NULL);
	json_t *t = json_array_get(json_object_get(st, "topics"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(t, "external_id")),
			 ext);
	posts = json_object_get(t, "posts");
	ck_assert_str_eq(json_string_value(json_object_get(
		json_array_get(posts, 1), "username")), "alice");
	json_t *u = json_array_get(json_object_get(st, "uploads"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(u, "username")),
			 "alice");
	ck_assert_int_eq(json_integer_value(json_object_get(u, "filesize")),
			 sizeof(png) - 1);
	json_decref(st);
	sim_assert_clean(&sim);
	sim_stop(&sim);
	free(ext);
}
END_TEST

/* utf8_valid - every byte in a whole, shortest-form UTF-8 sequence */
static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		size_t n = *p < 0x80 ? 1 : *p >= 0xc2 && *p <= 0xdf ? 2 :
			*p >= 0xe0 && *p <= 0xef ? 3 :
			*p >= 0xf0 && *p <= 0xf4 ? 4 : 0;
		if (n == 0)
			return false;
		for (size_t i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
		}
		p += n;
	}
	return true;
}

/* repeat - s n times (caller frees) */
static char *repeat(const char *s, size_t n)
{
	struct fg_buf b = { 0 };

	for (size_t i = 0; i < n; i++)
		fg_buf_puts(&b, s);
	return fg_buf_steal(&b);
}

START_TEST(test_fit_length)
{
	const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";	/* aé€😀 */

	ck_assert_uint_eq(fg_fit_length(s, strlen(s), false), 4);
	ck_assert_uint_eq(fg_fit_length(s, strlen(s), true), 5);
	/* a stray byte, a sequence cut short: one character each */
	ck_assert_uint_eq(fg_fit_length("\xff" "a", 2, false), 2);
	ck_assert_uint_eq(fg_fit_length("\xe2\x82", 2, false), 2);
	ck_assert_uint_eq(fg_fit_length("", 0, true), 0);
}
END_TEST

START_TEST(test_fit_title)
{
	struct fg_fit_limits lim = { .max_title = 255, .min_title = 15 };
	char *in, *out;

	/* exactly at the limit: unchanged (white space around trimmed) */
	in = repeat("x", 255);
	out = fg_fit_title(in, &lim);
	ck_assert_str_eq(out, in);
	free(out);
	free(in);
	/* one over, no word boundary: 254 characters and the ellipsis */
	in = repeat("x", 256);
	out = fg_fit_title(in, &lim);
	ck_assert_uint_eq(fg_fit_length(out, strlen(out), false), 255);
	ck_assert_str_eq(out + 254, FG_FIT_ELLIPSIS);
	free(out);
	free(in);
	/* cut after the last whole word */
	lim.max_title = 15;
	lim.min_title = 0;
	out = fg_fit_title("  alpha beta gamma delta ", &lim);
	ck_assert_str_eq(out, "alpha beta" FG_FIT_ELLIPSIS);
	free(out);
	/* two-byte characters: never half of one */
	lim.max_title = 10;
	in = repeat("\xc3\xa9", 300);
	out = fg_fit_title(in, &lim);
	ck_assert(utf8_valid(out));
	ck_assert_uint_eq(fg_fit_length(out, strlen(out), false), 10);
	ck_assert_uint_eq(strlen(out), 9 * 2 + 3);
	free(out);
	free(in);
	/* four-byte characters: NodeBB counts each as two */
	lim.max_title = 5;
	in = repeat("\xf0\x9f\x98\x80", 10);
	out = fg_fit_title(in, &lim);
	ck_assert(utf8_valid(out));
	ck_assert_uint_eq(strlen(out), 4 * 4 + 3);
	lim.utf16 = true;
	free(out);
	out = fg_fit_title(in, &lim);
	ck_assert(utf8_valid(out));
	ck_assert_uint_eq(fg_fit_length(out, strlen(out), true), 5);
	ck_assert_uint_eq(strlen(out), 2 * 4 + 3);
	free(out);
	free(in);
	/* too short: the phrase appended; nothing: the phrase alone */
	lim = (struct fg_fit_limits){ .max_title = 255, .min_title = 15 };
	out = fg_fit_title("Hi", &lim);
	ck_assert_str_eq(out, "Hi" FG_FIT_TITLE_PAD);
	free(out);
	out = fg_fit_title(" ", &lim);
	ck_assert_str_eq(out, "(from the mailing list)");
	free(out);
	out = fg_fit_title("Exactly fifteen", &lim);
	ck_assert_str_eq(out, "Exactly fifteen");
	free(out);
	/* a minimum longer than the phrase: appended again */
	lim.min_title = 40;
	out = fg_fit_title("Hi", &lim);
	ck_assert_str_eq(out, "Hi" FG_FIT_TITLE_PAD FG_FIT_TITLE_PAD);
	free(out);
	/* no limits: as it came, trimmed */
	lim = (struct fg_fit_limits){ 0 };
	out = fg_fit_title(" a ", &lim);
	ck_assert_str_eq(out, "a");
	free(out);
}
END_TEST

START_TEST(test_fit_body)
{
	struct fg_fit_limits lim = { .max_post = 32000, .min_post = 20 };
	char *in, *out, note[200];
	size_t omitted, kept;

	/* exactly at the limit: unchanged */
	in = repeat("y", 32000);
	out = fg_fit_body(in, &lim, &omitted);
	ck_assert_str_eq(out, in);
	ck_assert_uint_eq(omitted, 0);
	free(out);
	free(in);
	/* 40,000 characters of words: cut after a word, with the note */
	in = repeat("word ", 8000);
	out = fg_fit_body(in, &lim, &omitted);
	ck_assert_uint_le(fg_fit_length(out, strlen(out), false), 32000);
	snprintf(note, sizeof(note), FG_FIT_BODY_NOTE, omitted);
	ck_assert(strlen(out) > strlen(note));
	kept = strlen(out) - strlen(note);
	ck_assert_str_eq(out + kept, note);
	ck_assert_uint_eq(kept + omitted, 40000);
	ck_assert(strncmp(out + kept - 4, "word", 4) == 0);
	ck_assert_uint_gt(kept, 31000);
	free(out);
	free(in);
	/* a paragraph far before the cut: cut after a word */
	lim.max_post = 200;
	in = fg_xasprintf("%s\n\n%s", "first paragraph of the text",
			  "second paragraph that is much longer than the "
			  "limit of two hundred characters, so it has to be "
			  "cut somewhere in the middle; then it goes on and "
			  "on and on and on and on and on and on and on and "
			  "on and on and on");
	out = fg_fit_body(in, &lim, &omitted);
	ck_assert_uint_le(fg_fit_length(out, strlen(out), false), 200);
	ck_assert(strstr(out, "[message truncated: ") != NULL);
	ck_assert(strstr(out, "on [message") == NULL);
	ck_assert(strstr(out, "\n\n[message truncated: ") != NULL);
	free(out);
	free(in);
	/* a paragraph end in the last tenth before the cut wins */
	lim.max_post = 200 + 10 + (unsigned int)snprintf(note, sizeof(note),
							  FG_FIT_BODY_NOTE,
							  (size_t)352);
	{
		char *a = repeat("a", 200), *b = repeat("b", 150);

		in = fg_xasprintf("%s\n\n%s", a, b);
		free(a);
		free(b);
	}
	for (size_t i = 202 + 4; i < 352; i += 5)
		in[i] = ' ';
	out = fg_fit_body(in, &lim, &omitted);
	ck_assert(strncmp(out, in, 200) == 0);
	ck_assert_uint_eq(omitted, 152);
	ck_assert_str_eq(out + 200, "\n\n[message truncated: 152 more "
			 "characters; the full text is in the list archive]");
	free(out);
	free(in);
	/* three-byte characters at the cut */
	lim.max_post = 120;
	in = repeat("\xe2\x82\xac", 500);
	out = fg_fit_body(in, &lim, &omitted);
	ck_assert(utf8_valid(out));
	ck_assert_uint_le(fg_fit_length(out, strlen(out), false), 120);
	ck_assert_uint_eq(fg_fit_length(out, strlen(out), false) -
			  (size_t)snprintf(note, sizeof(note),
					   FG_FIT_BODY_NOTE, omitted) +
			  omitted, 500);
	free(out);
	free(in);
	/* a limit too small for the note: cut only */
	lim.max_post = 10;
	lim.min_post = 0;
	out = fg_fit_body("0123456789abcdef", &lim, &omitted);
	ck_assert_str_eq(out, "0123456789");
	ck_assert_uint_eq(omitted, 6);
	free(out);
	/* too short, counted without white space; empty */
	lim = (struct fg_fit_limits){ .max_post = 32000, .min_post = 20 };
	out = fg_fit_body("  ok  ", &lim, NULL);
	ck_assert_str_eq(out, "  ok  " FG_FIT_BODY_PAD);
	free(out);
	out = fg_fit_body("", &lim, NULL);
	ck_assert_str_eq(out, "(a short message from the mailing list)");
	free(out);
	out = fg_fit_body("twenty characters!!!", &lim, NULL);
	ck_assert_str_eq(out, "twenty characters!!!");
	free(out);
}
END_TEST

START_TEST(test_fit_limits_and_refusals)
{
	struct fg_forum_settings set = {
		.type = "discourse", .url = "https://forum.example.org",
		.api_key = "k", .api_username = "system", .timeout_ms = 1000,
	};
	const char *long_title =
		"{\"action\":\"create_post\",\"errors\":[\"Title is too long "
		"(maximum is 255 characters)\"]}";
	const char *long_body =
		"{\"action\":\"create_post\",\"errors\":[\"Body is limited to "
		"32000 characters; you entered 40000.\"]}";
	const char *used =
		"{\"action\":\"create_post\",\"errors\":[\"Title has already "
		"been used\"]}";
	const char *nodebb =
		"{\"status\":{\"code\":\"bad-request\",\"message\":\"Please enter "
		"a shorter title. Titles can't be longer than 255 "
		"character(s).\"},\"response\":{}}";
	const struct fg_fit_limits *lim;
	struct fg_forum *forum = NULL;
	struct fg_forum_answer a;
	const char *error;

	/* 0: the forum type's defaults */
	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), 0);
	lim = fg_forum_limits(forum);
	ck_assert_uint_eq(lim->max_title, 255);
	ck_assert_uint_eq(lim->min_title, 15);
	ck_assert_uint_eq(lim->max_post, 32000);
	ck_assert_uint_eq(lim->min_post, 20);
	ck_assert(!lim->utf16);
	/* fitting twice changes nothing: the fingerprint the bridge keeps
	   and fg_forum_find() see the text the forum got */
	{
		char *in = repeat("word ", 8000), *once, *twice;

		once = fg_forum_fit_raw(forum, in);
		twice = fg_forum_fit_raw(forum, once);
		ck_assert_uint_le(fg_fit_length(once, strlen(once), false),
				  32000);
		ck_assert_str_eq(once, twice);
		free(twice);
		free(once);
		once = fg_fit_title(in, lim);
		twice = fg_fit_title(once, lim);
		ck_assert_str_eq(once, twice);
		free(twice);
		free(once);
		free(in);
		once = fg_forum_fit_raw(forum, "ok");
		twice = fg_forum_fit_raw(forum, once);
		ck_assert_str_eq(once, twice);
		free(twice);
		free(once);
	}
	fg_forum_deinit(&forum);
	set.type = "nodebb";
	set.api_username = "1";
	set.max_post_length = 1000;
	set.min_title_length = 300;	/* above the maximum: capped */
	ck_assert_int_eq(fg_forum_init(&set, &forum, &error), 0);
	lim = fg_forum_limits(forum);
	ck_assert_uint_eq(lim->max_title, 255);
	ck_assert_uint_eq(lim->min_title, 255);
	ck_assert_uint_eq(lim->max_post, 1000);
	ck_assert_uint_eq(lim->min_post, 8);
	ck_assert(lim->utf16);
	fg_forum_deinit(&forum);

	ck_assert_int_eq(fg_discourse_classify(422, long_title,
					       strlen(long_title), NULL, 0,
					       &a, &error),
			 FG_FORUM_PERMANENT);
	ck_assert(a.content_refused);
	ck_assert_int_eq(fg_discourse_classify(422, long_body,
					       strlen(long_body), NULL, 0,
					       &a, &error),
			 FG_FORUM_PERMANENT);
	ck_assert(a.content_refused);
	ck_assert_int_eq(fg_discourse_classify(422, used, strlen(used), NULL,
					       0, &a, &error),
			 FG_FORUM_PERMANENT);
	ck_assert(!a.content_refused);
	ck_assert_int_eq(fg_discourse_classify(429, long_title,
					       strlen(long_title), NULL, 0,
					       &a, &error),
			 FG_FORUM_TRANSIENT);
	ck_assert(!a.content_refused);
	ck_assert_int_eq(fg_nodebb_classify(400, nodebb, strlen(nodebb), NULL,
					    0, &a, &error),
			 FG_FORUM_PERMANENT);
	ck_assert(a.content_refused);
	ck_assert(fg_forum_content_refused("[[error:content-too-long, 32767]]"));
	ck_assert(!fg_forum_content_refused("Invalid post id"));
	ck_assert(!fg_forum_content_refused(NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("forum");
	TCase *tc = tcase_create("drivers");
	SRunner *sr;
	int failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_nodebb_classify);
	tcase_add_test(tc, test_nodebb_init);
	tcase_add_test(tc, test_external_id);
	tcase_add_test(tc, test_nodebb_against_contract);
	tcase_add_test(tc, test_generic_sign);
	tcase_add_test(tc, test_generic_classify);
	tcase_add_test(tc, test_generic_init);
	tcase_add_test(tc, test_generic_against_sim);
	tcase_add_test(tc, test_discourse_author_and_find);
	tcase_add_test(tc, test_discourse_private_message);
	tcase_add_test(tc, test_nodebb_chat_message);
	tcase_add_test(tc, test_fit_length);
	tcase_add_test(tc, test_fit_title);
	tcase_add_test(tc, test_fit_body);
	tcase_add_test(tc, test_fit_limits_and_refusals);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed == 0 ? 0 : 1;
}
