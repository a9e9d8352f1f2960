#ifndef BRIDGE_HTTP_H
#define BRIDGE_HTTP_H
/*
 * NAME
 *	bridge-http 3 - libmicrohttpd across its versions
 * SYNOPSIS
 *	#include "bridge-http.h"
 * DESCRIPTION
 *	What the HTTP listener (bridge-webhook.c) and the handlers it
 *	routes to (bridge-unsub.c) need from libmicrohttpd the same way
 *	on Debian 12's 0.9.75 and later releases: mhd_result, the type a
 *	handler returns, and MHD_HTTP_CONTENT_TOO_LARGE.
 */
#include <microhttpd.h>

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;		/* before 0.9.71 handlers returned int */
#endif
#ifndef MHD_HTTP_CONTENT_TOO_LARGE
#define MHD_HTTP_CONTENT_TOO_LARGE 413
#endif

#endif
