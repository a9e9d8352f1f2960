/*
 * NAME
 *	fuzz_transport - libFuzzer target of the routes and the From rewrite
 * DESCRIPTION
 *	The input, cut at its first NUL byte, is a value of smtp_relay
 *	and a message a route's from= rewrites. The routes either parse
 *	into at most FG_ROUTES_MAX routes whose pipe commands are
 *	absolute paths and whose choice for a recipient lists each
 *	matching route once, or fail with an error that names no
 *	password; the rewrite either fails with an error, or gives a
 *	message whose From names the route's address once and whose body
 *	(all after the first empty line) is the input's, byte for byte.
 *
 *	Built and run by tests/fuzz/run-fuzz.sh (clang -fsanitize=fuzzer).
 */
#include "fg-common.h"
#include "fg-mailparse.h"
#include "fg-transport.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(x) do { if (!(x)) abort(); } while (0)
#define FUZZ_FROM "list@lists.test"

/* fuzz_routes - parse, check, and choose for two recipients */
static void fuzz_routes(const char *value)
{
	struct fg_routes routes;
	size_t order[FG_ROUTES_MAX], n;
	const char *error;

	if (fg_routes_parse(value, &routes, &error) < 0) {
		FUZZ_ASSERT(error != NULL && routes.n_routes == 0);
		return;
	}
	FUZZ_ASSERT(routes.n_routes >= 1 && routes.n_routes <= FG_ROUTES_MAX);
	for (size_t i = 0; i < routes.n_routes; i++) {
		const struct fg_route *r = &routes.routes[i];

		if (r->kind == FG_ROUTE_PIPE)
			FUZZ_ASSERT(r->argc >= 1 && r->argv[0][0] == '/');
		else
			FUZZ_ASSERT(r->relay != NULL);
	}
	n = fg_routes_plan(&routes, 0, "ml", "a@pipe.test", order);
	FUZZ_ASSERT(n <= routes.n_routes);
	for (size_t i = 1; i < n; i++)
		FUZZ_ASSERT(order[i] > order[i - 1]);
	fg_route_failed(&routes.routes[0], 0, 1000);
	n = fg_routes_plan(&routes, 10, "other", "b@x.example.org", order);
	FUZZ_ASSERT(n <= routes.n_routes);
	fg_routes_free(&routes);
}

/* fuzz_from - the rewrite keeps the body and names the address */
static void fuzz_from(const char *data, size_t size)
{
	const char *error, *end;
	char *out;
	size_t out_size, body;

	if (fg_from_rewrite(data, size, FUZZ_FROM, &out, &out_size,
			    &error) < 0) {
		FUZZ_ASSERT(error != NULL);
		return;
	}
	FUZZ_ASSERT(strlen(out) <= out_size);
	/* the body: what follows the header's empty line in the input */
	end = NULL;
	for (size_t i = 0; i + 1 < size && end == NULL; i++) {
		if (i == 0 && (data[0] == '\n' ||
			       (data[0] == '\r' && data[1] == '\n')))
			end = data;
		else if (data[i] == '\n' && data[i + 1] == '\n')
			end = data + i + 1;
		else if (data[i] == '\n' && data[i + 1] == '\r' &&
			 i + 2 < size && data[i + 2] == '\n')
			end = data + i + 1;
	}
	if (end != NULL) {
		body = size - (size_t)(end - data);
		FUZZ_ASSERT(out_size >= body);
		FUZZ_ASSERT(memcmp(out + out_size - body, end, body) == 0);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t first = nul != NULL ? (size_t)(nul - data) : size;
	char *value = fg_xstrndup((const char *)data, first);
	static int started;

	if (!started) {
		fg_mail_init();
		started = 1;
	}
	fuzz_routes(value);
	free(value);
	if (nul != NULL)
		fuzz_from((const char *)nul + 1, size - first - 1);
	return 0;
}
